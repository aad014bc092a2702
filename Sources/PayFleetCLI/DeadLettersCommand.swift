import AMQP
import ArgumentParser
import Configuration
import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetStore

/// `payfleet dead-letters`: what the retry path gave up on (DESIGN §6), and the poison
/// messages of the payfleet.dead queue once drained into the same table.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Inspect, replay or discard messages whose last attempt failed.",
        discussion: """
            Messages land in the dead_letters table when their last retry failed (retry.*.max_attempts).
            Poison messages over a queue's delivery limit land in the payfleet.dead queue instead;
            `drain` moves them into the table so that list, show, replay and discard apply to them.
            """,
        subcommands: [List.self, Show.self, Replay.self, Discard.self, Drain.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List dead letters, oldest first, and the depth of the payfleet.dead queue.")

        @Option(help: "Show at most this many.") var limit: Int = 100

        func run() async throws {
            let limit = self.limit
            try await withCLIStore { store, _ in
                let letters = try await store.deadLetters(limit: limit)
                if letters.isEmpty {
                    print("no dead letters")
                } else {
                    let rows = letters.map { letter in
                        [
                            "\(letter.id)", letter.routingKey, letter.messageID, "\(letter.attempt)",
                            age(since: letter.createdAt), oneLine(letter.lastError ?? "-", limit: 80),
                        ]
                    }
                    print(table(header: ["ID", "ROUTING KEY", "MESSAGE ID", "ATTEMPTS", "AGE", "LAST ERROR"], rows: rows))
                }
            }
            let reader = try await ConfigReader.payfleet()
            let logger = commandLogger(reader)
            do {
                let depth = try await Dependencies.withBroker(
                    reader: reader, logger: logger, connectionName: "payfleet-dead-letters", timeout: .seconds(5)
                ) { connection, _ in
                    try await connection.queueInfo(QueueName.dead).messageCount
                }
                print("\(QueueName.dead) queue: \(depth) message(s)" + (depth > 0 ? " (`payfleet dead-letters drain` moves them here)" : ""))
            } catch {
                print("\(QueueName.dead) queue: unknown (\(error))")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one dead letter: its error history, headers and body.")

        @Argument(help: "The dead letter's id (from `list`).") var id: Int64

        func run() async throws {
            let id = self.id
            try await withCLIStore { store, _ in
                guard let letter = try await store.deadLetter(id: id) else {
                    throw ValidationError("no dead letter \(id)")
                }
                print("id:          \(letter.id)")
                print("exchange:    \(letter.exchange.isEmpty ? "(default)" : letter.exchange)")
                print("routing key: \(letter.routingKey)")
                print("message id:  \(letter.messageID)")
                print("type:        \(letter.type ?? "-")")
                print("attempts:    \(letter.attempt)")
                print("parked:      \(ISO8601.format(letter.createdAt)) (\(age(since: letter.createdAt)) ago)")
                print("errors:")
                if letter.errors.isEmpty { print("  (none recorded)") }
                for error in letter.errors {
                    print("  attempt \(error.attempt) at \(ISO8601.format(error.at)): \(error.error)")
                }
                print("headers:")
                for (name, value) in letter.headers.sorted(by: { $0.key < $1.key }) {
                    print("  \(name): \(value.text)")
                }
                print("body (\(letter.body.count) bytes):")
                print(String(decoding: letter.body, as: UTF8.self))
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish dead letters again (attempt 1) to their exchange and routing key, then delete them.",
            discussion: """
                Each is published with a publisher confirm and its row deleted in the same transaction,
                committed after the confirm: a replay either happened and the row is gone, or the row stays.
                """)

        @Argument(help: "Dead letter ids (from `list`).") var ids: [Int64]

        func validate() throws {
            if ids.isEmpty { throw ValidationError("name at least one dead letter id") }
        }

        func run() async throws {
            let ids = self.ids
            let missing = try await withCLIStore { store, reader in
                let logger = commandLogger(reader)
                return try await Dependencies.withBroker(
                    reader: reader, logger: logger, connectionName: "payfleet-dead-letters"
                ) { connection, settings in
                    var missing: [Int64] = []
                    for id in ids {
                        let replayed = try await store.replayDeadLetter(id: id) { letter in
                            try await connection.publish(
                                .republishing(letter, attempt: 1), exchange: letter.exchange,
                                routingKey: letter.routingKey, timeout: settings.publishTimeout)
                        }
                        if replayed {
                            print("replayed dead letter \(id) (confirmed by the broker)")
                        } else {
                            missing.append(id)
                        }
                    }
                    return missing
                }
            }
            if !missing.isEmpty {
                throw ValidationError("no dead letter \(missing.map(String.init).joined(separator: ", "))")
            }
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")

        @Argument(help: "Dead letter ids (from `list`).") var ids: [Int64]

        func validate() throws {
            if ids.isEmpty { throw ValidationError("name at least one dead letter id") }
        }

        func run() async throws {
            let ids = self.ids
            let deleted = try await withCLIStore { store, _ in try await store.discardDeadLetters(ids: ids) }
            if !deleted.isEmpty { print("discarded \(deleted.map(String.init).joined(separator: ", "))") }
            let missing = Set(ids).subtracting(deleted).sorted()
            if !missing.isEmpty {
                throw ValidationError("no dead letter \(missing.map(String.init).joined(separator: ", "))")
            }
        }
    }

    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move the poison messages of the payfleet.dead queue into the dead_letters table.")

        @Option(name: .customLong("idle-ms"), help: "Stop after this long without a message.") var idleMS: Int = 2000

        func run() async throws {
            let idle = Duration.milliseconds(max(100, idleMS))
            let moved = try await withCLIStore { store, reader in
                let logger = commandLogger(reader)
                return try await Dependencies.withBroker(
                    reader: reader, logger: logger, connectionName: "payfleet-dead-letters"
                ) { connection, _ in
                    try await DeadQueueDrain.run(connection: connection, store: store, idleTimeout: idle, logger: logger)
                }
            }
            print("moved \(moved) message(s) from \(QueueName.dead) into dead_letters")
        }
    }
}

/// Runs `body` with the store of the configured database.
private func withCLIStore<T: Sendable>(
    _ body: @Sendable (PayFleetStore, ConfigReader) async throws -> T
) async throws -> T {
    let reader = try await ConfigReader.payfleet()
    let logger = commandLogger(reader)
    return try await Dependencies.withStore(reader: reader, logger: logger) { store, _ in
        try await body(store, reader)
    }
}

/// "42 s", "7 min", "3 h", "2 d".
private func age(since date: Date) -> String {
    let seconds = max(0, Int(Date().timeIntervalSince(date)))
    switch seconds {
    case ..<120: return "\(seconds) s"
    case ..<7200: return "\(seconds / 60) min"
    case ..<172_800: return "\(seconds / 3600) h"
    default: return "\(seconds / 86400) d"
    }
}

private func oneLine(_ text: String, limit: Int) -> String {
    let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
    return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
}

private func table(header: [String], rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

extension StoredHeaderValue {
    fileprivate var text: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .bool(let value): String(value)
        }
    }
}
