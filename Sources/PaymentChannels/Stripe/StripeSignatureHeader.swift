/// `Stripe-Signature: t=1492774577,v1=5257a8…,v0=6ffbb5…`: the signed timestamp and the `v1` signatures
/// (lower-case hex HMAC-SHA256, one per live secret during a roll); other schemes are ignored.
struct StripeSignatureHeader {
    var timestamp: Int64
    var v1: [String]

    /// Parses the header; throws ``ChannelError/Code/badSignature`` without a `t` of Unix seconds or a `v1`.
    init(_ text: String) throws(ChannelError) {
        var timestamp: Int64?
        var v1: [String] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingWhitespace()
            let value = parts[1].trimmingWhitespace()
            switch key {
            case "t":
                guard (1...12).contains(value.utf8.count), value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                    throw .badSignature("Stripe-Signature t is not a Unix time in seconds")
                }
                timestamp = Int64(value)
            case "v1":
                v1.append(value.lowercased())
            default:
                continue
            }
        }
        guard let timestamp else { throw .badSignature("Stripe-Signature has no timestamp t") }
        guard !v1.isEmpty else { throw .badSignature("Stripe-Signature has no v1 signature") }
        self.timestamp = timestamp
        self.v1 = v1
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
