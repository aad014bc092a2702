import Foundation
import PayFleetMessages

/// Verifies one merchant account's notifications on one channel and knows that channel's replies.
public protocol NotificationVerifier: Sendable {
    var channel: ChannelID { get }
    /// Our merchant account id (the `<merchant>` of `/notify/<channel>/<merchant>`).
    var merchantID: String { get }
    /// Verifies authenticity and normalises. Pure: no I/O.
    func verify(_ request: ChannelRequest, now: Date) throws(ChannelError) -> VerifiedNotification
    /// The reply that tells the channel the notification was received and need not be sent again.
    func successReply() -> ChannelReply
    /// The success reply for a particular outcome, for channels whose replies differ by notification kind
    /// (Baidu answers a payment with `isConsumed` and a refund without). Defaults to ``successReply()``.
    func successReply(for notification: VerifiedNotification) -> ChannelReply
    /// The reply that tells the channel to retry later; `message` must not hold secrets.
    func failureReply(status: Int, message: String) -> ChannelReply
}

extension NotificationVerifier {
    public func successReply(for notification: VerifiedNotification) -> ChannelReply {
        successReply()
    }
}
