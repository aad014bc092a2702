import Foundation

/// WeChat Pay's trade bill (交易账单), `bill_type=ALL`: the text that both v3 (`GET /v3/bill/tradebill` →
/// `download_url`) and v2 (`POST /pay/downloadbill`) return, plain or gzip (`tar_type=GZIP`).
///
/// The format, from "交易账单详细说明" (pay.weixin.qq.com/docs/merchant/products/bill-download/format-trade.html)
/// and "下载交易账单" (pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_6): UTF-8; a header line of column names
/// separated by `,`; data lines in which every field starts with a back-tick (`` ` ``, against Excel's scientific
/// notation); a summary header (`总交易单数,…`) and one summary line. Amounts are yuan with two decimals, times
/// `yyyy-MM-dd HH:mm:ss` at +08:00. Columns are found by name, never by position: the current header is
/// `交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,
/// 应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,
/// 费率,订单金额,申请退款金额,费率备注`; merchants still on the early format have `总金额` where the current one has
/// `应结订单金额` and no `订单金额`/`申请退款金额`.
///
/// What each line becomes:
/// - 交易状态 `SUCCESS`: a payment of `订单金额` (early format: `总金额`). 订单金额 is the order's total, what we
///   asked the payer for (the v3 `amount.total`, v2 `total_fee`) and what our books hold; 应结订单金额 is 订单金额
///   less non-recharge vouchers (WeChat Pay's `settlement_total_fee`), which differs from our books whenever a
///   voucher applied.
/// - 交易状态 `REFUND`: a refund of `申请退款金额` (early format: `退款金额`), our `商户退款单号`. 申请退款金额 is the
///   amount we applied for (v2 `refund_fee`, v3 `amount.refund`); 退款金额 is the settlement refund, net of
///   non-recharge vouchers. `succeeded` is 退款状态 `SUCCESS`; the bill is written when the refund is accepted and
///   never updated, so `PROCESSING` stays as it was (channelStatus keeps 退款状态).
/// - 交易状态 `REVOKED` (a MICROPAY payment reversed, 撤销) and any other status: skipped. PayFleet never takes
///   付款码 payments nor calls reverse, so such lines are not ours.
public enum WeChatPayBill {
    /// The columns of the current `ALL` bill, in WeChat Pay's order, as ``render(_:appID:mchID:)`` writes them.
    static let columns = [
        "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型",
        "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号", "商户退款单号", "退款金额",
        "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额",
        "费率备注",
    ]
    static let summaryColumns = ["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"]

    private static let backtick = UInt8(ascii: "`")

    /// The payments and refunds of a trade bill (plain text, or gzip as `tar_type=GZIP` returns it).
    ///
    /// Throws ``ChannelError/Code/malformedBody`` for anything that is not a complete bill: an error reply in its
    /// place, invalid UTF-8, no header or no summary (a truncated download), a data line whose field count differs
    /// from the header's, a missing column, a time or amount that does not parse, a payment or refund of 0.
    public static func parse(_ bytes: [UInt8]) throws(ChannelError) -> [BillRecord] {
        var body = ArraySlice(ZipArchive.isGzip(bytes) ? try ZipArchive.gunzip(bytes) : bytes)
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        guard String(validating: body, as: UTF8.self) != nil else {
            throw .malformed("the WeChat Pay bill is not UTF-8")
        }
        let lines = BillText.lines(body)
        guard let headerIndex = lines.firstIndex(where: { !BillText.trimmed($0).isEmpty }) else {
            throw .malformed("the WeChat Pay bill is empty")
        }
        let headerLine = lines[headerIndex]
        if let first = BillText.trimmed(headerLine).first, first == UInt8(ascii: "<") || first == UInt8(ascii: "{") {
            throw .malformed(
                "WeChat Pay answered with an error instead of a bill", detail: BillText.preview(headerLine))
        }
        guard headerLine.first != backtick else { throw .malformed("the WeChat Pay bill has no header line") }
        let header = headerLine.split(separator: BillText.comma, omittingEmptySubsequences: false).map {
            String(decoding: BillText.trimmed($0), as: UTF8.self)
        }
        let columns = try Columns(header)

        var records: [BillRecord] = []
        var summaryHeaderSeen = false
        var summarySeen = false
        for lineIndex in (headerIndex + 1)..<lines.count {
            let line = lines[lineIndex]
            let number = lineIndex + 1
            if BillText.trimmed(line).isEmpty { continue }
            if summarySeen {
                throw .malformed("the WeChat Pay bill has lines after its summary", detail: "line \(number)")
            }
            if summaryHeaderSeen {
                try checkSummary(line, number: number)
                summarySeen = true
                continue
            }
            guard line.first == backtick else {
                let first = line.split(separator: BillText.comma, maxSplits: 1, omittingEmptySubsequences: false)[0]
                guard String(decoding: BillText.trimmed(first), as: UTF8.self) == "总交易单数" else {
                    throw .malformed(
                        "a WeChat Pay bill line is neither data nor the summary header",
                        detail: "line \(number): \(BillText.preview(line))")
                }
                summaryHeaderSeen = true
                continue
            }
            let fields = dataFields(line)
            guard fields.count == header.count else {
                throw .malformed(
                    "a WeChat Pay bill line has \(fields.count) fields where the header has \(header.count)",
                    detail: "line \(number)")
            }
            if let record = try columns.record(fields, line: number) { records.append(record) }
        }
        guard summarySeen else {
            throw .malformed("the WeChat Pay bill has no summary; the download is incomplete")
        }
        return records
    }

