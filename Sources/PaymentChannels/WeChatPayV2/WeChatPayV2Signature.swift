import Crypto

/// WeChat Pay v2's signature ("签名算法"): every parameter but `sign`, empty values skipped, sorted by key in
/// byte order, `k=v` joined with `&`, then `&key=<API key>`; MD5 of that, or HMAC-SHA256 keyed with the
/// API key; upper-case hex.
enum WeChatPayV2Signature {
    /// The bytes that are hashed, `&key=…` included.
    static func content(of parameters: [(key: String, value: String)], apiKey: [UInt8]) -> [UInt8] {
        let included = parameters.filter { !$0.key.isEmpty && !$0.value.isEmpty && $0.key != "sign" }
        let sorted = included.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        var output: [UInt8] = []
        for pair in sorted {
            output += pair.key.utf8
            output.append(UInt8(ascii: "="))
            output += pair.value.utf8
            output.append(UInt8(ascii: "&"))
        }
        output += "key=".utf8
        output += apiKey
        return output
    }

    /// The upper-case hex signature of `parameters`.
    static func sign(
        _ parameters: [(key: String, value: String)], type: WeChatPayV2SignType, apiKey: [UInt8]
    ) -> String {
        let content = content(of: parameters, apiKey: apiKey)
        switch type {
        case .md5:
            return Hex.encode(Insecure.MD5.hash(data: content), uppercase: true)
        case .hmacSHA256:
            let mac = HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: apiKey))
            return Hex.encode(mac, uppercase: true)
        }
    }
}
