import Foundation
import PostgresNIO
@testable import PayFleetStore
import Testing

@Suite("Migrator", .enabled(if: TestDatabase.enabled, "PAYFLEET_TEST_POSTGRES_URL is not set"))
struct MigratorTests {
    @Test("a second migrate applies nothing")
    func migrateTwice() async throws {
        let all = try Migration.bundled().map(\.version)
        try await TestDatabase.withFreshSchema { schema in
            try await TestDatabase.withClient(searchPath: schema) { client in
                let store = PayFleetStore(client: client, logger: TestDatabase.logger)
                #expect(try await store.migrate() == all)
                #expect(try await store.migrate() == [])
                let rows = try await client.query(
                    "SELECT version, length(checksum) FROM schema_migrations ORDER BY version",
                    logger: TestDatabase.logger)
                var recorded: [Int] = []
                for try await (version, checksumLength) in rows.decode((Int, Int).self) {
                    recorded.append(version)
                    #expect(checksumLength == 64)
                }
                #expect(recorded == all)
                // The tables landed in the fresh schema.
                let tables = try await client.query(
                    """
                    SELECT count(*) FROM information_schema.tables
                    WHERE table_schema = \(schema) AND table_name IN
                      ('orders', 'order_items', 'stock', 'payments', 'inbox', 'outbox', 'anomalies', 'retries',
                       'dead_letters')
                    """, logger: TestDatabase.logger)
                for try await count in tables.decode(Int.self) { #expect(count == 9) }
            }
        }
    }

    @Test("two migrate runs at once both succeed and apply each migration once")
    func concurrentMigrate() async throws {
        let all = try Migration.bundled().map(\.version)
        try await TestDatabase.withFreshSchema { schema in
            // Two clients: two processes running `payfleet migrate` at the same moment.
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await TestDatabase.withClient(searchPath: schema) { client in
                            try await PayFleetStore(client: client, logger: TestDatabase.logger).migrate()
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.sorted { $0.count < $1.count } == [[], all])
            let applied = try await TestDatabase.count(
                PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).schema_migrations"))
            #expect(applied == all.count)
        }
    }

    @Test("a changed migration file is an error naming the file")
    func checksumMismatch() async throws {
        let bundled = try Migration.bundled()
        try await TestDatabase.withFreshSchema { schema in
            try await TestDatabase.withClient(searchPath: schema) { client in
                _ = try await Migrator(client: client, logger: TestDatabase.logger, migrations: bundled).migrate()
                var changed = bundled
                changed[0] = Migration(
                    version: bundled[0].version, name: bundled[0].name, sql: bundled[0].sql + "\n-- edited\n",
                    fileName: bundled[0].fileName)
                changed.append(Migration(version: 9999, name: "later", sql: "CREATE TABLE later (id int)"))
                let error = await #expect(throws: StoreError.self) {
                    try await Migrator(client: client, logger: TestDatabase.logger, migrations: changed).migrate()
                }
                #expect(error?.code == .migrationChecksumMismatch)
                #expect(error?.description.contains("0001_initial.sql") == true)
                // Nothing after the check ran.
                let later = try await TestDatabase.count(
                    """
                    SELECT count(*) FROM information_schema.tables
                    WHERE table_schema = \(schema) AND table_name = 'later'
                    """)
                #expect(later == 0)
            }
        }
    }

    @Test("a database migrated by a newer build is refused")
    func unknownAppliedMigration() async throws {
        try await TestDatabase.withFreshSchema { schema in
            try await TestDatabase.withClient(searchPath: schema) { client in
                let first = Migration(version: 1, name: "one", sql: "CREATE TABLE one (id int)")
                _ = try await Migrator(client: client, logger: TestDatabase.logger, migrations: [first]).migrate()
                let error = await #expect(throws: StoreError.self) {
                    try await Migrator(client: client, logger: TestDatabase.logger, migrations: []).migrate()
                }
                #expect(error?.code == .unknownAppliedMigration)
            }
        }
    }

    @Test("a failing migration is rolled back and not recorded; the ones before it stay")
    func failingMigration() async throws {
        try await TestDatabase.withFreshSchema { schema in
            try await TestDatabase.withClient(searchPath: schema) { client in
                let migrations = [
                    Migration(version: 1, name: "good", sql: "CREATE TABLE good (id int);"),
                    Migration(
                        version: 2, name: "bad",
                        sql: "CREATE TABLE half (id int);\nINSERT INTO half VALUES ('not a number');"),
                ]
                let error = await #expect(throws: StoreError.self) {
                    try await Migrator(client: client, logger: TestDatabase.logger, migrations: migrations).migrate()
                }
                #expect(error?.code == .migrationFailed)
                #expect(error?.description.contains("0002_bad.sql") == true)
                let recorded = try await TestDatabase.count(
                    PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).schema_migrations"))
                #expect(recorded == 1)
                let tables = try await TestDatabase.count(
                    """
                    SELECT count(*) FROM information_schema.tables
                    WHERE table_schema = \(schema) AND table_name IN ('good', 'half')
                    """)
                #expect(tables == 1)
                // The lock was released: the next run goes through.
                #expect(
                    try await Migrator(client: client, logger: TestDatabase.logger, migrations: [migrations[0]])
                        .migrate() == [])
            }
        }
    }
}

@Suite("SQL script splitting and migration names")
struct SQLScriptTests {
    @Test("the bundled migrations load in version order")
    func bundled() throws {
        let migrations = try Migration.bundled()
        #expect(migrations.first?.fileName == "0001_initial.sql")
        #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
        #expect(Set(migrations.map(\.version)).count == migrations.count)
    }

    @Test("statements split at top-level semicolons only")
    func splitting() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'semi;colon', "we;ird" int);
            /* block; /* nested; */ still comment; */
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$
            BEGIN RETURN 1; END;
            $body$;
            SELECT $$a;b$$, E'it\\'s;', 'it''s;', $1;
            ;  -- empty
            SELECT 2
            """
        let statements = SQLScript.statements(in: sql)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix(#"CREATE TABLE a (x text DEFAULT 'semi;colon', "we;ird" int)"#))
        #expect(statements[1].hasPrefix("/* block"))
        #expect(statements[1].hasSuffix("$body$"))
        #expect(statements[2] == #"SELECT $$a;b$$, E'it\'s;', 'it''s;', $1"#)
        #expect(statements[3].hasSuffix("SELECT 2"))
    }

    @Test("migration file names are NNNN_name.sql")
    func fileNames() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mig-" + TestDatabase.unique())
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "SELECT 2".write(to: directory.appendingPathComponent("0002_second.sql"), atomically: true, encoding: .utf8)
        try "SELECT 1".write(to: directory.appendingPathComponent("0001_first.sql"), atomically: true, encoding: .utf8)
        try "notes".write(to: directory.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        let loaded = try Migration.load(from: directory)
        #expect(loaded.map(\.version) == [1, 2])
        #expect(loaded.map(\.name) == ["first", "second"])

        try "SELECT 3".write(to: directory.appendingPathComponent("3-bad.sql"), atomically: true, encoding: .utf8)
        let error = #expect(throws: StoreError.self) { try Migration.load(from: directory) }
        #expect(error?.code == .migrationFileInvalid)
        #expect(error?.description.contains("3-bad.sql") == true)
    }
}
