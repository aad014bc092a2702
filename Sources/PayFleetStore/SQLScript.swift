/// Splits a SQL file into its statements.
///
/// postgres-nio speaks only the extended query protocol, which runs one statement per
/// query, so a migration file is split at every `;` that is not inside a comment
/// (`--`, nested `/* */`), a string (`'…'`, `E'…'`), a quoted identifier (`"…"`) or a
/// dollar-quoted body (`$$…$$`, `$tag$…$tag$`). Statements holding only whitespace and
/// comments are dropped.
enum SQLScript {
    static func statements(in sql: String) -> [String] {
        let chars = Array(sql.unicodeScalars)
        var statements: [String] = []
        var start = 0
        var hasCode = false  // the current statement has something besides whitespace and comments
        var i = 0

        func isIdentifierChar(_ c: Unicode.Scalar) -> Bool {
            c == "_" || c == "$" || c.properties.isAlphabetic || ("0"..."9").contains(c)
        }
        func isTagStart(_ c: Unicode.Scalar) -> Bool {
            c == "_" || c.properties.isAlphabetic
        }
        func flush(upTo end: Int) {
            if hasCode {
                var text = String(String.UnicodeScalarView(chars[start..<end]))
                while let last = text.last, last.isWhitespace { text.removeLast() }
                while let first = text.first, first.isWhitespace { text.removeFirst() }
                statements.append(text)
            }
            hasCode = false
        }

        while i < chars.count {
            let c = chars[i]
            let next: Unicode.Scalar? = i + 1 < chars.count ? chars[i + 1] : nil
            switch c {
            case "-" where next == "-":
                while i < chars.count, chars[i] != "\n" { i += 1 }
            case "/" where next == "*":
                var depth = 0
                repeat {
                    if chars[i] == "/", i + 1 < chars.count, chars[i + 1] == "*" {
                        depth += 1
                        i += 2
                    } else if chars[i] == "*", i + 1 < chars.count, chars[i + 1] == "/" {
                        depth -= 1
                        i += 2
                    } else {
                        i += 1
                    }
                } while depth > 0 && i < chars.count
            case "'":
                hasCode = true
                let escapes =
                    i > 0 && (chars[i - 1] == "E" || chars[i - 1] == "e")
                    && (i < 2 || !isIdentifierChar(chars[i - 2]))
                i += 1
                while i < chars.count {
                    if escapes, chars[i] == "\\" {
                        i += 2
                    } else if chars[i] == "'" {
                        if i + 1 < chars.count, chars[i + 1] == "'" {
                            i += 2
                        } else {
                            i += 1
                            break
                        }
                    } else {
                        i += 1
                    }
                }
            case "\"":
                hasCode = true
                i += 1
                while i < chars.count {
                    if chars[i] == "\"" {
                        if i + 1 < chars.count, chars[i + 1] == "\"" {
                            i += 2
                        } else {
                            i += 1
                            break
                        }
                    } else {
                        i += 1
                    }
                }
            case "$" where i == 0 || !isIdentifierChar(chars[i - 1]):
                hasCode = true
                // $tag$ where tag is empty or an identifier that does not start with a digit.
                var j = i + 1
                if j < chars.count, isTagStart(chars[j]) {
                    while j < chars.count, chars[j] != "$", isIdentifierChar(chars[j]) { j += 1 }
                }
                guard j < chars.count, chars[j] == "$" else {
                    i += 1  // a parameter such as $1, or a lone $
                    continue
                }
                let tag = Array(chars[i...j])
                i = j + 1
                while i < chars.count {
                    if chars[i] == "$", i + tag.count <= chars.count, Array(chars[i..<(i + tag.count)]) == tag {
                        i += tag.count
                        break
                    }
                    i += 1
                }
            case ";":
                flush(upTo: i)
                i += 1
                start = i
            default:
                if !c.properties.isWhitespace { hasCode = true }
                i += 1
            }
        }
        flush(upTo: chars.count)
        return statements
    }
}
