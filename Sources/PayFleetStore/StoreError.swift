/// An error of the PostgreSQL store that is not a plain database error.
///
/// `description` is safe to log and show: it names files, versions and codes, never a
/// password, a payload or a customer's data. `debugDescription` adds the detail.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A stable identifier of the kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case migrationsMissing = "migrations_missing"
            case migrationFileInvalid = "migration_file_invalid"
            case migrationChecksumMismatch = "migration_checksum_mismatch"
            case unknownAppliedMigration = "unknown_applied_migration"
            case migrationFailed = "migration_failed"
            case invalidDatabaseURL = "invalid_database_url"
            case stockBelowReserved = "stock_below_reserved"
            case invalidArgument = "invalid_argument"
            case inconsistentData = "inconsistent_data"
            case connectionLost = "connection_lost"
            case refundNotYetRecorded = "refund_not_yet_recorded"
        }

        fileprivate let base: Base

        /// The migration files are not in the module's resource bundle.
        public static let migrationsMissing = Code(base: .migrationsMissing)
        /// A file in Migrations/ is not named `NNNN_name.sql`, or two files share a version.
        public static let migrationFileInvalid = Code(base: .migrationFileInvalid)
        /// An applied migration's file changed since it was applied.
        public static let migrationChecksumMismatch = Code(base: .migrationChecksumMismatch)
        /// The database has a migration this build does not know: it is newer than this build.
        public static let unknownAppliedMigration = Code(base: .unknownAppliedMigration)
        /// A migration's SQL failed; it was rolled back.
        public static let migrationFailed = Code(base: .migrationFailed)
        /// A PostgreSQL URL could not be parsed.
        public static let invalidDatabaseURL = Code(base: .invalidDatabaseURL)
        /// `setStock` would put on-hand stock below what is reserved.
        public static let stockBelowReserved = Code(base: .stockBelowReserved)
        /// An argument is outside what the store accepts.
        public static let invalidArgument = Code(base: .invalidArgument)
        /// Rows contradict an invariant the store maintains (a bug or a manual edit).
        public static let inconsistentData = Code(base: .inconsistentData)
        /// The PostgreSQL connection closed in the middle of a unit of work, which was not
        /// committed. Transient: retry.
        public static let connectionLost = Code(base: .connectionLost)
        /// A refund notification matched none of its payment's refunds while one of them is still `requested`
        /// (its channel call's answer not yet recorded): it may be that refund. Nothing was written; try again
        /// after a pause (refund-worker parks it in the retry path).
        public static let refundNotYetRecorded = Code(base: .refundNotYetRecorded)

        /// The stable snake_case name of the code, e.g. `migration_checksum_mismatch`.
        public var description: String { base.rawValue }
    }

    public let code: Code
    /// What went wrong and what to do, without secrets or customer data.
    public let message: String
    /// Detail for debugging (SQL error text, expected and found values).
    public let detail: String?

    public init(code: Code, message: String, detail: String? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
    }

    public var description: String { "StoreError(\(code)): \(message)" }

    public var debugDescription: String {
        guard let detail else { return description }
        return "\(description) [\(detail)]"
    }
}
