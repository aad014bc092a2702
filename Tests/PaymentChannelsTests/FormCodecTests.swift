import PaymentChannels
import Testing

@Suite("FormCodec")
struct FormCodecTests {
    @Test("decodes plus and %20 to a space, percent escapes as UTF-8")
    func decodes() throws {
        let pairs = try FormCodec.decode(Array("a=x+y&b=x%20y&c=%E4%B8%AD%E6%96%87&d=%2B%26%3D&e=&f".utf8))
        #expect(pairs.map(\.key) == ["a", "b", "c", "d", "e", "f"])
        #expect(pairs.map(\.value) == ["x y", "x y", "中文", "+&=", "", ""])
    }

    @Test("skips empty segments and splits on the first =")
    func segments() throws {
        let pairs = try FormCodec.decode(Array("&a=1&&b=2=3&".utf8))
        #expect(pairs.map(\.key) == ["a", "b"])
        #expect(pairs.map(\.value) == ["1", "2=3"])
        #expect(try FormCodec.decode([UInt8]()).isEmpty)
    }

    @Test(
        "rejects invalid percent escapes and text that is not UTF-8",
        arguments: ["a=%", "a=%4", "a=%GG", "a=%e4%b8", "a=%FF", "%zz=1"])
    func rejects(_ body: String) {
        #expect {
            try FormCodec.decode(Array(body.utf8))
        } throws: { error in
            (error as? ChannelError)?.code == .malformedBody
        }
    }

    @Test("encodes all but letters, digits and *-._; space as +")
    func encodes() throws {
        #expect(FormCodec.encodeComponent("a b+c&d=e中~") == "a+b%2Bc%26d%3De%E4%B8%AD%7E")
        #expect(FormCodec.encode([(key: "b", value: "2"), (key: "a", value: "1 1")]) == "b=2&a=1+1")
        #expect(FormCodec.encode(["b": "2", "a": "1", "B": "3"]) == "B=3&a=1&b=2")
        let original = ["subject": "中文 订单 + & = % ?", "k": "v"]
        let decoded = try FormCodec.decode(Array(FormCodec.encode(original).utf8))
        #expect(Dictionary(uniqueKeysWithValues: decoded.map { ($0.key, $0.value) }) == original)
    }
}
