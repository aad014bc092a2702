/// Byte-level helpers the bill parsers share: the channels' files are split on ASCII delimiters without
/// decoding them first (Alipay's are GBK, which Foundation on Linux may not decode).
enum BillText {
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let comma = UInt8(ascii: ",")

    /// The lines of `bytes`, split on `\n` with a trailing `\r` removed; empty lines are kept so line numbers in
    /// errors stay true.
    static func lines(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == newline {
                lines.append(trimmingCarriageReturn(bytes[start..<index]))
                start = index + 1
            }
            index += 1
        }
        if start < bytes.endIndex { lines.append(trimmingCarriageReturn(bytes[start..<bytes.endIndex])) }
        return lines
    }

    private static func trimmingCarriageReturn(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        line.last == carriageReturn ? line.dropLast() : line
    }

    /// `field` without leading and trailing ASCII spaces and tabs (Alipay ends its number columns with a tab).
    static func trimmed(_ field: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var field = field
        while let first = field.first, first == 0x20 || first == 0x09 { field = field.dropFirst() }
        while let last = field.last, last == 0x20 || last == 0x09 { field = field.dropLast() }
        return field
    }

    /// The field as a String when every byte is printable ASCII (what our numbers, the channels' trade numbers,
    /// times and amounts are); nil otherwise.
    static func ascii(_ field: ArraySlice<UInt8>) -> String? {
        guard field.allSatisfy({ (0x20...0x7E).contains($0) }) else { return nil }
        return String(decoding: field, as: UTF8.self)
    }

    /// The first 40 bytes of a field for an error's detail, lossily decoded.
    static func preview(_ field: ArraySlice<UInt8>) -> String {
        "\"" + String(decoding: field.prefix(40), as: UTF8.self) + "\""
    }
}
