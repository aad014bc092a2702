/// A JSON document parsed strictly (RFC 8259, UTF-8) without Foundation, for the hot paths that read a few fields of
/// small documents: the receiver's WeChat Pay envelope and resource, the fulfilment-worker's notifications.
/// Foundation's `JSONDecoder` took ~10% of the receiver's CPU for those reads (`scripts/bench --profile`).
///
/// Stricter than Foundation where the difference cannot matter to a well-formed sender: a duplicate key in an object,
/// a byte-order mark, invalid UTF-8, a lone surrogate escape and nesting deeper than ``maximumDepth`` are errors.
/// Numbers keep the literal as written; ``int64`` reads an integer literal exactly (never through a Double).
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's literal, as written (already checked against JSON's number grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; keys are unique.
    case object([JSONMember])

    /// Nesting deeper than this is refused (notifications nest 2–3 levels).
    public static let maximumDepth = 64

    /// Parses one JSON value with optional surrounding whitespace.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let parsed: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            var parser = JSONParser(buffer)
            return Result { () throws(JSONParseError) in try parser.document() }
        }
        if let parsed { return try parsed.get() }
        return try parse(Array(bytes))
    }

    /// The member named `key` of an object; nil when absent or when this is not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// The text of a string value.
    public var string: String? {
        if case .string(let text) = self { text } else { nil }
    }

    /// An integer literal (no fraction, no exponent) within Int64's range.
    public var int64: Int64? {
        guard case .number(let literal) = self, !literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
            return nil
        }
        return Int64(literal)
    }

    public var isNull: Bool { self == .null }
}

/// One `"key": value` of an object.
public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// Why a document is not JSON, with the byte offset where parsing stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int

    public var description: String { "\(reason) at byte \(offset)" }
}

/// Reading fields of a parsed object the way a `Decodable` with optional properties would: absent and `null` are nil,
/// a value of another type is an error.
extension JSONValue {
    /// Why a field has the wrong type or is missing.
    public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
        public var field: String
        public var expected: String

        public init(field: String, expected: String) {
            self.field = field
            self.expected = expected
        }

        public var description: String { "\(field) is not \(expected)" }
    }

    public func optionalString(_ key: String) throws(FieldError) -> String? {
        guard let value = self[key], !value.isNull else { return nil }
        guard let text = value.string else { throw FieldError(field: key, expected: "a string") }
        return text
    }

    public func optionalInt64(_ key: String) throws(FieldError) -> Int64? {
        guard let value = self[key], !value.isNull else { return nil }
        guard let number = value.int64 else { throw FieldError(field: key, expected: "a whole number within Int64") }
        return number
    }

    /// A nested object, or nil when absent or null.
    public func optionalObject(_ key: String) throws(FieldError) -> JSONValue? {
        guard let value = self[key], !value.isNull else { return nil }
        guard case .object = value else { throw FieldError(field: key, expected: "an object") }
        return value
    }

    public func requiredString(_ key: String) throws(FieldError) -> String {
        guard let text = try optionalString(key) else { throw FieldError(field: key, expected: "present (a string)") }
        return text
    }

    public func requiredInt64(_ key: String) throws(FieldError) -> Int64 {
        guard let number = try optionalInt64(key) else { throw FieldError(field: key, expected: "present (a whole number)") }
        return number
    }
}

/// A recursive-descent parser over the document's bytes.
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    func fail(_ reason: String) -> JSONParseError {
        JSONParseError(reason: reason, offset: index)
    }

    mutating func document() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try self.value()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected bytes after the JSON value") }
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of the document") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected byte \(bytes[index])")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw fail("unexpected end of the document") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw fail("invalid literal")
        }
        index += count
    }

    mutating func nest() throws(JSONParseError) {
        depth += 1
        guard depth <= JSONValue.maximumDepth else { throw fail("nested deeper than \(JSONValue.maximumDepth) levels") }
    }

    mutating func object() throws(JSONParseError) -> JSONValue {
        try nest()
        defer { depth -= 1 }
        index += 1  // {
        var members: [JSONMember] = []
        var keys: Set<String>? = nil  // only for large objects; small ones are checked by a scan
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key string") }
            let keyStart = index
            let key = try string()
            if members.count < 16 {
                if members.contains(where: { $0.key == key }) {
                    index = keyStart
                    throw fail("duplicate key")
                }
            } else {
                if keys == nil { keys = Set(members.map(\.key)) }
                guard keys!.insert(key).inserted else {
                    index = keyStart
                    throw fail("duplicate key")
                }
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            members.append(JSONMember(key: key, value: try value()))
            if try closes(UInt8(ascii: "}")) { return .object(members) }
        }
    }

    mutating func array() throws(JSONParseError) -> JSONValue {
        try nest()
        defer { depth -= 1 }
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value())
            if try closes(UInt8(ascii: "]")) { return .array(elements) }
        }
    }

    /// After a member or an element: true when `bracket` closes the container (consumed), false after a comma.
    mutating func closes(_ bracket: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of the document") }
        switch bytes[index] {
        case UInt8(ascii: ","):
            index += 1
            return false
        case bracket:
            index += 1
            return true
        default:
            throw fail("expected ',' or '\(Character(Unicode.Scalar(bracket)))'")
        }
    }

    mutating func number() throws(JSONParseError) -> String {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.index
            while parser.index < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index]) {
                parser.index += 1
            }
            return parser.index - from
        }
        guard index < bytes.count else { throw fail("a number needs digits") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits(&self) == 0 {
            throw fail("a number needs digits")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw fail("a fraction needs digits") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw fail("an exponent needs digits") }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    /// A string starting at the opening quote; leaves `index` after the closing quote.
    mutating func string() throws(JSONParseError) -> String {
        index += 1  // "
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                else { throw fail("a string is not valid UTF-8") }
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw fail("a control character in a string must be escaped") }
            index += 1
        }
        guard index < bytes.count else { throw fail("unterminated string") }
        var utf8 = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw fail("unterminated escape") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { throw fail("a high surrogate escape without its low surrogate") }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("a high surrogate escape without its low surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("a lone low surrogate escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw fail("an invalid \\u escape") }
                    utf8.append(contentsOf: UTF8.encode(unicode)!)
                default:
                    throw fail("an invalid escape")
                }
            default:
                // The run up to the next quote, backslash or control character, copied at once.
                let run = index
                while index < bytes.count {
                    let next = bytes[index]
                    if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next < 0x20 { break }
                    index += 1
                }
                guard index > run else { throw fail("a control character in a string must be escaped") }
                utf8.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index]))
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw fail("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
