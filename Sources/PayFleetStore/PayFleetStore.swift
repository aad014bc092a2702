import Foundation
import Logging
import PayFleetMessages
import PostgresNIO

/// PayFleet's PostgreSQL store: the migrations and the units of work of the roles.
///
/// Each unit of work is one transaction that locks what it changes, checks the inbox and
/// the state machine, applies the change and writes its outbox rows, so a caller acks its
/// message only after the method returned. Every unit is idempotent: running it again
/// with the same input (a redelivery, a replay, a second worker) changes nothing more.
///
/// Locking order, shared by every unit: payments, then orders, then stock rows in sku order.
public struct PayFleetStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// - Parameter client: a running `PostgresClient` (its `run()` is the caller's, e.g. in a ServiceGroup).
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Applies the migrations this build ships; returns the versions applied by this call.
    /// Safe to run from several processes at once (see ``Migrator``).
    public func migrate() async throws -> [Int] {
        try await Migrator(client: client, logger: logger, migrations: Migration.bundled()).migrate()
    }

    /// Sets the on-hand stock of a sku, creating its row if needed (operators, demos, tests).
    /// Fails with ``StoreError/Code/stockBelowReserved`` when `onHand` is below what open
    /// orders have reserved.
    public func setStock(sku: String, onHand: Int64) async throws {
        guard onHand >= 0 else {
            throw StoreError(code: .invalidArgument, message: "on-hand stock must not be negative")
        }
        guard CreatePayment.isValidSKU(sku) else {
            throw StoreError(code: .invalidArgument, message: "a sku is 1 to 64 characters without control characters")
        }
        let logger = self.logger
        do {
            try await withConnection { connection in
                _ = try await connection.query(
                    """
                    INSERT INTO stock (sku, on_hand) VALUES (\(sku), \(onHand))
                    ON CONFLICT (sku) DO UPDATE SET on_hand = EXCLUDED.on_hand, updated_at = now()
                    """, logger: logger)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23514" {
            throw StoreError(
                code: .stockBelowReserved,
                message: "on-hand stock cannot go below the quantity reserved by open orders",
                detail: "sku \(sku), on_hand \(onHand)")
        }
    }

    /// Inserts an event into the outbox unless its message id is already there.
    /// Returns whether a row was written.
    @discardableResult
    static func writeOutbox(
        exchange: String = Exchange.events, routingKey: String, messageID: String, payload: some Encodable,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let json = try PayFleetJSON.jsonText(payload)
        let rows = try await connection.query(
            """
            INSERT INTO outbox (exchange, routing_key, message_id, payload)
            VALUES (\(exchange), \(routingKey), \(messageID), \(json)::jsonb)
            ON CONFLICT (message_id) DO NOTHING
            RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }
}

extension PayFleetJSON {
    /// The PayFleet JSON of a value as text, for a `::jsonb` parameter.
    static func jsonText(_ value: some Encodable) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }
}
