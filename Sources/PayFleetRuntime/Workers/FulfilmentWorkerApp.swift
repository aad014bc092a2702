import AMQP
import Configuration
import Logging
import Metrics
import PayFleetMessages
import PayFleetStore
import ServiceLifecycle

/// fulfilment-worker: consumes payment notifications from the `fulfilment` queue and
/// applies each in ONE transaction (inbox dedup, payment row lock, amount and currency check,
/// payment and order paid, order.paid outbox row), then acks. Concurrent deliveries share transactions
/// (``GroupCommit``): each is still acked only after the transaction that applied it committed.
public enum FulfilmentWorkerApp {
    public static func build(reader: ConfigReader) async throws -> ServiceGroup {
        let settings = FulfilmentSettings(reader: reader)
        return try await WorkerProcess.build(
            role: "fulfilment-worker", queue: QueueName.fulfilment, defaultOpsPort: 9102, defaultConcurrency: 128,
            reader: reader,
            handler: { store in
                let batches = Recorder(label: "payfleet_group_commit_notifications")
                let durations = Timer(label: "payfleet_group_commit_seconds")
                return handler(
                    groupCommit: GroupCommit(
                        store: store, maxBatch: settings.batchSize, transactions: settings.batchTransactions,
                        recordBatch: { notifications, duration in
                            batches.record(notifications)
                            durations.recordNanoseconds(duration.nanoseconds)
                        }))
            })
    }

    /// One delivery → its unit of work (in a shared transaction) → a disposition.
    public static func handler(groupCommit: GroupCommit) -> QueueConsumerService.Handler {
        { delivery, log in
            if let problem = delivery.schemaProblem { return .reject(reason: problem) }
            let notification: PaymentNotification
            do {
                notification = try PaymentNotification(json: delivery.body)
            } catch {
                return .reject(reason: "not a PaymentNotification: \(error)")
            }
            var log = log
            log[metadataKey: "payment_no"] = "\(notification.paymentNo)"
            do {
                // One line per delivery: a settlement or a close is logged by PayFleetStore as it commits (`payment
                // settled` with the order, `payment closed`), everything else here.
                switch try await groupCommit.apply(notification) {
                case .settled, .closed:
                    break
                case .duplicate:
                    log.info("duplicate notification; nothing changed", metadata: ["redelivered": "\(delivery.redelivered)"])
                case .alreadyInState:
                    log.info("payment already in the notified state; nothing changed")
                case .anomaly(let anomaly):
                    log.warning(
                        "notification not settled: anomaly recorded",
                        metadata: ["anomaly": "\(anomaly.kind.rawValue)", "detail": "\(anomaly.detail)"])
                }
                return .ack
            } catch where PayFleetStore.isTransient(error) {
                log.warning("database unavailable; the message goes back to the queue", metadata: ["error": "\(error)"])
                return .requeueAfterPause
            } catch {
                return .reject(reason: "unit of work failed: \(String(reflecting: error))")
            }
        }
    }
}

extension AMQPDelivery {
    /// Why this delivery's schema header makes it unreadable, or nil when it is fine.
    var schemaProblem: String? {
        guard let value = headers[MessageHeader.schema] else { return nil }
        if case .int(let version) = value, version > PayFleetSchema.version {
            return "schema version \(version) is newer than this worker's \(PayFleetSchema.version)"
        }
        return nil
    }
}

/// fulfilment-worker's group commit. Keys: `fulfilment.batch_size` (notifications per transaction at most; default
/// 64; 1 commits each notification alone) and `fulfilment.batch_transactions` (batches in flight at once; default 2).
/// A batch fills only while the others are busy, so the prefetch (`worker.concurrency`, 128 by default for this role)
/// must be well above `batch_transactions` for batches to grow.
public struct FulfilmentSettings: Sendable {
    public var batchSize: Int
    public var batchTransactions: Int

    public init(reader: ConfigReader) {
        batchSize = max(1, reader.int(forKey: "fulfilment.batch_size", default: 64))
        batchTransactions = max(1, reader.int(forKey: "fulfilment.batch_transactions", default: 2))
    }
}
