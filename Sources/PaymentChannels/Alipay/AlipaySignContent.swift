/// The string Alipay signs: every parameter except `sign` and `sign_type`, empty values skipped, sorted by
/// key in byte order, `key=value` joined with `&`, values URL-decoded and not re-encoded.
///
/// This follows `AlipaySignature.getSignCheckContentV1` of the official alipay-sdk-java.
enum AlipaySignContent {
    static func bytes(of parameters: [(key: String, value: String)]) -> [UInt8] {
        let included = parameters.filter {
            !$0.key.isEmpty && !$0.value.isEmpty && $0.key != "sign" && $0.key != "sign_type"
        }
        let sorted = included.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        var output: [UInt8] = []
        for (index, pair) in sorted.enumerated() {
            if index > 0 { output.append(UInt8(ascii: "&")) }
            output += pair.key.utf8
            output.append(UInt8(ascii: "="))
            output += pair.value.utf8
        }
        return output
    }
}
