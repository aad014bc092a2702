/// `application/x-www-form-urlencoded` bodies: `+` is a space, `%XX` a byte, text is UTF-8.
public enum FormCodec {
    /// Parses a form body into its pairs, in order. Empty segments (`a=1&&b=2`) are skipped and a
    /// segment without `=` is a key with an empty value.
    ///
    /// Throws ``ChannelError/Code/malformedBody`` for a bad percent escape or text that is not UTF-8.
    public static func decode(_ body: some Collection<UInt8>) throws(ChannelError) -> [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        for segment in Array(body).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = segment.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let key = try decodeComponent(parts[0])
            let value = parts.count > 1 ? try decodeComponent(parts[1]) : ""
            pairs.append((key: key, value: value))
        }
        return pairs
    }

    /// Decodes one component: `+` becomes a space and `%XX` the byte XX; the result must be UTF-8.
    public static func decodeComponent(_ bytes: some Collection<UInt8>) throws(ChannelError) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            switch byte {
            case UInt8(ascii: "+"):
                output.append(UInt8(ascii: " "))
                index += 1
            case UInt8(ascii: "%"):
                guard index + 2 < input.count, let high = hexValue(input[index + 1]),
                    let low = hexValue(input[index + 2])
                else {
                    throw .malformed("form body has an invalid percent escape", detail: "at byte \(index)")
                }
                output.append(high << 4 | low)
                index += 3
            default:
                output.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: output, as: UTF8.self) else {
            throw .malformed("form body is not UTF-8")
        }
        return text
    }

    /// Encodes pairs in the given order, percent-encoding all but ASCII letters, digits and `*-._`;
    /// a space becomes `+`.
    public static func encode(_ pairs: [(key: String, value: String)]) -> String {
        pairs.map { encodeComponent($0.key) + "=" + encodeComponent($0.value) }.joined(separator: "&")
    }

    /// Encodes a dictionary with its keys in byte order, so equal dictionaries give equal bodies.
    public static func encode(_ parameters: [String: String]) -> String {
        encode(
            parameters.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map {
                (key: $0.key, value: $0.value)
            })
    }

    /// Percent-encodes one component as ``encode(_:)-(Array<(key:String,value:String)>)`` does.
    public static func encodeComponent(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"):
                output.append(byte)
            case UInt8(ascii: " "):
                output.append(UInt8(ascii: "+"))
            default:
                output.append(UInt8(ascii: "%"))
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
