import AMQP
import Configuration
import Logging
import PayFleetMessages
import PayFleetStore
import ServiceLifecycle

/// fulfilment-worker: consumes payment notifications from the `fulfilment` queue and
/// applies each in ONE transaction (inbox dedup, payment row lock, amount and currency check,
/// payment and order paid, order.paid outbox row), then acks.
public enum FulfilmentWorkerApp {
    public static func build(reader: ConfigReader) async throws -> ServiceGroup {
        try await WorkerProcess.build(
            role: "fulfilment-worker", queue: QueueName.fulfilment, defaultOpsPort: 9102, reader: reader,
            handler: handler(store:))
    }

    /// One delivery → one unit of work → a disposition.
    public static func handler(store: PayFleetStore) -> QueueConsumerService.Handler {
        { delivery, log in
            if let problem = delivery.schemaProblem { return .reject(reason: problem) }
            let notification: PaymentNotification
            do {
                notification = try PayFleetJSON.decode(PaymentNotification.self, from: delivery.body)
            } catch {
                return .reject(reason: "not a PaymentNotification: \(error)")
            }
            var log = log
            log[metadataKey: "payment_no"] = "\(notification.paymentNo)"
            do {
                switch try await store.apply(notification) {
                case .settled(let event):
                    log.info("payment settled; order paid", metadata: ["order_no": "\(event.orderNo)"])
                case .closed:
                    log.info("payment closed")
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
