import Foundation
import PayFleetMessages
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    @Test("parses every kind of value, escapes and surrogate pairs included")
    func parses() throws {
        let text = #"""
             {"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\u4E2D\ud83d\ude00é","n":[0,-1,12.5e-3,1E+2,9223372036854775807],
              "t":true,"f":false,"z":null,"o":{"a":[{}],"b":[]}}
            """#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["s"]?.string == "a\"b\\c/d\u{08}\u{0C}\n\r\té中😀é")
        #expect(value["n"] == .array([.number("0"), .number("-1"), .number("12.5e-3"), .number("1E+2"), .number("9223372036854775807")]))
        #expect(value["t"] == .bool(true) && value["f"] == .bool(false) && value["z"] == .null)
        #expect(value["o"]?["a"] == .array([.object([])]) && value["o"]?["b"] == .array([]))
        #expect(value["missing"] == nil)
    }

    @Test("reads integers exactly and refuses fractions, exponents and out-of-range values as Int64")
    func integers() throws {
        #expect(JSONValue.number("9223372036854775807").int64 == Int64.max)
        #expect(JSONValue.number("-9223372036854775808").int64 == Int64.min)
        #expect(JSONValue.number("9223372036854775808").int64 == nil)
        #expect(JSONValue.number("100.0").int64 == nil)
        #expect(JSONValue.number("1e2").int64 == nil)
        let object = try JSONValue.parse(Array(#"{"a":1,"b":"1","c":null,"d":{"x":1}}"#.utf8))
        #expect(try object.optionalInt64("a") == 1)
        #expect(try object.optionalInt64("c") == nil)
        #expect(try object.optionalInt64("missing") == nil)
        #expect(throws: JSONValue.FieldError(field: "b", expected: "a whole number within Int64")) { try object.optionalInt64("b") }
        #expect(throws: JSONValue.FieldError(field: "a", expected: "a string")) { try object.optionalString("a") }
        #expect(throws: JSONValue.FieldError(field: "a", expected: "an object")) { try object.optionalObject("a") }
        #expect(throws: JSONValue.FieldError(field: "c", expected: "present (a string)")) { try object.requiredString("c") }
        #expect(try object.optionalObject("d")?["x"] == .number("1"))
    }

    @Test(
        "refuses what is not JSON, with the offset where it stopped",
        arguments: [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":1}x", "01", "1.", ".5", "-", "1e", "+1",
            "tru", "nul", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"a\u{01}\"",
            "{\"a\":1,\"a\":2}", "\u{FEFF}{}", "[1 2]", "NaN", "Infinity",
        ])
    func refuses(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test("refuses invalid UTF-8 in a string and nesting deeper than the limit")
    func refusesBytes() throws {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0x5C, 0x6E, 0xFF, 0x22]) }
        let limit = JSONValue.maximumDepth
        #expect(throws: Never.self) { try JSONValue.parse(Array((String(repeating: "[", count: limit) + String(repeating: "]", count: limit)).utf8)) }
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(Array((String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)).utf8))
        }
        let error = try #require(throws: JSONParseError.self) { try JSONValue.parse(Array(#"{"a":1,"a":2}"#.utf8)) }
        #expect(error.offset == 7 && error.reason == "duplicate key")
    }

    @Test("finds a duplicate key in a large object")
    func duplicateInLargeObject() {
        let members = (0..<40).map { "\"k\($0)\":\($0)" }
        #expect(throws: Never.self) { try JSONValue.parse(Array(("{" + members.joined(separator: ",") + "}").utf8)) }
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(Array(("{" + (members + ["\"k3\":0"]).joined(separator: ",") + "}").utf8))
        }
    }
}

@Suite("PaymentNotification JSON without Foundation's coders")
struct PaymentNotificationJSONTests {
    static let awkward = "\"\\/\u{00}\u{01}\u{08}\u{09}\u{0A}\u{0B}\u{0C}\u{0D}\u{1F}\u{7F} é中😀\u{2028}"

    static let samples: [PaymentNotification] = [
        PaymentNotification(
            id: "4200000001", channel: .wechatpay, merchant: "demo", kind: .succeeded, paymentNo: "P1",
            channelTradeNo: "T1", amountMinor: 100, currency: "CNY", occurredAt: Date(timeIntervalSince1970: 1_795_000_000),
            raw: #"{"mchid":"1900000109","amount":{"total":100}}"#),
        PaymentNotification(
            id: awkward, channel: .baidu, merchant: awkward, kind: .closed, paymentNo: awkward, channelTradeNo: "",
            amountMinor: Int64.max, currency: "usd", occurredAt: Date(timeIntervalSince1970: 0), raw: awkward,
            payerID: awkward),
        PaymentNotification(
            id: "evt_1", channel: .stripe, merchant: "m", kind: .succeeded, paymentNo: "p", channelTradeNo: "pi_1",
            amountMinor: -1, currency: "EUR", occurredAt: Date(timeIntervalSince1970: 2_000_000_000.75), raw: "", payerID: ""),
    ]

    @Test("encodes the same bytes as PayFleetJSON's encoder", arguments: samples)
    func encodesLikeFoundation(_ notification: PaymentNotification) throws {
        #expect(notification.encodedJSON() == (try PayFleetJSON.encode(notification)))
    }

    @Test("encodes order.paid as PayFleetJSON's encoder does", arguments: samples)
    func orderPaidLikeFoundation(_ notification: PaymentNotification) throws {
        let event = OrderPaid(
            orderNo: notification.merchant, paymentNo: notification.paymentNo, channel: notification.channel,
            channelTradeNo: notification.channelTradeNo, amountMinor: notification.amountMinor,
            currency: notification.currency, paidAt: notification.occurredAt)
        #expect(event.encodedJSON() == (try PayFleetJSON.encode(event)))
    }

    @Test("decodes what PayFleetJSON's encoder wrote to the same notification", arguments: samples)
    func decodesLikeFoundation(_ notification: PaymentNotification) throws {
        let bytes = try PayFleetJSON.encode(notification)
        let decoded = try PaymentNotification(json: bytes)
        #expect(decoded == (try PayFleetJSON.decode(PaymentNotification.self, from: bytes)))
        #expect(try PaymentNotification(json: notification.encodedJSON()) == decoded)
    }

    @Test("ignores unknown fields and reads null payer_id as none")
    func lenientWhereCodableIs() throws {
        let text = #"""
            {"amount_minor":5,"channel":"alipay","channel_trade_no":"T","currency":"CNY","id":"n","kind":"succeeded",
             "merchant":"m","occurred_at":"2026-11-23T10:00:00.250+08:00","payer_id":null,"payment_no":"P","raw":"r",
             "extra":{"nested":[1,2]}}
            """#
        let notification = try PaymentNotification(json: Array(text.utf8))
        #expect(notification == (try PayFleetJSON.decode(PaymentNotification.self, from: Array(text.utf8))))
        #expect(notification.payerID == nil && notification.amountMinor == 5 && notification.channel == .alipay)
    }

    @Test(
        "names what is wrong with a body that is not a PaymentNotification",
        arguments: [
            ("[]", "not a JSON object"),
            ("{", "not JSON: expected a key string at byte 1"),
            (#"{"channel":"paypal","kind":"succeeded"}"#, "channel 'paypal' is not a PayFleet channel"),
            (#"{"channel":"stripe","kind":"paid"}"#, "kind 'paid' is not succeeded or closed"),
            (#"{"channel":"stripe","kind":"closed","occurred_at":"yesterday"}"#, "occurred_at 'yesterday' is not an ISO 8601 date-time"),
            (#"{"channel":"stripe","kind":"closed","occurred_at":"2026-11-23T10:00:00Z"}"#, "id is not present (a string)"),
            (
                #"{"channel":"stripe","kind":"closed","occurred_at":"2026-11-23T10:00:00Z","id":"i","merchant":"m","payment_no":"p","channel_trade_no":"t","amount_minor":1.5}"#,
                "amount_minor is not a whole number within Int64"
            ),
        ])
    func rejects(_ body: String, _ message: String) {
        #expect(throws: PayFleetJSON.DecodeError(description: message)) { try PaymentNotification(json: Array(body.utf8)) }
        #expect(throws: (any Error).self) { try PayFleetJSON.decode(PaymentNotification.self, from: Array(body.utf8)) }
    }
}
