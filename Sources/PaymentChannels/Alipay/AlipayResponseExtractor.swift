import PayFleetMessages

/// Finds, in an Alipay gateway response, the exact JSON text of the `<method>_response` member (or of
/// `error_response`) and the `sign` beside it, without re-serialising anything: Alipay signs those bytes as sent.
///
/// A real scanner, not a substring search: strings (with their escapes) are skipped whole, so a `}`, a `"` or a
/// member name inside a string value never cuts the text short, and members may come in any order (`sign` before
/// or after). The top level must be one JSON object; a repeated `<method>_response`, `error_response` or `sign`
/// is refused rather than guessed at. Pure.
public enum AlipayResponseExtractor {
    /// What the extractor found.
    public struct Extract: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// The `<method>_response` member: a result or a business error; signed.
            case response
            /// The gateway's `error_response` member (no method response): an error, unsigned.
            case errorResponse
        }

        public var kind: Kind
        /// The member's value exactly as received, from its `{` to its `}`: the bytes `sign` covers.
        public var content: [UInt8]
        /// The `sign` member, JSON escapes decoded; nil when absent.
        public var sign: String?

        public init(kind: Kind, content: [UInt8], sign: String?) {
            self.kind = kind
            self.content = content
            self.sign = sign
        }

        /// ``content`` as text.
        public var text: String { String(decoding: content, as: UTF8.self) }
    }

    /// The member holding `method`'s response: dots become underscores, plus `_response`
    /// (`alipay.trade.query` → `alipay_trade_query_response`).
    public static func responseKey(method: String) -> String {
        String(method.map { $0 == "." ? "_" : $0 }) + "_response"
    }

    /// Extracts `method`'s response (or the `error_response`) from `body`. Throws
    /// ``ChannelAPIError/Code/malformedResponse`` when the body is not one JSON object holding either.
    public static func extract(_ body: [UInt8], method: String) throws(ChannelAPIError) -> Extract {
        let responseKey = Self.responseKey(method: method)
        var scanner = Scanner(bytes: body)
        var response: Range<Int>?
        var errorResponse: Range<Int>?
        var sign: String?
        do throws(Scanner.Failure) {
            try scanner.object { key, value throws(Scanner.Failure) in
                switch key {
                case responseKey:
                    guard response == nil else { throw .init("\(responseKey) appears twice", at: value.lowerBound) }
                    guard body[value.lowerBound] == Scanner.openBrace else {
                        throw .init("\(responseKey) is not an object", at: value.lowerBound)
                    }
                    response = value
                case "error_response":
                    guard errorResponse == nil else {
                        throw .init("error_response appears twice", at: value.lowerBound)
                    }
                    guard body[value.lowerBound] == Scanner.openBrace else {
                        throw .init("error_response is not an object", at: value.lowerBound)
                    }
                    errorResponse = value
                case "sign":
                    guard sign == nil else { throw .init("sign appears twice", at: value.lowerBound) }
                    guard body[value.lowerBound] == Scanner.quote,
                        let text = Scanner.decodeString(body[(value.lowerBound + 1)..<(value.upperBound - 1)])
                    else {
                        throw .init("sign is not a string", at: value.lowerBound)
                    }
                    sign = text
                default:
                    break
                }
            }
        } catch {
            throw ChannelAPIError(
                code: .malformedResponse, channel: .alipay, operation: method,
                message: "Alipay response is not the JSON expected: \(error.reason)", detail: "at byte \(error.offset)")
        }
        if let response {
            return Extract(kind: .response, content: Array(body[response]), sign: sign)
        }
        if let errorResponse {
            return Extract(kind: .errorResponse, content: Array(body[errorResponse]), sign: sign)
        }
        throw ChannelAPIError(
            code: .malformedResponse, channel: .alipay, operation: method,
            message: "Alipay response has neither \(responseKey) nor error_response")
    }
}

/// A JSON scanner that finds the byte ranges of a top-level object's members.
private struct Scanner {
    struct Failure: Error {
        var reason: String
        var offset: Int

