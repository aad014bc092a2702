import Foundation

/// The flat XML WeChat Pay v2 speaks: one root element holding `<key>value</key>` children, values as
/// text or CDATA. Nothing else is accepted, so nothing can reach outside the body (no XXE).
///
/// Refused with ``ChannelError/Code/malformedBody``: `<!DOCTYPE`, `<!ENTITY` and every other `<!…`
/// markup but `<![CDATA[`, comments, processing instructions other than a leading XML declaration,
/// entity references other than `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` (numeric character references
/// are decoded), attributes, nested elements, repeated keys, text outside the children and bytes that
/// are not UTF-8.
public enum SimpleXML {
    /// Parses `<root><k>v</k>…</root>` into the root's name and its children in order. A leading
    /// `<?xml …?>` declaration and whitespace between elements are allowed; `<k/>` is an empty value.
    public static func parse(
        _ body: some Collection<UInt8>
    ) throws(ChannelError) -> (root: String, fields: [(key: String, value: String)]) {
        var parser = Parser(bytes: Array(body))
        return try parser.document()
    }

    /// `<root><k><![CDATA[v]]></k>…</root>` in the given order; a `]]>` inside a value is split across
    /// two CDATA sections. Keys must be XML names (WeChat Pay's are ASCII letters, digits and `_`).
    public static func render(root: String = "xml", _ fields: [(key: String, value: String)]) -> String {
        var output = "<\(root)>"
        for field in fields {
            output += "<\(field.key)><![CDATA["
            output += cdataContent(field.value)
            output += "]]></\(field.key)>"
        }
        return output + "</\(root)>"
    }

    /// `value` with every `]]>` split across two CDATA sections. Matched on Unicode scalars, not Characters: a
    /// `>` followed by a combining mark is one Character, which a String search for "]]>" does not find (libFuzzer
    /// found that: the value `x]]>\u{0592}` rendered unsplit and came back changed).
    static func cdataContent(_ value: String) -> String {
        var output = String.UnicodeScalarView()
        var closingBrackets = 0
        for scalar in value.unicodeScalars {
            if scalar == ">" && closingBrackets >= 2 {
                output.append(contentsOf: "]]><![CDATA[>".unicodeScalars)
                closingBrackets = 0
                continue
            }
            closingBrackets = scalar == "]" ? closingBrackets + 1 : 0
            output.append(scalar)
        }
        return String(output)
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func document() throws(ChannelError) -> (root: String, fields: [(key: String, value: String)]) {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
            skipWhitespace()
            if hasPrefix("<?xml") {
                let after = index + 5
                guard after < bytes.count, isWhitespace(bytes[after]) || bytes[after] == UInt8(ascii: "?") else {
                    throw .malformed("XML processing instructions are refused")
                }
                guard let end = find("?>", from: after) else { throw .malformed("XML declaration is not closed") }
                index = end + 2
            }
            skipWhitespace()
            try refuseMarkup()
            let root = try openTag()
            var fields: [(key: String, value: String)] = []
            var seen = Set<String>()
            guard !root.selfClosing else {
                try expectEnd()
                return (root.name, fields)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw .malformed("XML root element <\(root.name)> is not closed") }
                if hasPrefix("</") {
                    try closeTag(root.name)
                    break
                }
                guard bytes[index] == UInt8(ascii: "<") else {
                    throw .malformed("XML has text outside the fields", detail: "at byte \(index)")
                }
                try refuseMarkup()
                let child = try openTag()
                let value = child.selfClosing ? "" : try content(closing: child.name)
                guard seen.insert(child.name).inserted else {
                    throw .malformed("XML repeats a field", detail: "field \(child.name.prefix(40))")
                }
                fields.append((key: child.name, value: value))
            }
            try expectEnd()
            return (root.name, fields)
        }

        /// Throws for `<!…` (DOCTYPE, ENTITY, comments) and `<?…` at `index`.
        func refuseMarkup() throws(ChannelError) {
            if hasPrefix("<!DOCTYPE") || hasPrefix("<!doctype") {
                throw .malformed("XML with a DOCTYPE is refused (no external entities)")
            }
            if hasPrefix("<!ENTITY") { throw .malformed("XML entity declarations are refused") }
            if hasPrefix("<!") { throw .malformed("XML markup declarations and comments are refused") }
            if hasPrefix("<?") { throw .malformed("XML processing instructions are refused") }
        }

