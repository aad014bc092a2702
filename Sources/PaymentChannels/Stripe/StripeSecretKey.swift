import Foundation

/// A Stripe secret key (`sk_live_…`, `sk_test_…`) or restricted key (`rk_…`): what authenticates API calls as
/// `Authorization: Bearer <key>`.
///
/// Never shown: `description`, `debugDescription` and the reflection `dump` uses name only the mode.
public struct StripeSecretKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key's text.
    let value: String

    /// Takes the key's text; nil unless it is `sk_` or `rk_` followed by printable ASCII without spaces.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard text.hasPrefix("sk_") || text.hasPrefix("rk_"), bytes.count > 8,
            bytes.allSatisfy({ (0x21...0x7E).contains($0) })
        else { return nil }
        value = text
    }

    /// Loads a key from a file holding only it (surrounding whitespace ignored).
    public static func load(path: String) throws(ChannelError) -> StripeSecretKey {
        let text = try PEMKeys.readText(path).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = StripeSecretKey(text) else {
            throw .keyFile(
                "secret key file \(path) must hold one Stripe secret key (sk_live_…, sk_test_…) or restricted key "
                    + "(rk_…); copy it from the Stripe Dashboard's API keys page")
        }
        return key
    }

    /// True for a test-mode key.
    public var isTestMode: Bool { value.hasPrefix("sk_test_") || value.hasPrefix("rk_test_") }

    /// `Bearer <key>`.
    var authorization: String { "Bearer " + value }

    /// True when `presented` (e.g. a Bearer token's bytes) is this key, compared in constant time.
    public func matches(_ presented: some Collection<UInt8>) -> Bool {
        ConstantTime.equals(Array(value.utf8), presented)
    }

    public var description: String {
        "StripeSecretKey(\(isTestMode ? "test" : "live"), redacted)"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: [], displayStyle: .struct)
    }
}
