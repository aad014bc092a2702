import Foundation

/// JSON in and out of the sandbox's handlers, as plain dictionaries: the channels' bodies are small and
/// loosely shaped, and what is signed is whatever bytes are sent.
enum SandboxJSON {
    /// `object` as compact JSON with sorted keys and unescaped slashes.
    static func encode(_ object: [String: Any]) -> [UInt8] {
        guard JSONSerialization.isValidJSONObject(object),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else {
            preconditionFailure("sandbox JSON must be a valid JSON object")
        }
        return Array(data)
    }

    /// The top-level object of `bytes`, or nil when they are not a JSON object.
    static func decode(_ bytes: [UInt8]) -> [String: Any]? {
        guard !bytes.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// A string member; nil when absent or not a string.
    static func string(_ object: [String: Any]?, _ key: String) -> String? {
        object?[key] as? String
    }

    /// An integer member; nil when absent, fractional or not a number.
    static func int(_ object: [String: Any]?, _ key: String) -> Int64? {
        guard let number = object?[key] as? NSNumber, !(object?[key] is Bool) else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9e15 else { return nil }
        return number.int64Value
    }

    /// A nested object member.
    static func object(_ object: [String: Any]?, _ key: String) -> [String: Any]? {
        object?[key] as? [String: Any]
    }
}