    /// A data line's fields: the line without its first back-tick, split on `` ,` `` (so a comma inside a field,
    /// e.g. in 商品名称, does not split it).
    private static func dataFields(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var fields: [ArraySlice<UInt8>] = []
        var start = line.startIndex + 1
        var index = start
        while index < line.endIndex {
            if line[index] == BillText.comma, index + 1 < line.endIndex, line[index + 1] == backtick {
                fields.append(line[start..<index])
                start = index + 2
                index = start
                continue
            }
            index += 1
        }
        fields.append(line[start..<line.endIndex])
        return fields
    }

    private static func checkSummary(_ line: ArraySlice<UInt8>, number: Int) throws(ChannelError) {
        guard line.first == backtick else {
            throw .malformed("the WeChat Pay bill's summary line is malformed", detail: "line \(number)")
        }
        let fields = dataFields(line)
        guard let count = fields.first.flatMap(BillText.ascii), Int(count) != nil else {
            throw .malformed("the WeChat Pay bill's 总交易单数 is not a number", detail: "line \(number)")
        }
    }

    /// Where the columns PayFleet reads sit in this bill's header.
    private struct Columns {
        let time: Int
        let tradeNo: Int
        let paymentNo: Int
        let status: Int
        let currency: Int?
        let paymentAmount: Int?
        let refundNo: Int?
        let refundAmount: Int?
        let refundStatus: Int?

        init(_ header: [String]) throws(ChannelError) {
            func index(_ name: String) -> Int? { header.firstIndex(of: name) }
            func required(_ name: String) throws(ChannelError) -> Int {
                guard let found = index(name) else {
                    throw .malformed("the WeChat Pay bill has no column \(name)")
                }
                return found
            }
            time = try required("交易时间")
            tradeNo = try required("微信订单号")
            paymentNo = try required("商户订单号")
            status = try required("交易状态")
            currency = index("货币种类")
            paymentAmount = index("订单金额") ?? index("总金额")
            refundNo = index("商户退款单号")
            refundAmount = index("申请退款金额") ?? index("退款金额")
            refundStatus = index("退款状态")
        }

