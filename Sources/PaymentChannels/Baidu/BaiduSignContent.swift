/// The string Baidu's cashier signs ("签名与验签"): every parameter but `rsaSign`, `sign` and `sign_type`,
/// sorted by key in byte order, `key=value` joined with `&`, values decoded. Signed with SHA1withRSA.
///
/// Baidu's own PHP and Java demos keep empty values (`returnData=`) in the string; some SDKs drop them.
/// ``BaiduVerifier`` accepts a signature over either form: both cover every non-empty value, so neither
/// lets a value change.
enum BaiduSignContent {
    static let excluded: Set<String> = ["rsaSign", "sign", "sign_type"]

    static func bytes(of parameters: [(key: String, value: String)], includingEmpty: Bool = true) -> [UInt8] {
        let included = parameters.filter {
            !$0.key.isEmpty && !excluded.contains($0.key) && (includingEmpty || !$0.value.isEmpty)
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
