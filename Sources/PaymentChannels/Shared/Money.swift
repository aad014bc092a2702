/// Exact decimal amounts as channels write them ("88.88") to and from minor units (8888).
///
/// Floating point never touches an amount: the text is read digit by digit.
public enum Money {
    /// Parses a non-negative decimal such as `"88.88"`, `"0.01"` or `"100"` into minor units, where
    /// `exponent` is the number of minor-unit digits (2 for CNY fen).
    ///
    /// Rejects empty text, signs, exponents (`1e3`), spaces, a leading or trailing `.`, more fraction
    /// digits than `exponent`, non-ASCII digits and values beyond `Int64`, with ``ChannelError/Code/malformedBody``.
    public static func parseDecimal(_ text: String, exponent: Int = 2) throws(ChannelError) -> Int64 {
        guard (0...18).contains(exponent) else {
            throw .malformed("amount exponent \(exponent) is not supported")
        }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw .malformed("amount is empty") }
        let zero = UInt8(ascii: "0")
        let nine = UInt8(ascii: "9")
        let dot = UInt8(ascii: ".")

        var integerDigits = 0
        var fractionDigits = 0
        var seenDot = false
        var value: Int64 = 0
        for byte in bytes {
            if byte == dot {
                guard !seenDot, integerDigits > 0 else {
                    throw .malformed("amount is not a plain decimal", detail: "amount \(quoted(text))")
                }
                seenDot = true
                continue
            }
            guard byte >= zero, byte <= nine else {
                throw .malformed("amount is not a plain decimal", detail: "amount \(quoted(text))")
            }
            if seenDot {
                fractionDigits += 1
                guard fractionDigits <= exponent else {
                    throw .malformed(
                        "amount has more than \(exponent) fraction digits", detail: "amount \(quoted(text))")
                }
            } else {
                integerDigits += 1
            }
            value = try append(Int64(byte - zero), to: value, text: text)
        }
        guard !seenDot || fractionDigits > 0 else {
            throw .malformed("amount ends with '.'", detail: "amount \(quoted(text))")
        }
        for _ in fractionDigits..<exponent {
            value = try append(0, to: value, text: text)
        }
        return value
    }

    /// Formats minor units as a decimal with exactly `exponent` fraction digits: 8888 → `"88.88"`, 1 → `"0.01"`.
    public static func formatDecimal(_ minor: Int64, exponent: Int = 2) -> String {
        precondition((0...18).contains(exponent), "amount exponent must be 0...18")
        var digits = String(minor.magnitude)
        if exponent > 0 {
            if digits.count <= exponent {
                digits = String(repeating: "0", count: exponent - digits.count + 1) + digits
            }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -exponent))
        }
        return minor < 0 ? "-" + digits : digits
    }

    private static func append(_ digit: Int64, to value: Int64, text: String) throws(ChannelError) -> Int64 {
        let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = shifted.addingReportingOverflow(digit)
        guard !overflow1, !overflow2 else {
            throw .malformed("amount is too large", detail: "amount \(quoted(text))")
        }
        return sum
    }

    /// The text for a debug description, cut short.
    private static func quoted(_ text: String) -> String {
        "\"" + String(text.prefix(40)) + "\""
    }
}
