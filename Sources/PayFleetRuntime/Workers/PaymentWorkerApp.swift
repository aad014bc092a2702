import AMQP
import Configuration
import Logging
import PayFleetMessages
import PayFleetStore
import ServiceLifecycle

/// payment-worker: consumes jobs from the `payments` queue. `payment.create` creates the
/// order, its items and a pending payment and reserves stock, in one transaction, idempotent
/// on order_no, with a payment.created (or payment.rejected) outbox row.
public enum PaymentWorkerApp {
    public static func build(reader: ConfigReader) async throws -> ServiceGroup {
        try await WorkerProcess.build(
            role: "payment-worker", queue: QueueName.payments, defaultOpsPort: 9101, reader: reader,
            handler: handler(store:))
    }

    public static func handler(store: PayFleetStore) -> QueueConsumerService.Handler {
        { delivery, log in
            if let problem = delivery.schemaProblem { return .reject(reason: problem) }
            let kind = delivery.type ?? delivery.routingKey
            guard kind == RoutingKey.paymentCreate else {
                // payment.query and payment.close arrive with the channels' API clients.
                return .reject(reason: "\(kind) jobs are not handled by this version of payment-worker")
            }
            let job: CreatePayment
            do {
                job = try PayFleetJSON.decode(CreatePayment.self, from: delivery.body)
            } catch {
                return .reject(reason: "not a CreatePayment job: \(error)")
            }
            var log = log
            log[metadataKey: "order_no"] = "\(job.orderNo)"
            do {
                switch try await store.createPayment(job) {
                case .created(let event):
                    log.info("payment created; stock reserved", metadata: ["payment_no": "\(event.paymentNo)"])
                case .alreadyCreated(let paymentNo):
                    log.info("job repeated; order already exists", metadata: ["payment_no": "\(paymentNo)"])
                case .rejected(let rejection):
                    log.warning(
                        "payment rejected", metadata: ["reason": "\(rejection.reason.rawValue)", "detail": "\(rejection.detail)"])
                }
                return .ack
            } catch where PayFleetStore.isTransient(error) {
                log.warning("database unavailable; the job goes back to the queue", metadata: ["error": "\(error)"])
                return .requeueAfterPause
            } catch {
                return .reject(reason: "unit of work failed: \(String(reflecting: error))")
            }
        }
    }
}
