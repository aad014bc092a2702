import Configuration

/// notify-receiver settings.
///
/// Keys: `receiver.host` (default 127.0.0.1), `receiver.port` (default 8080),
/// `receiver.max_body_bytes` (default 65536), `receiver.timestamp_tolerance_seconds`
/// (default 300).
public struct ReceiverSettings: Sendable {
    public var host: String
    public var port: Int
    public var maxBodyBytes: Int
    public var timestampTolerance: Duration

    public init(reader: ConfigReader) {
        host = reader.string(forKey: "receiver.host", default: "127.0.0.1")
        port = reader.int(forKey: "receiver.port", default: 8080)
        maxBodyBytes = reader.int(forKey: "receiver.max_body_bytes", default: 64 * 1024)
        timestampTolerance = .seconds(reader.int(forKey: "receiver.timestamp_tolerance_seconds", default: 300))
    }
}
