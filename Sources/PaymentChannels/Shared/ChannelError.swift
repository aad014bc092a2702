/// Why a notification (or a key file) was refused.
///
/// `description` is plain and safe to log: it never holds a key, a secret or the notification body.
/// `debugDescription` adds detail (header names, field names, lengths), still without secrets.
public struct ChannelError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// A stable error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: String, Hashable, Sendable {
            case badSignature = "bad_signature"
            case unknownKey = "unknown_key"
            case staleTimestamp = "stale_timestamp"
            case missingHeader = "missing_header"
            case malformedBody = "malformed_body"
            case merchantMismatch = "merchant_mismatch"
            case decryptionFailed = "decryption_failed"
            case unsupportedContentType = "unsupported_content_type"
            case keyFile = "key_file"
        }

        private let backing: Backing

        private init(_ backing: Backing) {
            self.backing = backing
        }

        /// The signature does not verify with the key named (or with any configured key).
        public static let badSignature = Code(.badSignature)
        /// The notification names a key (certificate serial, public key id) that is not configured.
        public static let unknownKey = Code(.unknownKey)
        /// The signed timestamp is outside the accepted window.
        public static let staleTimestamp = Code(.staleTimestamp)
        /// A header the channel always sends is absent.
        public static let missingHeader = Code(.missingHeader)
        /// The body cannot be parsed or lacks a required field.
        public static let malformedBody = Code(.malformedBody)
        /// The notification is authentic but addressed to another merchant or app.
        public static let merchantMismatch = Code(.merchantMismatch)
        /// The encrypted resource cannot be opened with the configured key.
        public static let decryptionFailed = Code(.decryptionFailed)
        /// The Content-Type is not the one the channel uses.
        public static let unsupportedContentType = Code(.unsupportedContentType)
        /// A key, certificate or secret file cannot be read or parsed.
        public static let keyFile = Code(.keyFile)

        /// The snake_case name of the code, e.g. `bad_signature`.
        public var description: String { backing.rawValue }
    }

    public var code: Code
    /// True for a channel's deliberate probe (WeChat Pay's `WECHATPAY/SIGNTEST/` signatures): log it quietly.
    public var isProbe: Bool
    /// What was wrong, in plain words; no secrets, no body.
    public var message: String
    /// More detail for `debugDescription`; no secrets either.
    public var detail: String?

    public init(code: Code, message: String, detail: String? = nil, isProbe: Bool = false) {
        self.code = code
        self.message = message
        self.detail = detail
        self.isProbe = isProbe
    }

    public var description: String {
        "\(code): \(message)"
    }

    public var debugDescription: String {
        var text = "ChannelError(code: \(code), message: \(message)"
        if let detail { text += ", detail: \(detail)" }
        if isProbe { text += ", probe" }
        return text + ")"
    }

    /// The HTTP status a receiver should answer with: 401 for authentication failures (signature, key,
    /// timestamp, missing signature headers), 400 for malformed or misaddressed bodies, 415 for the wrong
    /// content type, 500 for our own configuration (undecryptable resource, unreadable key file) so the
    /// channel retries once it is fixed.
    public var httpStatus: Int {
        switch code {
        case .badSignature, .unknownKey, .staleTimestamp, .missingHeader: 401
        case .malformedBody, .merchantMismatch: 400
        case .unsupportedContentType: 415
        default: 500
        }
    }
}

extension ChannelError {
    static func badSignature(_ message: String, detail: String? = nil, probe: Bool = false) -> ChannelError {
        ChannelError(code: .badSignature, message: message, detail: detail, isProbe: probe)
    }

    static func malformed(_ message: String, detail: String? = nil) -> ChannelError {
        ChannelError(code: .malformedBody, message: message, detail: detail)
    }

    static func keyFile(_ message: String, detail: String? = nil) -> ChannelError {
        ChannelError(code: .keyFile, message: message, detail: detail)
    }
}
