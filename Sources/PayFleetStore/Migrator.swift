import Logging
import PostgresNIO

/// Applies numbered SQL migrations in order, each in its own transaction, and records them
/// in `schema_migrations` with a SHA-256 checksum of the file.
///
/// The whole run holds a session advisory lock (``lockKey``), so any number of
/// `payfleet migrate` may start at once: the first applies what is pending, the others wait
/// and then find nothing to do. A file that changed after it was applied, or an applied
/// version this build does not know, stops the run before anything is applied.
///
/// Tables are created in the connection's `search_path` (normally `public`).
public struct Migrator: Sendable {
    /// The advisory lock key of a migration run: the bytes of "PAYFLEET" as a big-endian Int64.
    public static let lockKey: Int64 = 0x5041_5946_4C45_4554

    let client: PostgresClient
    let logger: Logger
    let migrations: [Migration]

    /// - Parameter migrations: what to apply; ``Migration/bundled()`` in production.
    public init(client: PostgresClient, logger: Logger, migrations: [Migration]) {
        self.client = client
        self.logger = logger
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Applies every pending migration and returns the versions applied by this call
    /// (empty when the schema was already up to date).
    public func migrate() async throws -> [Int] {
        let logger = self.logger
        return try await client.withConnection { connection in
            try await ConnectionWatchdog.run(on: connection, logger: logger) { connection in
                try await self.migrateLocked(on: connection)
            }
        }
    }

    private func migrateLocked(on connection: PostgresConnection) async throws -> [Int] {
        // Session-level: held across the migrations' own transactions, released with the session.
        try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
        do {
            let applied = try await migrate(on: connection)
            try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            return applied
        } catch {
            // A failed unlock means the connection is gone, and the lock with its session.
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            throw error
        }
    }

    private func migrate(on connection: PostgresConnection) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)

        var applied: [Int: (name: String, checksum: String)] = [:]
        let rows = try await connection.query(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version", logger: logger)
        for try await (version, name, checksum) in rows.decode((Int32, String, String).self) {
            applied[Int(version)] = (name, checksum)
        }

        for (version, record) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = migrations.first(where: { $0.version == version }) else {
                throw StoreError(
                    code: .unknownAppliedMigration,
                    message: """
                        the database has migration \(version) (\(record.name)), which this build does not have; \
                        run a build at least as new as the one that migrated this database
                        """)
            }
            let checksum = try await Self.checksum(of: migration.sql, on: connection, logger: logger)
            guard checksum == record.checksum else {
                throw StoreError(
                    code: .migrationChecksumMismatch,
                    message: """
                        migration file \(migration.fileName) changed after it was applied to this database; \
                        restore the file and put the change in a new numbered migration
                        """,
                    detail: "applied checksum \(record.checksum), file checksum \(checksum)")
            }
        }

        let newest = applied.keys.max() ?? 0
        var appliedNow: [Int] = []
        for migration in migrations where applied[migration.version] == nil {
            if migration.version < newest {
                logger.warning(
                    "applying a migration older than the newest applied one",
                    metadata: ["migration": "\(migration.fileName)", "newest_applied": "\(newest)"])
            }
            try await apply(migration, on: connection)
            appliedNow.append(migration.version)
        }
        return appliedNow
    }

    private func apply(_ migration: Migration, on connection: PostgresConnection) async throws {
        let statements = SQLScript.statements(in: migration.sql)
        do {
            try await connection.withTransaction(logger: logger) { transaction in
                for statement in statements {
                    try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await transaction.query(
                    """
                    INSERT INTO schema_migrations (version, name, checksum)
                    VALUES (\(Int32(migration.version)), \(migration.name),
                            encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex'))
                    """, logger: logger)
            }
        } catch {
            if PayFleetStore.isTransient(error) { throw error }
            let sqlState = PayFleetStore.sqlState(of: error).map { " (SQLSTATE \($0))" } ?? ""
            throw StoreError(
                code: .migrationFailed,
                message: """
                    migration \(migration.fileName) failed\(sqlState) and was rolled back; \
                    fix it and run migrate again
                    """,
                detail: String(reflecting: error))
        }
        logger.info("applied migration", metadata: ["migration": "\(migration.fileName)"])
    }

    static func checksum(of sql: String, on connection: PostgresConnection, logger: Logger) async throws -> String {
        let rows = try await connection.query(
            "SELECT encode(sha256(convert_to(\(sql), 'UTF8')), 'hex')", logger: logger)
        for try await checksum in rows.decode(String.self) {
            return checksum
        }
        throw StoreError(code: .inconsistentData, message: "PostgreSQL returned no checksum")
    }
}
