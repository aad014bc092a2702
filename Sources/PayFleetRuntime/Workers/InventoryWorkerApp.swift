import AMQP
import Configuration
import Logging
import Metrics
import PayFleetMessages
import PayFleetStore
import ServiceLifecycle

/// inventory-worker: consumes `order.paid` events from the `inventory` queue and confirms each order's stock in ONE
/// transaction (``PayFleetStore/confirmInventory(_:messageID:)``): the reservation becomes a deduction, or, for an
/// order whose reservation was released before the money came, free stock covers it or the order is oversold and
/// its payment refunded automatically. Run as many copies as needed: stock rows are locked in sku order.
public enum InventoryWorkerApp {
    public static func build(reader: ConfigReader) async throws -> ServiceGroup {
        try await WorkerProcess.build(
            role: "inventory-worker", queue: QueueName.inventory, defaultOpsPort: 9106, reader: reader,
            handler: handler(store:))
    }

    public static func handler(store: PayFleetStore) -> QueueConsumerService.Handler {
        let confirmed = Counter(label: "payfleet_inventory_confirmations_total", dimensions: [("outcome", "confirmed")])
        let oversold = Counter(label: "payfleet_inventory_confirmations_total", dimensions: [("outcome", "oversold")])
        return { delivery, log in
            if let problem = delivery.schemaProblem { return .reject(reason: problem) }
            let event: OrderPaid
            do {
                event = try PayFleetJSON.decode(OrderPaid.self, from: delivery.body)
            } catch {
                return .reject(reason: "not an OrderPaid event: \(error)")
            }
            var log = log
            log[metadataKey: "order_no"] = "\(event.orderNo)"
            do {
                switch try await store.confirmInventory(event, messageID: delivery.messageID ?? event.messageID) {
                case .confirmed(let confirmation):
                    confirmed.increment()
                    log.info("stock deducted", metadata: ["source": "\(confirmation.source.rawValue)"])
                case .oversold(let event):
                    oversold.increment()
                    log.warning(
                        "order oversold; its payment is refunded",
                        metadata: ["refund_no": "\(event.refundNo)", "skus": "\(event.shortages.map(\.sku))"])
                case .duplicate, .alreadyInState:
                    log.debug("stock already confirmed; nothing changed")
                case .notPaid:
                    log.notice("order.paid for an order that is not paid; nothing deducted")
                }
                return .ack
            } catch {
                return PaymentJobs.storeFailure(error, log: log)
            }
        }
    }
}