        func record(_ fields: [ArraySlice<UInt8>], line: Int) throws(ChannelError) -> BillRecord? {
            func text(_ index: Int) -> String { String(decoding: fields[index], as: UTF8.self) }
            func column(_ index: Int?, _ name: String) throws(ChannelError) -> Int {
                guard let index else {
                    throw .malformed("the WeChat Pay bill has no column \(name)", detail: "needed by line \(line)")
                }
                return index
            }
            func number(_ index: Int, _ name: String) throws(ChannelError) -> String {
                guard let value = BillText.ascii(fields[index]), !value.isEmpty else {
                    throw .malformed("a WeChat Pay bill line has no \(name)", detail: "line \(line)")
                }
                return value
            }
            func amount(_ index: Int, _ name: String) throws(ChannelError) -> Int64 {
                let value: Int64
                do {
                    value = try Money.parseDecimal(number(index, name))
                } catch {
                    throw .malformed(
                        "a WeChat Pay bill line's \(name) is not an amount",
                        detail: "line \(line): \(BillText.preview(fields[index]))")
                }
                guard value > 0 else {
                    throw .malformed("a WeChat Pay bill line's \(name) is 0", detail: "line \(line)")
                }
                return value
            }

            let kind: BillRecord.Kind
            switch text(status) {
            case "SUCCESS": kind = .payment
            case "REFUND": kind = .refund
            default: return nil
            }
            guard let at = ChinaStandardTime.parse(text(time)) else {
                throw .malformed(
                    "a WeChat Pay bill line's 交易时间 is not yyyy-MM-dd HH:mm:ss",
                    detail: "line \(line): \(BillText.preview(fields[time]))")
            }
            let ourNumber = try number(paymentNo, "商户订单号")
            let theirNumber = BillText.ascii(fields[tradeNo]) ?? ""
            var currencyCode = "CNY"
            if let currency {
                let code = text(currency).uppercased()
                guard code.utf8.count == 3, code.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                    throw .malformed("a WeChat Pay bill line's 货币种类 is not a currency code", detail: "line \(line)")
                }
                currencyCode = code
            }
            switch kind {
            case .payment:
                return BillRecord(
                    kind: .payment, paymentNo: ourNumber, channelTradeNo: theirNumber,
                    amountMinor: try amount(column(paymentAmount, "订单金额"), "订单金额"), currency: currencyCode,
                    succeeded: true, channelStatus: "SUCCESS", at: at)
            case .refund:
                let refundStatus = text(try column(refundStatus, "退款状态"))
                return BillRecord(
                    kind: .refund, paymentNo: ourNumber, channelTradeNo: theirNumber,
                    refundNo: try number(column(refundNo, "商户退款单号"), "商户退款单号"),
                    amountMinor: try amount(column(refundAmount, "申请退款金额"), "申请退款金额"),
                    currency: currencyCode, succeeded: refundStatus == "SUCCESS",
                    channelStatus: refundStatus.isEmpty ? "REFUND" : refundStatus, at: at)
            }
        }
    }

    // MARK: Rendering

    /// The bill WeChat Pay would serve for `records`, in the current `ALL` format (UTF-8, `\r\n` line ends),
    /// with a summary that adds them up, for the channel sandbox.
    ///
    /// Representable records (those ``parse(_:)`` gives back unchanged): payments that succeeded with
    /// channelStatus `SUCCESS`; refunds whose channelStatus is their 退款状态 (`SUCCESS` exactly when they
    /// succeeded); two-decimal currencies; times in whole seconds; fields free of back-ticks and line breaks
    /// (which are removed). A payment is always written as succeeded: the bill lists no other.
    public static func render(_ records: [BillRecord], appID: String, mchID: String) -> [UInt8] {
        var text = columns.joined(separator: ",") + "\r\n"
        var settlementTotal: Int64 = 0
        var refundTotal: Int64 = 0
        for record in records {
            let amount = Money.formatDecimal(record.amountMinor)
            let isPayment = record.kind == .payment
            // Totals wrap rather than trap on absurd input.
            if isPayment { settlementTotal &+= record.amountMinor } else { refundTotal &+= record.amountMinor }
            let refundStatus: String
            if record.succeeded {
                refundStatus = "SUCCESS"
            } else {
                refundStatus =
                    ["", "SUCCESS", "REFUND"].contains(record.channelStatus) ? "PROCESSING" : record.channelStatus
            }
            let fields = [
                ChinaStandardTime.format(record.at), appID, mchID, "0", "", record.channelTradeNo, record.paymentNo,
                "", "JSAPI", isPayment ? "SUCCESS" : "REFUND", "OTHERS", record.currency,
                isPayment ? amount : "0.00", "0.00", isPayment ? "0" : "", isPayment ? "0" : record.refundNo ?? "",
                isPayment ? "0.00" : amount, "0.00", isPayment ? "" : "ORIGINAL", isPayment ? "" : refundStatus,
                "PayFleet", "", "0.00000", "0.60%", isPayment ? amount : "0.00", isPayment ? "0.00" : amount, "",
            ]
            text += fields.map { "`" + clean($0) }.joined(separator: ",") + "\r\n"
        }
        text += summaryColumns.joined(separator: ",") + "\r\n"
        let summary = [
            String(records.count), Money.formatDecimal(settlementTotal), Money.formatDecimal(refundTotal), "0.00",
            "0.00000", Money.formatDecimal(settlementTotal), Money.formatDecimal(refundTotal),
        ]
        text += summary.map { "`" + $0 }.joined(separator: ",") + "\r\n"
        return Array(text.utf8)
    }

    private static func clean(_ field: String) -> String {
        String(field.unicodeScalars.filter { $0 != "`" && $0 != "\r" && $0 != "\n" })
    }
}
