import Foundation
import PayFleetStore
import PostgresNIO
import Testing

@Suite("transient error classification")
struct TransientErrorTests {
    @Test("a refused connection is transient")
    func connectionRefused() async throws {
        // Port 1 on loopback: nothing listens there, the kernel refuses at once.
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: 1, username: "payfleet", password: "payfleet", database: "payfleet_test",
            tls: .disable)
        do {
            let connection = try await PostgresConnection.connect(
                configuration: configuration, id: 1, logger: TestDatabase.logger)
            try await connection.close()
            Issue.record("connected to a closed port")
        } catch {
            #expect(PayFleetStore.isTransient(error), "\(String(reflecting: error))")
        }
    }

    @Test("store errors and decoding errors are permanent, except a lost connection")
    func permanent() {
        #expect(!PayFleetStore.isTransient(StoreError(code: .invalidArgument, message: "bad")))
        #expect(!PayFleetStore.isTransient(StoreError(code: .migrationChecksumMismatch, message: "changed")))
        #expect(PayFleetStore.isTransient(StoreError(code: .connectionLost, message: "lost")))
        #expect(!PayFleetStore.isTransient(DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "x"))))
        #expect(PayFleetStore.isTransient(CancellationError()))
    }

    @Test(
        "server errors: retry serialization failures, deadlocks and shutdowns; not constraint violations",
        .enabled(if: TestDatabase.enabled, "PAYFLEET_TEST_POSTGRES_URL is not set"),
        arguments: [
            ("40001", true), ("40P01", true), ("57P01", true), ("57P03", true), ("53300", true), ("08006", true),
            ("23505", false), ("23514", false), ("22P02", false), ("42P01", false), ("42501", false),
        ])
    func serverErrors(sqlState: String, transient: Bool) async throws {
        let client = try await TestDatabase.client()
        let raise = PostgresQuery(
            unsafeSQL: "DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '\(sqlState)'; END $$")
        do {
            try await client.query(raise, logger: TestDatabase.logger)
            Issue.record("no error raised")
        } catch {
            #expect(PayFleetStore.isTransient(error) == transient)
        }
        // The same error inside a transaction arrives wrapped in PostgresTransactionError.
        do {
            try await client.withTransaction(logger: TestDatabase.logger) { connection in
                _ = try await connection.query(raise, logger: TestDatabase.logger)
            }
            Issue.record("no error raised")
        } catch {
            #expect(error is PostgresTransactionError)
            #expect(PayFleetStore.isTransient(error) == transient)
        }
    }

    @Test(
        "a connection killed in the middle of a transaction fails, transiently",
        .enabled(if: TestDatabase.enabled, "PAYFLEET_TEST_POSTGRES_URL is not set"), .timeLimit(.minutes(1)))
    func killedConnection() async throws {
        let client = try await TestDatabase.client()
        let store = try await TestDatabase.store()
        do {
            // PayFleetStore.withTransaction, not the client's: postgres-nio 1.33 never answers a
            // query written to a connection that has closed, and the store's watchdog turns that
            // hang into a transient error.
            try await store.withTransaction { connection in
                var pid: Int32 = 0
                let rows = try await connection.query("SELECT pg_backend_pid()", logger: TestDatabase.logger)
                for try await backend in rows.decode(Int32.self) { pid = backend }
                // What a PostgreSQL restart or failover does to a session: a FATAL 57P01, then EOF.
                try await client.query("SELECT pg_terminate_backend(\(pid))", logger: TestDatabase.logger)
                // The worst case: the next statement is written after the connection is gone.
                for _ in 0..<500 where !connection.isClosed { try await Task.sleep(for: .milliseconds(10)) }
                _ = try await connection.query("SELECT 1", logger: TestDatabase.logger)
            }
            Issue.record("the transaction survived its connection")
        } catch {
            #expect(PayFleetStore.isTransient(error), "\(String(reflecting: error))")
        }
        // The pool replaced the connection: the next unit of work goes through.
        _ = try await Fixture.pendingPayment()
    }

    @Test(
        "a real unique violation is permanent",
        .enabled(if: TestDatabase.enabled, "PAYFLEET_TEST_POSTGRES_URL is not set"))
    func uniqueViolation() async throws {
        let client = try await TestDatabase.client()
        let key = "test:" + TestDatabase.unique()
        try await client.query(
            "INSERT INTO inbox (dedup_key, kind) VALUES (\(key), 'test')", logger: TestDatabase.logger)
        do {
            try await client.query(
                "INSERT INTO inbox (dedup_key, kind) VALUES (\(key), 'test')", logger: TestDatabase.logger)
            Issue.record("no unique violation")
        } catch {
            #expect(!PayFleetStore.isTransient(error))
        }
    }

    @Test("database URLs")
    func urls() throws {
        let configuration = try PayFleetStore.clientConfiguration(
            url: "postgres://pay%40fleet:p%3Ass@db.example:6543/payfleet_test?sslmode=disable")
        #expect(configuration.host == "db.example" && configuration.port == 6543)
        #expect(configuration.username == "pay@fleet" && configuration.password == "p:ss")
        #expect(configuration.database == "payfleet_test")
        let error = #expect(throws: StoreError.self) {
            try PayFleetStore.clientConfiguration(url: "mysql://u:topsecret@h/db")
        }
        #expect(error?.code == .invalidDatabaseURL)
        #expect(error.map { !String(reflecting: $0).contains("topsecret") } == true)
    }
}
