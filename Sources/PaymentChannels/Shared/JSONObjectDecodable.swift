import PayFleetMessages

/// A channel's JSON object read with ``JSONValue`` instead of Foundation's `JSONDecoder`, for what the receiver reads
/// per notification: absent and `null` fields are nil, a field of another type is an error, unknown fields are ignored
/// (as a `Decodable` with optional properties would).
protocol JSONObjectDecodable {
    init(json: JSONValue) throws(JSONValue.FieldError)
}

extension JSONObjectDecodable {
    /// Parses `bytes` and reads the object; nil when they are not JSON or not this object.
    static func decode(_ bytes: some Collection<UInt8>) -> Self? {
        guard let value = try? JSONValue.parse(bytes), case .object = value else { return nil }
        return try? Self(json: value)
    }
}
