import AMQP
import PayFleetMessages

extension AMQPTopology {
    /// PayFleet's whole topology (DESIGN §3), built from the names in PayFleetMessages: durable topic exchanges
    /// `payfleet.notify`, `payfleet.jobs`, `payfleet.events` and the fanout `payfleet.dead`; quorum queues
    /// `fulfilment`, `refunds`, `payments` and `inventory` with `x-delivery-limit` and dead-lettering to
    /// `payfleet.dead`; and the quorum queue `payfleet.dead` bound to it.
    ///
    /// - fulfilment ← notify `payment.#`
    /// - refunds ← jobs `refund.*` (refund.create, refund.query) and notify `refund.#`
    /// - payments ← jobs `payment.*`
    /// - inventory ← events `order.paid`
    public static func payfleet(deliveryLimit: Int = 20) -> AMQPTopology {
        func workQueue(_ name: String) -> Queue {
            Queue(name: name, quorum: true, deliveryLimit: deliveryLimit, deadLetterExchange: PayFleetMessages.Exchange.dead)
        }
        return AMQPTopology(
            exchanges: [
                Exchange(name: PayFleetMessages.Exchange.notify, kind: .topic),
                Exchange(name: PayFleetMessages.Exchange.jobs, kind: .topic),
                Exchange(name: PayFleetMessages.Exchange.events, kind: .topic),
                Exchange(name: PayFleetMessages.Exchange.dead, kind: .fanout),
            ],
            queues: [
                workQueue(QueueName.fulfilment),
                workQueue(QueueName.refunds),
                workQueue(QueueName.payments),
                workQueue(QueueName.inventory),
                Queue(name: QueueName.dead, quorum: true),
            ],
            bindings: [
                Binding(queue: QueueName.fulfilment, exchange: PayFleetMessages.Exchange.notify, routingKey: "payment.#"),
                Binding(queue: QueueName.refunds, exchange: PayFleetMessages.Exchange.jobs, routingKey: "refund.*"),
                Binding(queue: QueueName.refunds, exchange: PayFleetMessages.Exchange.notify, routingKey: "refund.#"),
                Binding(queue: QueueName.payments, exchange: PayFleetMessages.Exchange.jobs, routingKey: "payment.*"),
                Binding(
                    queue: QueueName.inventory, exchange: PayFleetMessages.Exchange.events,
                    routingKey: RoutingKey.orderPaid),
                Binding(queue: QueueName.dead, exchange: PayFleetMessages.Exchange.dead, routingKey: ""),
            ]
        )
    }
}
