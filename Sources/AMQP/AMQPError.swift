/// An error from the AMQP layer.
///
/// `description` is safe to log and to show: it never contains a password nor a message body.
/// `debugDescription` adds what the broker or rabbitmq-c said, for operators.
public struct AMQPError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// A stable error code to switch over.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: String, Hashable, Sendable {
            case invalidURL, notConnected, connectionLost, nacked, unroutable, timeout, protocolError, closed
            case staleDelivery
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// The broker URL or another configuration value cannot be used.
        public static let invalidURL = Code(.invalidURL)
        /// There is no connection to the broker right now; the connection keeps retrying in the background.
        public static let notConnected = Code(.notConnected)
        /// The connection or channel dropped before the broker answered; the outcome of a publish is unknown.
        public static let connectionLost = Code(.connectionLost)
        /// The broker refused to take responsibility for a published message (basic.nack).
        public static let nacked = Code(.nacked)
        /// A mandatory message matched no queue (basic.return).
        public static let unroutable = Code(.unroutable)
        /// The broker did not answer in time.
        public static let timeout = Code(.timeout)
        /// The broker refused an operation (for example a declaration that conflicts with an existing queue,
        /// or a missing queue or exchange), or sent something unexpected.
        public static let protocolError = Code(.protocolError)
        /// The connection was shut down (``AMQPConnection/run()`` returned or is returning).
        public static let closed = Code(.closed)
        /// The delivery came over a connection or channel that is gone; the broker redelivers it.
        public static let staleDelivery = Code(.staleDelivery)

        public var description: String { backing.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A sentence saying what went wrong and what to do; contains no secret.
    public var message: String
    /// The AMQP reply code the broker sent (404 NOT_FOUND, 406 PRECONDITION_FAILED, …), if any.
    public var replyCode: UInt16?
    /// Extra detail for debugging (library status, broker reply text). Contains no secret.
    public var detail: String?

    public init(code: Code, message: String, replyCode: UInt16? = nil, detail: String? = nil) {
        self.code = code
        self.message = message
        self.replyCode = replyCode
        self.detail = detail
    }

    public var description: String {
        "AMQPError.\(code): \(message)"
    }

    public var debugDescription: String {
        var text = "AMQPError(code: \(code), message: \(message)"
        if let replyCode { text += ", replyCode: \(replyCode)" }
        if let detail { text += ", detail: \(detail)" }
        return text + ")"
    }
}

extension AMQPError {
    static func closed(_ what: String = "the AMQP connection is shut down") -> AMQPError {
        AMQPError(code: .closed, message: what)
    }
}
