/// Names of the exchanges, queues and routing keys of DESIGN §3, in one place.
public enum Exchange {
    public static let notify = "payfleet.notify"
    public static let jobs = "payfleet.jobs"
    public static let events = "payfleet.events"
    public static let dead = "payfleet.dead"
}

public enum QueueName {
    public static let fulfilment = "fulfilment"
    public static let refunds = "refunds"
    public static let payments = "payments"
    public static let inventory = "inventory"
    public static let dead = "payfleet.dead"
}

public enum RoutingKey {
    // payfleet.notify
    public static func paymentSucceeded(_ channel: ChannelID) -> String { "payment.succeeded.\(channel.rawValue)" }
    public static func paymentClosed(_ channel: ChannelID) -> String { "payment.closed.\(channel.rawValue)" }
    public static func refundSucceeded(_ channel: ChannelID) -> String { "refund.succeeded.\(channel.rawValue)" }
    public static func refundFailed(_ channel: ChannelID) -> String { "refund.failed.\(channel.rawValue)" }

    // payfleet.jobs
    public static let paymentCreate = "payment.create"
    public static let paymentQuery = "payment.query"
    public static let paymentClose = "payment.close"
    public static let refundCreate = "refund.create"
    public static let refundQuery = "refund.query"

    // payfleet.events
    public static let paymentCreated = "payment.created"
    public static let paymentRejected = "payment.rejected"
    public static let orderPaid = "order.paid"
    public static let orderOversold = "order.oversold"
    public static let paymentAnomaly = "payment.anomaly"
    public static let paymentClosedEvent = "payment.closed"
    public static let inventoryConfirmed = "inventory.confirmed"
    public static let refundSucceededEvent = "refund.succeeded"
    public static let refundFailedEvent = "refund.failed"
    /// A difference between a channel's bill and the books that no job can repair.
    public static let reconciliationDiff = "reconciliation.diff"
}

/// AMQP header names every PayFleet message carries.
public enum MessageHeader {
    /// 1 for the first delivery attempt, incremented by the retry path.
    public static let attempt = "x-payfleet-attempt"
    /// The message schema version (``PayFleetSchema/version``).
    public static let schema = "x-payfleet-schema"
    /// On a retried message: the errors of the earlier attempts, a JSON array of
    /// `{"attempt", "error", "at"}`; it ends up in `dead_letters` with the message.
    public static let errors = "x-payfleet-errors"
}

public enum PayFleetSchema {
    /// Bumped when a message changes incompatibly; consumers reject versions they do not know.
    public static let version = 1
}
