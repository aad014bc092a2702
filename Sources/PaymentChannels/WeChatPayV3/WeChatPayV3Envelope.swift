import PayFleetMessages

/// The JSON body WeChat Pay v3 posts; unknown fields are ignored.
struct WeChatPayV3Envelope: JSONObjectDecodable {
    struct Resource: JSONObjectDecodable {
        var algorithm: String?
        var ciphertext: String?
        var nonce: String?
        var associatedData: String?
        var originalType: String?

        init(json: JSONValue) throws(JSONValue.FieldError) {
            algorithm = try json.optionalString("algorithm")
            ciphertext = try json.optionalString("ciphertext")
            nonce = try json.optionalString("nonce")
            associatedData = try json.optionalString("associated_data")
            originalType = try json.optionalString("original_type")
        }
    }

    var id: String?
    var createTime: String?
    var eventType: String?
    var resourceType: String?
    var summary: String?
    var resource: Resource?

    init(json: JSONValue) throws(JSONValue.FieldError) {
        id = try json.optionalString("id")
        createTime = try json.optionalString("create_time")
        eventType = try json.optionalString("event_type")
        resourceType = try json.optionalString("resource_type")
        summary = try json.optionalString("summary")
        resource = try json.optionalObject("resource").map { (object) throws(JSONValue.FieldError) in try Resource(json: object) }
    }
}
