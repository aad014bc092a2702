import PostgresNIO

extension PayFleetStore {
    /// Whether an error from the store is worth retrying later (DESIGN §6): the database was
    /// unreachable, dropped the connection, timed out, or aborted the transaction for a
    /// reason of its own (serialization failure 40001, deadlock 40P01, shutdown 57P01/57P02,
    /// starting up 57P03, too many connections 53300 and the rest of class 53, class 08
    /// connection exceptions, lock or statement timeouts, read-only after a failover).
    ///
    /// Constraint violations, bad data, authentication and configuration errors, and
    /// ``StoreError``s other than ``StoreError/Code/connectionLost`` are permanent: retrying
    /// changes nothing.
    ///
    /// Every unit of work is idempotent, so retrying is safe even when a commit's outcome is
    /// unknown (the connection died during COMMIT).
    public static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case let error as PostgresTransactionError:
            return [error.beginError, error.closureError, error.commitError].contains { inner in
                inner.map { isTransient($0) } ?? false
            }
        case let error as PSQLError:
            switch error.code {
            case .server:
                return error.serverInfo?[.sqlState].map(isTransientSQLState) ?? false
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
                .queryCancelled:
                return true
            default:
                return false
            }
        case is IOError, is NIOConnectionError, is ChannelError, is CancellationError:
            return true
        case let error as StoreError:
            return error.code == .connectionLost
        case is DecodingError, is EncodingError:
            return false
        default:
            // The pool's own error (e.g. its connection-creation circuit breaker tripped while
            // the database was down) lives in _ConnectionPoolModule, which PostgresNIO does
            // not re-export: recognise it by name.
            return String(reflecting: type(of: error)).hasSuffix(".ConnectionPoolError")
        }
    }

    /// SQLSTATEs after which the same transaction may well succeed later.
    static func isTransientSQLState(_ state: String) -> Bool {
        if state.hasPrefix("08") || state.hasPrefix("53") { return true }  // connection, insufficient resources
        return [
            "40001",  // serialization_failure
            "40P01",  // deadlock_detected
            "40003",  // statement_completion_unknown
            "55P03",  // lock_not_available (lock_timeout)
            "57014",  // query_canceled (statement_timeout)
            "57P01",  // admin_shutdown
            "57P02",  // crash_shutdown
            "57P03",  // cannot_connect_now
            "57P05",  // idle_session_timeout
            "25P03",  // idle_in_transaction_session_timeout
            "25006",  // read_only_sql_transaction (a standby, during failover)
        ].contains(state)
    }

    /// The SQLSTATE of a server error, looking inside a transaction error.
    static func sqlState(of error: any Error) -> String? {
        switch error {
        case let error as PostgresTransactionError:
            return [error.closureError, error.commitError, error.beginError].lazy.compactMap { $0 }
                .compactMap { sqlState(of: $0) }.first
        case let error as PSQLError:
            return error.serverInfo?[.sqlState]
        default:
            return nil
        }
    }
}