        init(_ reason: String, at offset: Int) {
            self.reason = reason
            self.offset = offset
        }
    }

    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let maximumDepth = 512

    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Scans the whole input as one object, calling `member` with each member's decoded name and the range of its
    /// value; nothing but whitespace may follow.
    mutating func object(_ member: (String, Range<Int>) throws(Failure) -> Void) throws(Failure) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        skipWhitespace()
        try expect(Self.openBrace, "the body is not a JSON object")
        skipWhitespace()
        if peek() == Self.closeBrace {
            index += 1
        } else {
            while true {
                skipWhitespace()
                let nameStart = index
                let nameRange = try string()
                guard let name = Self.decodeString(bytes[nameRange]) else {
                    throw Failure("a member name has an invalid escape", at: nameStart)
                }
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' expected after a member name")
                let valueRange = try value()
                try member(name, valueRange)
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                } else {
                    try expect(Self.closeBrace, "',' or '}' expected after a member")
                    break
                }
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw Failure("text follows the JSON object", at: index) }
    }

    /// Skips one value (after whitespace) and returns its range. Objects and arrays are matched bracket by
    /// bracket, strings skipped whole; their insides are left to the JSON decoder.
    private mutating func value() throws(Failure) -> Range<Int> {
        skipWhitespace()
        let start = index
        guard let first = peek() else { throw Failure("a value is missing", at: index) }
        switch first {
        case Self.quote:
            _ = try string()
        case Self.openBrace, Self.openBracket:
            var closers: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case Self.quote:
                    _ = try string()
                    continue
                case Self.openBrace, Self.openBracket:
                    closers.append(byte == Self.openBrace ? Self.closeBrace : Self.closeBracket)
                    guard closers.count <= Self.maximumDepth else {
                        throw Failure("nesting deeper than \(Self.maximumDepth)", at: index)
                    }
                case Self.closeBrace, Self.closeBracket:
                    guard closers.last == byte else {
                        throw Failure("unbalanced '\(Character(.init(byte)))'", at: index)
                    }
                    closers.removeLast()
                    if closers.isEmpty {
                        index += 1
                        return start..<index
                    }
                default:
                    break
                }
                index += 1
            }
            throw Failure("an object or array is not closed", at: start)
        default:
            while index < bytes.count, Self.isLiteralByte(bytes[index]) { index += 1 }
            guard index > start else { throw Failure("unexpected '\(Character(.init(first)))'", at: start) }
        }
        return start..<index
    }

    /// Skips a string at the current position, checking its escapes; returns the range between the quotes.
    private mutating func string() throws(Failure) -> Range<Int> {
        let start = index
        try expect(Self.quote, "a string expected")
        let contentStart = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == Self.quote {
                index += 1
                return contentStart..<(index - 1)
            }
            if byte == Self.backslash {
                guard index + 1 < bytes.count else { break }
                switch bytes[index + 1] {
                case Self.quote, Self.backslash, UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 5 < bytes.count, bytes[(index + 2)...(index + 5)].allSatisfy({ Self.hex($0) != nil })
                    else { throw Failure("an invalid \\u escape", at: index) }
                    index += 6
                default:
                    throw Failure("an invalid escape", at: index)
                }
                continue
            }
            guard byte >= 0x20 else { throw Failure("a control character inside a string", at: index) }
            index += 1
        }
        throw Failure("a string is not closed", at: start)
    }

    private mutating func expect(_ byte: UInt8, _ reason: String) throws(Failure) {
        guard peek() == byte else { throw Failure(reason, at: index) }
        index += 1
    }

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private static func isLiteralByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }

    private static func hex(_ byte: UInt8) -> UInt16? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt16(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt16(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt16(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Decodes the content of a JSON string (between its quotes); nil for an invalid escape, a lone surrogate or
    /// text that is not UTF-8.
    static func decodeString(_ content: ArraySlice<UInt8>) -> String? {
        guard content.contains(backslash) else { return String(validating: content, as: UTF8.self) }
        var units: [UInt16] = []
        var plain: [UInt8] = []
        var output = ""
        func flushPlain() -> Bool {
            guard !plain.isEmpty else { return true }
            guard let text = String(validating: plain, as: UTF8.self) else { return false }
            output += text
            plain.removeAll()
            return true
        }
        func flushUnits() -> Bool {
            guard !units.isEmpty else { return true }
            var text = ""
            for result in decodeUTF16(units) {
                guard let scalar = result else { return false }
                text.unicodeScalars.append(scalar)
            }
            output += text
            units.removeAll()
            return true
        }
        var index = content.startIndex
        while index < content.endIndex {
            let byte = content[index]
            guard byte == backslash else {
                guard flushUnits() else { return nil }
                plain.append(byte)
                index += 1
                continue
            }
            guard index + 1 < content.endIndex else { return nil }
            let escaped = content[index + 1]
            if escaped == UInt8(ascii: "u") {
                guard index + 5 < content.endIndex else { return nil }
                var unit: UInt16 = 0
                for digit in content[(index + 2)...(index + 5)] {
                    guard let value = hex(digit) else { return nil }
                    unit = unit << 4 | value
                }
                guard flushPlain() else { return nil }
                units.append(unit)
                index += 6
                continue
            }
            guard flushUnits() else { return nil }
            switch escaped {
            case quote: plain.append(quote)
            case backslash: plain.append(backslash)
            case UInt8(ascii: "/"): plain.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): plain.append(0x08)
            case UInt8(ascii: "f"): plain.append(0x0C)
            case UInt8(ascii: "n"): plain.append(0x0A)
            case UInt8(ascii: "r"): plain.append(0x0D)
            case UInt8(ascii: "t"): plain.append(0x09)
            default: return nil
            }
            index += 2
        }
        guard flushUnits(), flushPlain() else { return nil }
        return output
    }
}

/// Decodes UTF-16 code units; a nil element marks a lone surrogate.
private func decodeUTF16(_ units: [UInt16]) -> [Unicode.Scalar?] {
    var iterator = units.makeIterator()
    var decoder = UTF16()
    var scalars: [Unicode.Scalar?] = []
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): scalars.append(scalar)
        case .error: scalars.append(nil)
        case .emptyInput: return scalars
        }
    }
}
