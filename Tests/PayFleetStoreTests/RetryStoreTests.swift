import Foundation
import PostgresNIO
import Synchronization
import Testing

@testable import PayFleetStore

/// The retry path's tables (DESIGN §6): parking, claiming with SKIP LOCKED, dead letters.
/// Each test runs in a schema of its own, so a retry-worker of another suite never sees its rows.
@Suite("Retries and dead letters", .enabled(if: TestDatabase.enabled, "PAYFLEET_TEST_POSTGRES_URL is not set"))
struct RetryStoreTests {
    static func failed(_ messageID: String, attempt: Int = 1, errors: [String] = ["channel API 503"]) -> FailedMessage {
        FailedMessage(
            exchange: "payfleet.jobs", routingKey: "payment.query", messageID: messageID, type: "payment.query",
            body: Array(#"{"payment_no":"P1"}"#.utf8),
            headers: ["x-payfleet-attempt": .int(Int64(attempt)), "x-payfleet-schema": .int(1), "flag": .bool(true)],
            attempt: attempt,
            errors: errors.enumerated().map { AttemptError(attempt: $0.offset + 1, error: $0.element) })
    }

    /// Runs `body` with a store on a fresh, migrated schema.
    func withStore(_ body: (PayFleetStore, PostgresClient) async throws -> Void) async throws {
        try await TestDatabase.withFreshSchema { schema in
            try await TestDatabase.withClient(searchPath: schema) { client in
                let store = PayFleetStore(client: client, logger: TestDatabase.logger)
                _ = try await store.migrate()
                try await body(store, client)
            }
        }
    }

    static func count(_ client: PostgresClient, _ query: PostgresQuery) async throws -> Int {
        let rows = try await client.query(query, logger: TestDatabase.logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    @Test("a due retry is claimed oldest first with everything it was parked with, and deleted once published")
    func claimDueRows() async throws {
        try await withStore { store, client in
            try await store.scheduleRetry(Self.failed("M1", errors: ["first", "second"]), attempt: 3, after: .zero)
            try await store.scheduleRetry(Self.failed("M2"), attempt: 2, after: .zero)
            try await store.scheduleRetry(Self.failed("LATER"), attempt: 2, after: .seconds(3600))

            let seen = Seen()
            let report = try await store.claimDueRetries(limit: 10) { rows in
                seen.add(rows)
                return Dictionary(uniqueKeysWithValues: rows.map { ($0.id, .published) })
            }
            #expect(report.claimed == 2 && report.published == 2 && report.failed == 0)
            let rows = seen.rows
            #expect(rows.map(\.messageID) == ["M1", "M2"])
            let first = try #require(rows.first)
            #expect(first.exchange == "payfleet.jobs" && first.routingKey == "payment.query")
            #expect(first.type == "payment.query")
            #expect(first.body == Array(#"{"payment_no":"P1"}"#.utf8))
            #expect(first.attempt == 3)
            #expect(first.errors.map(\.error) == ["first", "second"])
            #expect(first.headers["x-payfleet-schema"] == .int(1) && first.headers["flag"] == .bool(true))

            #expect(try await Self.count(client, "SELECT count(*) FROM retries") == 1)
            let next = try #require(try await store.nextRetryDue())
            #expect(next > .seconds(3500) && next <= .seconds(3600))
            // Nothing more is due.
            let again = try await store.claimDueRetries(limit: 10) { _ in [:] }
            #expect(again.claimed == 0)
        }
    }

    @Test("two claims at once never share a row: the second skips what the first holds")
    func skipLocked() async throws {
        try await withStore { store, client in
            for index in 0..<20 {
                try await store.scheduleRetry(Self.failed("S\(index)"), attempt: 2, after: .zero)
            }
            let (held, holding) = AsyncStream<[Int64]>.makeStream()
            let (release, releasing) = AsyncStream<Void>.makeStream()
            // The first claim takes 10 rows and keeps its transaction open until told.
            let first = Task {
                try await store.claimDueRetries(limit: 10) { rows in
                    holding.yield(rows.map(\.id))
                    for await _ in release { break }
                    return Dictionary(uniqueKeysWithValues: rows.map { ($0.id, .published) })
                }
            }
            var heldIterator = held.makeAsyncIterator()
            let firstIDs = try #require(await heldIterator.next())
            let secondSeen = Seen()
            let second = try await store.claimDueRetries(limit: 20) { rows in
                secondSeen.add(rows)
                return Dictionary(uniqueKeysWithValues: rows.map { ($0.id, .published) })
            }
            releasing.yield()
            let firstReport = try await first.value

            let secondIDs = secondSeen.rows.map(\.id)
            #expect(firstIDs.count == 10 && secondIDs.count == 10)
            #expect(Set(firstIDs).isDisjoint(with: secondIDs))
            #expect(firstReport.published == 10 && second.published == 10)
            #expect(try await Self.count(client, "SELECT count(*) FROM retries") == 0)
        }
    }

    @Test("a failed publish leaves the row due; an undeliverable one moves to dead_letters with the error")
    func failedAndUndeliverable() async throws {
        try await withStore { store, client in
            let stays = try await store.scheduleRetry(Self.failed("STAYS"), attempt: 2, after: .zero)
            let dead = try await store.scheduleRetry(Self.failed("DEAD"), attempt: 2, after: .zero)
            let report = try await store.claimDueRetries(limit: 10) { _ in
                [stays: .failed(error: "broker down"), dead: .undeliverable(error: "unroutable")]
            }
            #expect(report.failed == 1 && report.deadLettered == 1 && report.published == 0)
            #expect(
                try await Self.count(client, "SELECT count(*) FROM retries WHERE id = \(stays) AND run_at <= now()")
                    == 1)
            #expect(
                try await Self.count(client, "SELECT count(*) FROM retries WHERE last_error = 'broker down'") == 1)
            let letters = try await store.deadLetters()
            #expect(letters.map(\.messageID) == ["DEAD"])
            #expect(letters.first?.errors.map(\.error) == ["channel API 503", "unroutable"])
            #expect(letters.first?.type == "payment.query")
        }
    }

    @Test("dead letters: list, show, a replay that fails keeps the row, one that succeeds deletes it, discard")
    func deadLetters() async throws {
        try await withStore { store, client in
            let a = try await store.deadLetter(Self.failed("A", attempt: 3, errors: ["e1", "e2", "e3"]))
            let b = try await store.deadLetter(Self.failed("B"))
            #expect(try await store.deadLetters().map(\.id) == [a, b])
            let shown = try #require(try await store.deadLetter(id: a))
            #expect(shown.attempt == 3 && shown.errors.map(\.error) == ["e1", "e2", "e3"])
            #expect(shown.lastError == "e3")

            struct BrokerDown: Error {}
            await #expect(throws: BrokerDown.self) {
                _ = try await store.replayDeadLetter(id: a) { _ in throw BrokerDown() }
            }
            #expect(try await store.deadLetter(id: a) != nil)

            let published = Seen()
            #expect(try await store.replayDeadLetter(id: a) { published.add([$0]) })
            #expect(published.rows.map(\.messageID) == ["A"])
            #expect(try await store.deadLetter(id: a) == nil)
            #expect(try await store.replayDeadLetter(id: a) { _ in Issue.record("replayed twice") } == false)

            #expect(try await store.discardDeadLetters(ids: [b, 999_999]) == [b])
            #expect(try await Self.count(client, "SELECT count(*) FROM dead_letters") == 0)
        }
    }

    @Test("inserting retries NOTIFYs payfleet_retries")
    func notifyOnInsert() async throws {
        try await withStore { store, client in
            try await client.withConnection { connection in
                try await connection.listen(on: "payfleet_retries") { notifications in
                    try await store.scheduleRetry(Self.failed("N1"), attempt: 2, after: .seconds(60))
                    var iterator = notifications.makeAsyncIterator()
                    let notification = try await iterator.next()
                    #expect(notification != nil)
                }
            }
        }
    }
}

/// Rows a claim closure saw (the closures are @Sendable).
final class Seen: Sendable {
    private let state = Mutex<[ParkedMessage]>([])
    func add(_ rows: [ParkedMessage]) { state.withLock { $0 += rows } }
    var rows: [ParkedMessage] { state.withLock { $0 } }
}
