import Foundation
import Testing

@testable import PaymentChannels

/// The bill parsers against the channels' documented samples, their renderers round-tripped through them, and
/// hostile input (every failure a ``ChannelError`` with code `malformed_body`, never a trap).
@Suite("Bill parsers")
struct BillParsersTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bills")

    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    static func cst(_ text: String) -> Date { ChinaStandardTime.parse(text)! }

    /// Runs `body`, which must throw a ``ChannelError`` with code `malformed_body`.
    static func expectMalformed(
        _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any
    ) {
        do {
            _ = try body()
            Issue.record("no error thrown: \(comment?.rawValue ?? "")", sourceLocation: sourceLocation)
        } catch let error as ChannelError {
            #expect(error.code == .malformedBody, comment, sourceLocation: sourceLocation)
        } catch {
            Issue.record("not a ChannelError: \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: WeChat Pay

    /// The current `ALL` format, as WeChat's own documentation of `downloadbill` shows it:
    /// https://developers.weixin.qq.com/minigame/dev/wxcloudrun/src/development/pay/order/bill.html
    /// (the summary's `12` counts the whole day; the page shows one line of it).
    static let weChatCurrentSample = """
        交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,\
        应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,\
        费率,订单金额,申请退款金额,费率备注
        `2022-03-21 13:51:31,`wxfdc955f7104ad557,`180023671,`176531292,`,`420000612032130748613220688,\
        `2021WERUN1647840687637,`oZWaCKXip5njeEiloC4oeOV1TTsk,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,\
        `0.00,`,`,`微信云托管支付测试,`,`0.00000,`0.90%,`0.01,`0.00,`
        总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
        `12,`0.06,`0.06,`0.00,`0.00000,`0.06,`0.06

        """

    /// The early format (总金额, no 订单金额), the example of "下载对账单"
    /// https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_6 (as quoted in
    /// https://blog.csdn.net/weixin_33268205/article/details/111897134).
    static let weChatEarlySample = """
        交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,\
        代金券或立减优惠金额,微信退款单号,商户退款单号,退款金额,代金券或立减优惠退款金额,退款类型,退款状态,商品名称,商户数据包,\
        手续费,费率
        `2014-11-10 16:33:45,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,\
        `085e9858e3ba5186aafcbaed1,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,\
        `0.60%
        `2014-11-10 16:46:14,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1002780740201411100005729794,`1415635270,\
        `085e9858e90ca40c0b5aee463,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,\
        `0.60%
        总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额,手续费总金额
        `2,`0.02,`0.0,`0.0,`0
        """

    /// A `bill_type=REFUND` bill (extra 退款申请时间/退款成功时间 columns, so other positions), anonymised from a real
    /// bill in WxJava's tests: https://github.com/binarywang/WxJava/blob/develop/weixin-java-pay/src/test/java/com/
    /// github/binarywang/wxpay/bean/result/WxPayBillResultTest.java. WeChat Pay documents the header at
    /// https://pay.weixin.qq.com/docs/merchant/products/bill-download/format-trade.html.
    static let weChatRefundSample = """
        交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,\
        应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,\
        商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
        `2019-07-23 20:53:36,`xxx,`xxx,`xxx,`,`xxx,`xxxx,`xxxxx,`JSAPI,`REFUND,`CFT,`CNY,`0.00,`0.00,\
        `2019-07-23 20:53:36,`2019-07-23 20:53:40,`xxxx,`xxx,`0.01,`0.00,`ORIGINAL,`SUCCESS,`xxxx,`xxxx,`0.00000,`0.60%,\
        `0.00,`0.01,`
        总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
        `4,`0.00,`2.02,`0.00,`-0.02000,`0.00,`2.02
        """

    @Test("WeChat Pay: the documented current-format sample")
    func weChatCurrentFormat() throws {
        let records = try WeChatPayBill.parse(Array(Self.weChatCurrentSample.utf8))
        #expect(
            records == [
                BillRecord(
                    kind: .payment, paymentNo: "2021WERUN1647840687637", channelTradeNo: "420000612032130748613220688",
                    amountMinor: 1, currency: "CNY", channelStatus: "SUCCESS", at: Self.cst("2022-03-21 13:51:31"))
            ])
    }

    @Test("WeChat Pay: the documented early-format sample (总金额), with \\r\\n line ends")
    func weChatEarlyFormat() throws {
        let text = Self.weChatEarlySample.replacingOccurrences(of: "\n", with: "\r\n")
        let records = try WeChatPayBill.parse(Array(text.utf8))
        #expect(records.map(\.paymentNo) == ["1415640626", "1415635270"])
        #expect(records.map(\.channelTradeNo) == ["1001690740201411100005734289", "1002780740201411100005729794"])
        #expect(records.allSatisfy { $0.kind == .payment && $0.amountMinor == 1 && $0.succeeded })
        #expect(records.first?.at == Self.cst("2014-11-10 16:33:45"))
    }

    @Test("WeChat Pay: a REFUND bill is read by column name; the amount is 申请退款金额")
    func weChatRefundBill() throws {
        let records = try WeChatPayBill.parse(Array(Self.weChatRefundSample.utf8))
        #expect(
            records == [
                BillRecord(
                    kind: .refund, paymentNo: "xxxx", channelTradeNo: "xxx", refundNo: "xxx", amountMinor: 1,
                    currency: "CNY", succeeded: true, channelStatus: "SUCCESS", at: Self.cst("2019-07-23 20:53:36"))
            ])
    }

    @Test("WeChat Pay: a gzip bill (tar_type=GZIP) is inflated first")
    func weChatGzip() throws {
        let records = try WeChatPayBill.parse(try Self.fixture("wechatpay-sample-all.csv.gz"))
        #expect(records.map(\.paymentNo) == ["2021WERUN1647840687637"])
    }

    static let weChatRecords = [
        BillRecord(
            kind: .payment, paymentNo: "PF20261123000001", channelTradeNo: "4200002026112300000001", amountMinor: 8888,
            currency: "CNY", channelStatus: "SUCCESS", at: cst("2026-11-23 10:00:00")),
        BillRecord(
            kind: .refund, paymentNo: "PF20261123000001", channelTradeNo: "4200002026112300000001",
            refundNo: "RF20261123000001", amountMinor: 1000, currency: "CNY", succeeded: true, channelStatus: "SUCCESS",
            at: cst("2026-11-23 11:00:00")),
        BillRecord(
            kind: .refund, paymentNo: "PF20261123000001", channelTradeNo: "4200002026112300000001",
            refundNo: "RF20261123000002", amountMinor: 2000, currency: "CNY", succeeded: false,
            channelStatus: "PROCESSING", at: cst("2026-11-23 23:59:59")),
        BillRecord(
            kind: .payment, paymentNo: "PF20261123000002", channelTradeNo: "4200002026112300000002", amountMinor: 1,
            currency: "CNY", channelStatus: "SUCCESS", at: cst("2026-11-23 00:00:00")),
    ]

    @Test("WeChat Pay: render → parse gives the records back, with a summary that adds them up")
    func weChatRoundTrip() throws {
        let bill = WeChatPayBill.render(Self.weChatRecords, appID: "wxd678efh567hg6787", mchID: "1900000109")
        #expect(try WeChatPayBill.parse(bill) == Self.weChatRecords)
        let lines = String(decoding: bill, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.first == WeChatPayBill.columns.joined(separator: ","))
        #expect(lines.suffix(2).first == "`4,`88.89,`30.00,`0.00,`0.00000,`88.89,`30.00")
        #expect(try WeChatPayBill.parse(WeChatPayBill.render([], appID: "wx1", mchID: "1")) == [])
    }

    @Test(
        "WeChat Pay: malformed bills throw",
        arguments: [
            ("empty", ""),
            ("an error reply", "<xml><return_code><![CDATA[FAIL]]></return_code></xml>"),
            (
                "no summary (truncated)",
                String(BillParsersTests.weChatCurrentSample.split(separator: "\n").prefix(2).joined(separator: "\n"))
            ),
            (
                "a missing column",
                BillParsersTests.weChatCurrentSample.replacingOccurrences(of: ",商户订单号,", with: ",订单,")
            ),
            (
                "a non-numeric amount",
                BillParsersTests.weChatCurrentSample.replacingOccurrences(of: "`0.90%,`0.01,", with: "`0.90%,`abc,")
            ),
            (
                "a negative amount",
                BillParsersTests.weChatCurrentSample.replacingOccurrences(of: "`0.90%,`0.01,", with: "`0.90%,`-0.01,")
            ),
            (
                "a zero amount",
                BillParsersTests.weChatCurrentSample.replacingOccurrences(of: "`0.90%,`0.01,", with: "`0.90%,`0.00,")
            ),
            (
                "a bad time",
                BillParsersTests.weChatCurrentSample.replacingOccurrences(
                    of: "2022-03-21 13:51:31", with: "2022-03-21 25:51:31")
            ),
            ("a short line", BillParsersTests.weChatCurrentSample.replacingOccurrences(of: ",`0.90%", with: "")),
            (
                "a line without back-ticks",
                BillParsersTests.weChatCurrentSample.replacingOccurrences(of: "`2022-03-21", with: "2022-03-21")
            ),
            ("lines after the summary", BillParsersTests.weChatCurrentSample + "`extra\n"),
        ])
    func weChatMalformed(_ name: String, _ text: String) {
        Self.expectMalformed(Comment(rawValue: name)) { try WeChatPayBill.parse(Array(text.utf8)) }
    }

    @Test("WeChat Pay: invalid UTF-8 and broken gzip throw")
    func weChatBinary() throws {
        Self.expectMalformed { try WeChatPayBill.parse([0xFF, 0xFE, 0x00, 0x41]) }
        let gzip = try Self.fixture("wechatpay-sample-all.csv.gz")
        Self.expectMalformed { try WeChatPayBill.parse(Array(gzip.prefix(gzip.count / 2))) }
    }

    // MARK: Alipay

    /// Fixtures/bills/alipay-sample-20190916.zip: a real 业务明细 file (and a 汇总 matching it), GBK with GBK entry
    /// names, zipped by Info-ZIP. Alipay publishes its sample bill only as a download
    /// (https://opendocs.alipay.com/open/204/106262); these lines are a real bill's as reproduced in an open-source
    /// test, encoded with `iconv -t GBK`. See Fixtures/bills/README.md.
    @Test("Alipay: the sample bill zip, made by Info-ZIP, with negative refund amounts")
    func alipaySample() throws {
        let records = try AlipayBill.parse(zip: try Self.fixture("alipay-sample-20190916.zip"))
        #expect(records.count == 10)
        #expect(records.filter { $0.kind == .payment }.count == 6)
        #expect(
            records[0]
                == BillRecord(
                    kind: .payment, paymentNo: "service_1568601259302", channelTradeNo: "2019091622001458860515315453",
                    amountMinor: 1, currency: "CNY", channelStatus: "交易", at: Self.cst("2019-09-16 10:55:23")))
        #expect(
            records[1]
                == BillRecord(
                    kind: .refund, paymentNo: "service_1568601259302", channelTradeNo: "2019091622001458860515315453",
                    refundNo: "re_test_1568602607356", amountMinor: 1, currency: "CNY", channelStatus: "退款",
                    at: Self.cst("2019-09-16 10:56:48")))
        #expect(records.last?.paymentNo == "qd_201909161844073417CB0wPzR")
    }

    @Test("Alipay: the embedded GBK table encodes the header exactly as iconv does")
    func alipayGBKTable() throws {
        let file = try Self.fixture("alipay-sample-20190916-details-gbk.csv")
        let lines = BillText.lines(file[...])
        #expect(Array(lines[4]) == AlipayBill.gbk(AlipayBill.headerNames.joined(separator: ",")))
        #expect(Array(lines[0]) == AlipayBill.gbk("#支付宝业务明细查询"))
        #expect(Array(lines[lines.count - 3]) == AlipayBill.gbk("#交易合计：6笔，商家实收共0.06元，商家优惠共0.00元"))
        #expect(try AlipayBill.parse(details: file).count == 10)
    }

    static let alipayRecords = [
        BillRecord(
            kind: .payment, paymentNo: "PF20261123000001", channelTradeNo: "2026112322001400000000000001",
            amountMinor: 8888, currency: "CNY", channelStatus: "交易", at: cst("2026-11-23 10:00:00")),
        BillRecord(
            kind: .refund, paymentNo: "PF20261123000001", channelTradeNo: "2026112322001400000000000001",
            refundNo: "RF20261123000001", amountMinor: 1000, currency: "CNY", channelStatus: "退款",
            at: cst("2026-11-23 11:00:00")),
        BillRecord(
            kind: .payment, paymentNo: "PF20261123000002", channelTradeNo: "2026112322001400000000000002",
            amountMinor: 123_456_789, currency: "CNY", channelStatus: "交易", at: cst("2026-11-23 23:59:59")),
    ]

    @Test("Alipay: render → parse gives the records back; the zip holds both GBK files")
    func alipayRoundTrip() throws {
        let day = BillDay(year: 2026, month: 11, day: 23)
        let zip = AlipayBill.render(Self.alipayRecords, pid: "2088000000000001", day: day)
        #expect(try AlipayBill.parse(zip: zip) == Self.alipayRecords)
        let names = try ZipArchive.read(zip).map(\.name)
        #expect(
            names == [
                AlipayBill.gbk("20880000000000010156_20261123_业务明细.csv"),
                AlipayBill.gbk("20880000000000010156_20261123_业务明细(汇总).csv"),
            ])
        // A refund that did not succeed is not in Alipay's bill.
        var failed = Self.alipayRecords[1]
        failed.succeeded = false
        #expect(try AlipayBill.parse(zip: AlipayBill.render([failed], pid: "2088000000000001", day: day)) == [])
    }

    @Test("Alipay: malformed details throw")
    func alipayMalformedDetails() {
        let day = BillDay(year: 2026, month: 11, day: 23)
        let good = AlipayBill.details(Self.alipayRecords, userID: "20880000000000010156", day: day)
        #expect(throws: Never.self) { try AlipayBill.parse(details: good) }
        func replacing(_ old: String, _ new: String) -> [UInt8] {
            let oldBytes = AlipayBill.gbk(old)
            let newBytes = AlipayBill.gbk(new)
            var bytes = good
            if let range = bytes.firstRange(of: oldBytes) { bytes.replaceSubrange(range, with: newBytes) }
            return bytes
        }
        Self.expectMalformed("non-numeric amount") { try AlipayBill.parse(details: replacing(",88.88,", ",8x.88,")) }
        Self.expectMalformed("negative payment") { try AlipayBill.parse(details: replacing(",88.88,", ",-88.88,")) }
        Self.expectMalformed("missing column") {
            try AlipayBill.parse(details: replacing("退款批次号/请求号", "退款号"))
        }
        Self.expectMalformed("bad time") {
            try AlipayBill.parse(details: replacing("2026-11-23 10:00:00,2026-11-23 10:00:00", "x,y"))
        }
        Self.expectMalformed("count disagrees") { try AlipayBill.parse(details: replacing("#交易合计：2笔", "#交易合计：3笔")) }
        Self.expectMalformed("extra field") { try AlipayBill.parse(details: replacing("PayFleet,", "Pay,Fleet,")) }
        Self.expectMalformed("no header") { try AlipayBill.parse(details: AlipayBill.gbk("#支付宝业务明细查询\r\n")) }
        Self.expectMalformed("unclosed quote") { try AlipayBill.parse(details: replacing("PayFleet,", "\"PayFleet,")) }
    }

    @Test("Alipay: a quoted field with a comma stays one field")
    func alipayQuoted() throws {
        let day = BillDay(year: 2026, month: 11, day: 23)
        var bytes = AlipayBill.details(Self.alipayRecords, userID: "20880000000000010156", day: day)
        let range = try #require(bytes.firstRange(of: Array("PayFleet,".utf8)))
        bytes.replaceSubrange(range, with: Array("\"Pay,Fleet \"\"1\"\"\",".utf8))
        #expect(try AlipayBill.parse(details: bytes) == Self.alipayRecords)
    }

    @Test("Alipay: truncated, corrupted and foreign zips throw")
    func alipayHostileZips() throws {
        let zip = try Self.fixture("alipay-sample-20190916.zip")
        for length in [0, 4, 21, 22, 100, zip.count / 2, zip.count - 1] {
            Self.expectMalformed(Comment(rawValue: "truncated to \(length)")) {
                try AlipayBill.parse(zip: Array(zip.prefix(length)))
            }
        }
        Self.expectMalformed("hash-free garbage") {
            try AlipayBill.parse(zip: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })
        }
        // A flipped byte in the compressed data fails the CRC or inflation.
        var corrupted = zip
        corrupted[zip.count / 3] ^= 0x55
        Self.expectMalformed("corrupted data") { try AlipayBill.parse(zip: corrupted) }
        // A zip without a 业务明细 file.
        Self.expectMalformed("no details file") {
            try AlipayBill.parse(zip: ZipArchive.write([.init(name: Array("readme.txt".utf8), data: [0x41])]))
        }
        // Offsets pointing past the end.
        var badOffset = ZipArchive.write([.init(name: Array("a_业务明细.csv".utf8), data: [0x41], nameIsUTF8: true)])
        badOffset[badOffset.count - 6] = 0xFF
        Self.expectMalformed("central directory offset past the end") { try AlipayBill.parse(zip: badOffset) }
    }

    @Test("ZIP: a bomb over 64 MiB throws, whether its sizes tell the truth or lie")
    func zipBomb() throws {
        let zeros = [UInt8](repeating: 0, count: 65 << 20)
        let bomb = ZipArchive.write([.init(name: Array("x_业务明细.csv".utf8), data: zeros, nameIsUTF8: true)])
        #expect(bomb.count < 200_000)
        Self.expectMalformed("honest sizes") { try ZipArchive.read(bomb) }
        // Declare 1 KiB in both headers: inflation must stop there instead of producing 65 MiB.
        var lying = bomb
        for signature: [UInt8] in [[0x50, 0x4B, 0x03, 0x04], [0x50, 0x4B, 0x01, 0x02]] {
            let at = try #require(lying.firstRange(of: signature)).lowerBound
            let sizeOffset = at + (signature[2] == 0x03 ? 22 : 24)
            lying.replaceSubrange(sizeOffset..<(sizeOffset + 4), with: [0x00, 0x04, 0x00, 0x00])
        }
        Self.expectMalformed("lying sizes") { try ZipArchive.read(lying) }
    }

    @Test("ZIP: stored and deflated entries round-trip, including an empty one")
    func zipRoundTrip() throws {
        let entries: [ZipArchive.Entry] = [
            .init(name: Array("a.txt".utf8), data: Array(repeating: 0x61, count: 10_000)),
            .init(name: Array("b.bin".utf8), data: [0x01, 0x02, 0x03]),
            .init(name: Array("空.txt".utf8), data: [], nameIsUTF8: true),
        ]
        #expect(try ZipArchive.read(ZipArchive.write(entries)) == entries)
        #expect(ZipArchive.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    // MARK: Stripe

    /// "List all PaymentIntents", response example: https://docs.stripe.com/api/payment_intents/list (abridged to
    /// the fields read). Its PaymentIntent has empty metadata, so it is not ours.
    static let stripeIntentsSample = """
        {
          "object": "list",
          "url": "/v1/payment_intents",
          "has_more": false,
          "data": [
            {
              "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
              "object": "payment_intent",
              "amount": 2000,
              "amount_capturable": 0,
              "amount_details": {"tip": {}},
              "amount_received": 0,
              "automatic_payment_methods": {"enabled": true},
              "canceled_at": null,
              "capture_method": "automatic",
              "client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
              "created": 1680800504,
              "currency": "usd",
              "latest_charge": null,
              "livemode": false,
              "metadata": {},
              "status": "requires_payment_method"
            }
          ]
        }
        """

    /// The Refund object example of https://docs.stripe.com/api/refunds/object, as "List all refunds"
    /// (https://docs.stripe.com/api/refunds/list) returns it in `data`.
    static let stripeRefundsSample = """
        {
          "object": "list",
          "url": "/v1/refunds",
          "has_more": false,
          "data": [
            {
              "id": "re_1Nispe2eZvKYlo2Cd31jOCgZ",
              "object": "refund",
              "amount": 1000,
              "balance_transaction": "txn_1Nispe2eZvKYlo2CYezqFhEx",
              "charge": "ch_1NirD82eZvKYlo2CIvbtLWuY",
              "created": 1692942318,
              "currency": "usd",
              "destination_details": {"card": {"reference": "123456789012", "reference_status": "available",
                "reference_type": "acquirer_reference_number", "type": "refund"}, "type": "card"},
              "metadata": {},
              "payment_intent": "pi_1GszsK2eZvKYlo2CfhZyoZLp",
              "reason": null,
              "receipt_number": null,
              "source_transfer_reversal": null,
              "status": "succeeded",
              "transfer_reversal": null
            }
          ]
        }
        """

    @Test("Stripe: the documented list examples; objects without our metadata are counted, not kept")
    func stripeSamples() throws {
        let intents = try StripeBill.paymentIntents(Array(Self.stripeIntentsSample.utf8))
        #expect(intents == .init(records: [], hasMore: false, lastID: "pi_3MtwBwLkdIwHu7ix28a3tqPa", skipped: 1))
        let refunds = try StripeBill.refunds(Array(Self.stripeRefundsSample.utf8))
        #expect(refunds == .init(records: [], hasMore: false, lastID: "re_1Nispe2eZvKYlo2Cd31jOCgZ", skipped: 1))
    }

    @Test("Stripe: the documented examples with our metadata and a succeeded PaymentIntent")
    func stripeSamplesWithMetadata() throws {
        let intentText = Self.stripeIntentsSample
            .replacingOccurrences(
                of: "\"metadata\": {}", with: "\"metadata\": {\"out_trade_no\": \"PF20230406000001\"}"
            )
            .replacingOccurrences(of: "\"amount_received\": 0", with: "\"amount_received\": 2000")
            .replacingOccurrences(of: "requires_payment_method", with: "succeeded")
            .replacingOccurrences(of: "\"has_more\": false", with: "\"has_more\": true")
        #expect(
            try StripeBill.paymentIntents(Array(intentText.utf8))
                == .init(
                    records: [
                        BillRecord(
                            kind: .payment, paymentNo: "PF20230406000001",
                            channelTradeNo: "pi_3MtwBwLkdIwHu7ix28a3tqPa",
                            amountMinor: 2000, currency: "USD", channelStatus: "succeeded",
                            at: Date(timeIntervalSince1970: 1_680_800_504))
                    ], hasMore: true, lastID: "pi_3MtwBwLkdIwHu7ix28a3tqPa", skipped: 0))
        let refundText = Self.stripeRefundsSample.replacingOccurrences(
            of: "\"metadata\": {}",
            with: "\"metadata\": {\"out_trade_no\": \"PF20230825000001\", \"out_refund_no\": \"RF20230825000001\"}")
        #expect(
            try StripeBill.refunds(Array(refundText.utf8)).records == [
                BillRecord(
                    kind: .refund, paymentNo: "PF20230825000001", channelTradeNo: "pi_1GszsK2eZvKYlo2CfhZyoZLp",
                    refundNo: "RF20230825000001", amountMinor: 1000, currency: "USD", channelStatus: "succeeded",
                    at: Date(timeIntervalSince1970: 1_692_942_318))
            ])
        // A pending refund is kept, not succeeded; a PaymentIntent still processing is left out.
        let pending = refundText.replacingOccurrences(of: "\"status\": \"succeeded\"", with: "\"status\": \"pending\"")
        #expect(try StripeBill.refunds(Array(pending.utf8)).records.map(\.succeeded) == [false])
        let processing = intentText.replacingOccurrences(
            of: "\"status\": \"succeeded\"", with: "\"status\": \"processing\"")
        #expect(try StripeBill.paymentIntents(Array(processing.utf8)).records == [])
    }

    @Test("Stripe: render → decode gives the records back; zero-decimal amounts are not scaled")
    func stripeRoundTrip() throws {
        let at = Date(timeIntervalSince1970: 1_795_000_000)
        let payments = [
            BillRecord(
                kind: .payment, paymentNo: "PF1", channelTradeNo: "pi_1", amountMinor: 8888, currency: "USD",
                channelStatus: "succeeded", at: at),
            BillRecord(
                kind: .payment, paymentNo: "PF2", channelTradeNo: "pi_2", amountMinor: 500, currency: "JPY",
                channelStatus: "succeeded", at: at),
        ]
        let refunds = [
            BillRecord(
                kind: .refund, paymentNo: "PF1", channelTradeNo: "pi_1", refundNo: "RF1", amountMinor: 100,
                currency: "USD", channelStatus: "succeeded", at: at),
            BillRecord(
                kind: .refund, paymentNo: "PF1", channelTradeNo: "pi_1", refundNo: "RF2", amountMinor: 200,
                currency: "USD", succeeded: false, channelStatus: "failed", at: at),
        ]
        #expect(
            try StripeBill.paymentIntents(StripeBill.renderPaymentIntents(payments + refunds, hasMore: true))
                == .init(records: payments, hasMore: true, lastID: "pi_2", skipped: 0))
        #expect(
            try StripeBill.refunds(StripeBill.renderRefunds(payments + refunds, hasMore: false))
                == .init(records: refunds, hasMore: false, lastID: "re_RF2", skipped: 0))
    }

    @Test("Stripe: list requests cover the UTC day and paginate with starting_after")
    func stripePaths() {
        let day = BillDay(year: 2026, month: 11, day: 23)
        #expect(
            StripeBill.paymentIntentsPath(day: day)
                == "/v1/payment_intents?created%5Bgte%5D=1795392000&created%5Blt%5D=1795478400&limit=100")
        #expect(
            StripeBill.refundsPath(day: day, startingAfter: "re_9")
                == "/v1/refunds?created%5Bgte%5D=1795392000&created%5Blt%5D=1795478400&limit=100&starting_after=re_9")
    }

    @Test(
        "Stripe: malformed pages throw",
        arguments: [
            "", "nope", "[]", #"{"object":"payment_intent","data":[],"has_more":false}"#,
            #"{"object":"list","has_more":false}"#, #"{"object":"list","data":[]}"#,
            #"{"object":"list","data":[{"object":"refund"}],"has_more":false}"#,
            #"{"object":"list","data":[{"id":"x","status":"succeeded","amount":"12","currency":"usd","created":1}],"has_more":false}"#,
            #"{"object":"list","data":[{"id":"x","status":"succeeded","amount":0,"currency":"usd","created":1,"metadata":{"out_trade_no":"a","out_refund_no":"b"}}],"has_more":false}"#,
            #"{"object":"list","data":[{"id":"x","status":"succeeded","amount":5,"currency":"dollars","created":1,"metadata":{"out_trade_no":"a","out_refund_no":"b"}}],"has_more":false}"#,
        ])
    func stripeMalformed(_ body: String) {
        Self.expectMalformed(Comment(rawValue: body)) { try StripeBill.refunds(Array(body.utf8)) }
        Self.expectMalformed(Comment(rawValue: body)) {
            try StripeBill.paymentIntents(
                Array(body.replacingOccurrences(of: "\"amount\"", with: "\"amount_received\"").utf8))
        }
    }
}
