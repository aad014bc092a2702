import Foundation

/// The JSON coding every PayFleet message uses: snake_case keys (declared per type),
/// ISO 8601 dates, sorted keys so equal messages encode to equal bytes.
public enum PayFleetJSON {
    /// One encoder and one decoder for the process: Foundation's coders are thread-safe once configured, and
    /// building one (with its date closure) per message was measurable on the receiver's and workers' hot paths.
    private static let sharedEncoder = encoder()
    private static let sharedDecoder = decoder()

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ISO8601.format(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = ISO8601.parse(text) { return date }
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected an ISO 8601 date-time such as 2026-11-23T10:00:00Z")
        }
        return decoder
    }

    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try sharedEncoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        try sharedDecoder.decode(type, from: Data(bytes))
    }
}

/// ISO 8601 date-times with or without fractional seconds and with any offset.
///
/// Uses Foundation's value-type format styles: building an `ISO8601DateFormatter` per call
/// costs ~190 µs on Linux, which was most of a notification's cost in the receiver.
public enum ISO8601 {
    private static let plain = Date.ISO8601FormatStyle()
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func parse(_ text: String) -> Date? {
        if let date = try? plain.parse(text) { return date }
        return try? fractional.parse(text)
    }

    public static func format(_ date: Date) -> String {
        plain.format(date)
    }
}
