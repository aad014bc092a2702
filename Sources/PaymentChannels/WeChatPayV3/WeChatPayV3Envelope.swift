/// The JSON body WeChat Pay v3 posts; unknown fields are ignored.
struct WeChatPayV3Envelope: Decodable {
    struct Resource: Decodable {
        var algorithm: String?
        var ciphertext: String?
        var nonce: String?
        var associatedData: String?
        var originalType: String?

        enum CodingKeys: String, CodingKey {
            case algorithm, ciphertext, nonce
            case associatedData = "associated_data"
            case originalType = "original_type"
        }
    }

    var id: String?
    var createTime: String?
    var eventType: String?
    var resourceType: String?
    var summary: String?
    var resource: Resource?

    enum CodingKeys: String, CodingKey {
        case id, summary, resource
        case createTime = "create_time"
        case eventType = "event_type"
        case resourceType = "resource_type"
    }
}
