/// Why the channel sandbox cannot start: a missing or unusable setting or key file.
///
/// `description` names the setting and what to do; it never shows a key.
public struct SandboxError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// A required setting is absent.
        public static let missingSetting = Code("missing_setting")
        /// A setting has a value the sandbox cannot use.
        public static let invalidSetting = Code("invalid_setting")
        /// A key or certificate file is missing or unusable.
        public static let keyFile = Code("key_file")

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
