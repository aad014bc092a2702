import PaymentChannels
import Testing

@Suite("Alipay response extraction")
struct AlipayResponseExtractorTests {
    static let method = "alipay.trade.query"

    func extract(_ body: String, method: String = method) throws -> AlipayResponseExtractor.Extract {
        try AlipayResponseExtractor.extract(Array(body.utf8), method: method)
    }

    func expectMalformed(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: ChannelAPIError.self, sourceLocation: sourceLocation) {
            try AlipayResponseExtractor.extract(Array(body.utf8), method: Self.method)
        }
        #expect(error?.code == .malformedResponse, sourceLocation: sourceLocation)
        #expect(error?.isTransient == true, sourceLocation: sourceLocation)
        #expect(error?.operation == Self.method, sourceLocation: sourceLocation)
    }

    @Test("the member name is the method with dots as underscores, plus _response")
    func responseKey() {
        #expect(AlipayResponseExtractor.responseKey(method: "alipay.trade.query") == "alipay_trade_query_response")
        #expect(
            AlipayResponseExtractor.responseKey(method: "alipay.trade.fastpay.refund.query")
                == "alipay_trade_fastpay_refund_query_response")
    }

    @Test("the exact text is kept: braces, quotes, backslashes and member names inside strings do not cut it")
    func stringsWithStructure() throws {
        let member =
            #"{"code":"10000","msg":"Success","subject":"a}b\"c{d\\","body":"],\"sign\":\"x\"}","#
            + #""note":"alipay_trade_query_response","trade_status":"TRADE_SUCCESS"}"#
        let result = try extract(#"{"alipay_trade_query_response":"# + member + #","sign":"c2lnbg=="}"#)
        #expect(result.kind == .response)
        #expect(result.text == member)
        #expect(result.sign == "c2lnbg==")
    }

    @Test("nested objects and arrays are kept whole")
    func nested() throws {
        let member =
            #"{"code":"10000","fund_bill_list":[{"amount":"88.88","fund_channel":"ALIPAYACCOUNT","x":[[1,2],{"y":{}}]}],"#
            + #""ext":{"a":{"b":{"c":"}]"}}},"point_amount":"0.00","n":-1.5e3,"t":true,"f":false,"z":null}"#
        let result = try extract(#"{"sign":"s","alipay_trade_query_response":"# + member + "}")
        #expect(result.text == member)
    }

    @Test("unicode as UTF-8 and as \\u escapes is kept byte for byte")
    func unicode() throws {
        let member = #"{"code":"10000","subject":"中文 测试 😀","escaped":"\u4e2d\u6587 \ud83d\ude00","tab":"\t"}"#
        let result = try extract(#"{"alipay_trade_query_response":"# + member + #","sign":"s"}"#)
        #expect(result.content == Array(member.utf8))
    }

    @Test("the member may come after sign, with whitespace anywhere between tokens")
    func order() throws {
        let member = #"{ "code" : "10000" , "msg" : "Success" }"#
        let body =
            "\u{FEFF}\n { \"sign\" : \"a\\/b+c==\" ,\n\t\"alipay_trade_query_response\" : " + member + " ,"
            + " \"alipay_cert_sn\":\"abc\" } \n"
        let result = try extract(body)
        #expect(result.text == member)
        #expect(result.sign == "a/b+c==")
    }

    @Test("error_response is found when the method's member is absent")
    func errorResponse() throws {
        let member = #"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}"#
        let result = try extract(#"{"error_response":"# + member + "}")
        #expect(result == .init(kind: .errorResponse, content: Array(member.utf8), sign: nil))

        let both = try extract(#"{"error_response":{"code":"20000"},"alipay_trade_query_response":{"code":"10000"}}"#)
        #expect(both.kind == .response)
        #expect(both.text == #"{"code":"10000"}"#)
    }

    @Test("another method's response is not taken for this one")
    func otherMethod() {
        expectMalformed(#"{"alipay_trade_close_response":{"code":"10000"},"sign":"s"}"#)
    }

    @Test(
        "malformed bodies are refused",
        arguments: [
            "",
            "[]",
            "<html>502 Bad Gateway</html>",
            #"{"alipay_trade_query_response":{"code":"10000"}"#,
            #"{"alipay_trade_query_response":{"code":"10000"}} trailing"#,
            #"{"alipay_trade_query_response":{"code":"10000}}"#,
            #"{"alipay_trade_query_response":{"code":"10000"]}"#,
            #"{"alipay_trade_query_response":{"code":"10000"},"alipay_trade_query_response":{"code":"10000"}}"#,
            #"{"alipay_trade_query_response":{"code":"10000"},"sign":"a","sign":"b"}"#,
            #"{"alipay_trade_query_response":"not an object"}"#,
            #"{"alipay_trade_query_response":{"code":"10000"},"sign":123}"#,
            #"{"alipay_trade_query_response":{"code":"\x"}}"#,
            #"{"alipay_trade_query_response":{"code":"\u12"}}"#,
            "{\"alipay_trade_query_response\":{\"code\":\"a\nb\"}}",
            #"{"alipay_trade_query_response" {"code":"10000"}}"#,
            #"{"alipay_trade_query_response":{"code":"10000"},}"#,
            #"{"sign":"s"}"#,
            #"{}"#,
        ])
    func malformed(body: String) {
        expectMalformed(body)
    }

    @Test("deep nesting is bounded")
    func depth() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        expectMalformed(#"{"alipay_trade_query_response":{"x":"# + deep + "}}")
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try extract(#"{"alipay_trade_query_response":{"x":"# + fine + "}}") }
    }
}
