/// An error of the fleet's own making: a stable code, a plain description that an operator
/// can act on (never a secret), and the detail in `debugDescription`.
public struct PayFleetError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }

        public static let missingSetting = Code(raw: "missing_setting")
        public static let invalidSetting = Code(raw: "invalid_setting")
        public static let configFile = Code(raw: "config_file")
        public static let dependencyUnavailable = Code(raw: "dependency_unavailable")
        public static let invalidMessage = Code(raw: "invalid_message")
    }

    public var code: Code
    public var description: String
    public var detail: String?

    public init(_ code: Code, _ description: String, detail: String? = nil) {
        self.code = code
        self.description = description
        self.detail = detail
    }

    public var debugDescription: String {
        if let detail { "PayFleetError(\(code)): \(description) [\(detail)]" } else { "PayFleetError(\(code)): \(description)" }
    }
}
