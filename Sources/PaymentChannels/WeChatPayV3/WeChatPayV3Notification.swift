/// A WeChat Pay v3 notification whose signature verified and whose resource was decrypted.
public struct WeChatPayV3Notification: Sendable, Equatable {
    /// The notification id (stable across WeChat Pay's retries).
    public var id: String
    /// `create_time` as sent (RFC 3339).
    public var createTime: String
    /// e.g. `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`.
    public var eventType: String
    /// e.g. `encrypt-resource`.
    public var resourceType: String
    public var summary: String?
    /// The resource's `original_type`, e.g. `transaction`, `refund`.
    public var originalType: String?
    /// The decrypted resource, as JSON text.
    public var plaintext: String

    public init(
        id: String, createTime: String, eventType: String, resourceType: String, summary: String?,
        originalType: String?, plaintext: String
    ) {
        self.id = id
        self.createTime = createTime
        self.eventType = eventType
        self.resourceType = resourceType
        self.summary = summary
        self.originalType = originalType
        self.plaintext = plaintext
    }
}