        mutating func openTag() throws(ChannelError) -> (name: String, selfClosing: Bool) {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else {
                throw .malformed("XML element expected", detail: "at byte \(index)")
            }
            index += 1
            let name = try self.name()
            skipWhitespace()
            guard index < bytes.count else { throw .malformed("XML tag <\(name)> is not closed") }
            if bytes[index] == UInt8(ascii: ">") {
                index += 1
                return (name, false)
            }
            if hasPrefix("/>") {
                index += 2
                return (name, true)
            }
            throw .malformed("XML attributes are refused", detail: "element \(name.prefix(40))")
        }

        mutating func closeTag(_ expected: String) throws(ChannelError) {
            guard hasPrefix("</") else { throw .malformed("XML element <\(expected)> is not closed") }
            index += 2
            let name = try self.name()
            skipWhitespace()
            guard name == expected, index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                throw .malformed("XML element <\(expected.prefix(40))> is closed by another tag")
            }
            index += 1
        }

        mutating func name() throws(ChannelError) -> String {
            let start = index
            while index < bytes.count, isNameByte(bytes[index], first: index == start) {
                index += 1
            }
            guard index > start else { throw .malformed("XML element name expected", detail: "at byte \(start)") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// Text and CDATA up to `</closing>`; a nested element is refused.
        mutating func content(closing: String) throws(ChannelError) -> String {
            var output: [UInt8] = []
            while true {
                guard index < bytes.count else { throw .malformed("XML element <\(closing.prefix(40))> is not closed") }
                let byte = bytes[index]
                if hasPrefix("<![CDATA[") {
                    guard let end = find("]]>", from: index + 9) else { throw .malformed("XML CDATA is not closed") }
                    output += bytes[(index + 9)..<end]
                    index = end + 3
                } else if hasPrefix("</") {
                    try closeTag(closing)
                    break
                } else if byte == UInt8(ascii: "<") {
                    try refuseMarkup()
                    throw .malformed("nested XML elements are refused", detail: "in field \(closing.prefix(40))")
                } else if byte == UInt8(ascii: "&") {
                    output += try reference()
                } else {
                    output.append(byte)
                    index += 1
                }
            }
            guard let text = String(validating: output, as: UTF8.self) else {
                throw .malformed("XML field is not UTF-8", detail: "field \(closing.prefix(40))")
            }
            return text
        }

        /// One of the five predefined entities or a numeric character reference, as UTF-8.
        mutating func reference() throws(ChannelError) -> [UInt8] {
            guard let end = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                throw .malformed("XML has a bare '&' or an unterminated reference", detail: "at byte \(index)")
            }
            let name = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
            index = end + 1
            switch name {
            case "lt": return [UInt8(ascii: "<")]
            case "gt": return [UInt8(ascii: ">")]
            case "amp": return [UInt8(ascii: "&")]
            case "quot": return [UInt8(ascii: "\"")]
            case "apos": return [UInt8(ascii: "'")]
            default: break
            }
            var value: UInt32?
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                value = UInt32(name.dropFirst(2), radix: 16)
            } else if name.hasPrefix("#") {
                value = UInt32(name.dropFirst(), radix: 10)
            } else {
                throw .malformed("XML entity references other than the predefined five are refused")
            }
            guard let value, value != 0, let scalar = Unicode.Scalar(value) else {
                throw .malformed("XML character reference is not a valid character")
            }
            return Array(String(Character(scalar)).utf8)
        }

        mutating func expectEnd() throws(ChannelError) {
            skipWhitespace()
            guard index == bytes.count else { throw .malformed("XML has content after the root element") }
        }

        mutating func skipWhitespace() {
            while index < bytes.count, isWhitespace(bytes[index]) {
                index += 1
            }
        }

        func hasPrefix(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            return text.withUTF8Buffer { prefix in
                for offset in 0..<count where bytes[index + offset] != prefix[offset] {
                    return false
                }
                return true
            }
        }

        func find(_ text: StaticString, from start: Int) -> Int? {
            let needle = text.withUTF8Buffer { Array($0) }
            guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
            var position = start
            while position <= bytes.count - needle.count {
                if bytes[position] == needle[0], Array(bytes[position..<(position + needle.count)]) == needle {
                    return position
                }
                position += 1
            }
            return nil
        }

        func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
        }

        /// ASCII name characters, plus any non-ASCII byte (names are compared as text, never resolved).
        func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"),
                UInt8(ascii: ":"), 0x80...0xFF:
                true
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."): !first
            default: false
            }
        }
    }
}
