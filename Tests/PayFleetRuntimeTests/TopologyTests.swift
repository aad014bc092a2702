import AMQP
import PayFleetMessages
import PayFleetRuntime
import Testing

@Suite struct TopologyTests {
    @Test func payfleetTopologyMatchesTheDesign() {
        let topology = AMQPTopology.payfleet(deliveryLimit: 7)
        #expect(
            Set(topology.exchanges) == [
                .init(name: "payfleet.notify", kind: .topic),
                .init(name: "payfleet.jobs", kind: .topic),
                .init(name: "payfleet.events", kind: .topic),
                .init(name: "payfleet.dead", kind: .fanout),
            ])
        for name in ["fulfilment", "refunds", "payments", "inventory"] {
            #expect(
                topology.queues.contains(
                    .init(name: name, quorum: true, deliveryLimit: 7, deadLetterExchange: "payfleet.dead")))
        }
        #expect(topology.queues.contains(.init(name: "payfleet.dead", quorum: true)))
        #expect(topology.queues.count == 5)
        #expect(
            Set(topology.bindings) == [
                .init(queue: "fulfilment", exchange: "payfleet.notify", routingKey: "payment.#"),
                .init(queue: "refunds", exchange: "payfleet.jobs", routingKey: "refund.*"),
                .init(queue: "refunds", exchange: "payfleet.notify", routingKey: "refund.#"),
                .init(queue: "payments", exchange: "payfleet.jobs", routingKey: "payment.*"),
                .init(queue: "inventory", exchange: "payfleet.events", routingKey: "order.paid"),
                .init(queue: "payfleet.dead", exchange: "payfleet.dead", routingKey: ""),
            ])
        #expect(AMQPTopology.payfleet().queues.first?.deliveryLimit == 20)
    }

    /// Every job and notification routing key PayFleet publishes reaches exactly the queue of the role that handles
    /// it, by AMQP topic matching (`*` one word, `#` any number).
    @Test func everyRoutingKeyReachesItsRole() {
        let topology = AMQPTopology.payfleet()
        func queues(_ exchange: String, _ key: String) -> Set<String> {
            Set(topology.bindings.filter { $0.exchange == exchange && Self.matches($0.routingKey, key) }.map(\.queue))
        }
        #expect(queues(Exchange.jobs, RoutingKey.refundCreate) == ["refunds"])
        #expect(queues(Exchange.jobs, RoutingKey.refundQuery) == ["refunds"])
        #expect(queues(Exchange.jobs, RoutingKey.paymentCreate) == ["payments"])
        #expect(queues(Exchange.jobs, RoutingKey.paymentClose) == ["payments"])
        for channel in ChannelID.allCases {
            #expect(queues(Exchange.notify, RoutingKey.refundSucceeded(channel)) == ["refunds"])
            #expect(queues(Exchange.notify, RoutingKey.refundFailed(channel)) == ["refunds"])
            #expect(queues(Exchange.notify, RoutingKey.paymentSucceeded(channel)) == ["fulfilment"])
        }
        #expect(queues(Exchange.events, RoutingKey.orderPaid) == ["inventory"])
        #expect(queues(Exchange.events, RoutingKey.refundSucceededEvent).isEmpty)
    }

    static func matches(_ pattern: String, _ key: String) -> Bool {
        func match(_ p: ArraySlice<Substring>, _ k: ArraySlice<Substring>) -> Bool {
            guard let head = p.first else { return k.isEmpty }
            if head == "#" { return (0...k.count).contains { match(p.dropFirst(), k.dropFirst($0)) } }
            guard let word = k.first else { return false }
            return (head == "*" || head == word) && match(p.dropFirst(), k.dropFirst())
        }
        return match(ArraySlice(pattern.split(separator: ".", omittingEmptySubsequences: false)),
            ArraySlice(key.split(separator: ".", omittingEmptySubsequences: false)))
    }
}
