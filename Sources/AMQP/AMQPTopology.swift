/// Exchanges, queues and bindings to declare. Declaring is idempotent: declaring the same
/// topology again is a no-op, declaring a conflicting one fails with 406 PRECONDITION_FAILED.
public struct AMQPTopology: Sendable, Hashable {
    public struct Exchange: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable {
            case topic, fanout, direct, headers
        }

        public var name: String
        public var kind: Kind
        public var durable: Bool

        public init(name: String, kind: Kind, durable: Bool = true) {
            self.name = name
            self.kind = kind
            self.durable = durable
        }
    }

    public struct Queue: Sendable, Hashable {
        public var name: String
        /// A quorum queue (`x-queue-type: quorum`, always durable) rather than a classic one.
        public var quorum: Bool
        /// `x-delivery-limit`: after this many redeliveries the message is dead-lettered (quorum queues only).
        public var deliveryLimit: Int?
        /// `x-dead-letter-exchange`.
        public var deadLetterExchange: String?
        public var durable: Bool

        public init(
            name: String, quorum: Bool = true, deliveryLimit: Int? = nil, deadLetterExchange: String? = nil,
            durable: Bool = true
        ) {
            self.name = name
            self.quorum = quorum
            self.deliveryLimit = deliveryLimit
            self.deadLetterExchange = deadLetterExchange
            self.durable = durable
        }
    }

    public struct Binding: Sendable, Hashable {
        public var queue: String
        public var exchange: String
        public var routingKey: String

        public init(queue: String, exchange: String, routingKey: String) {
            self.queue = queue
            self.exchange = exchange
            self.routingKey = routingKey
        }
    }

    public var exchanges: [Exchange]
    public var queues: [Queue]
    public var bindings: [Binding]

    public init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    public var isEmpty: Bool { exchanges.isEmpty && queues.isEmpty && bindings.isEmpty }
}

/// What a passive queue declaration reports.
public struct AMQPQueueInfo: Sendable, Hashable {
    public var name: String
    /// Messages ready for delivery (not counting unacknowledged ones).
    public var messageCount: UInt32
    public var consumerCount: UInt32
}
