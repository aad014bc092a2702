import Foundation

/// Alipay's trade bill: the zip that `alipay.data.dataservice.bill.downloadurl.query` (`bill_type=trade`,
/// `bill_date=yyyy-MM-dd`) points at (`bill_download_url`, valid for 30 seconds), holding two GBK CSVs,
/// `<userId>_<yyyyMMdd>_业务明细.csv` (details) and `<userId>_<yyyyMMdd>_业务明细(汇总).csv` (summary), where
/// userId is the merchant's 2088… PID followed by `0156`.
///
/// The details file (opendocs.alipay.com/apis/api_15/alipay.data.dataservice.bill.downloadurl.query and its
/// 对账说明, opendocs.alipay.com/open/204/106262; the layout below is the one real bills have): `#` comment lines
/// (`#支付宝业务明细查询`, `#账号：[…]`, `#起始日期：[…]   终止日期：[…]`, `#----…业务明细列表----…`), a header
/// line `支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,
/// 订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,
/// 商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注`, one line per trade or refund
/// (identifiers end with a tab, again against Excel), then `#----…业务明细列表结束----…`, `#交易合计：N笔，…`,
/// `#退款合计：M笔，…` and `#导出时间：[…]`. Columns are found by name.
///
/// What each line becomes:
/// - 业务类型 `交易`: a payment of 订单金额（元）, the order's total_amount (商家实收 is that less the merchant's own
///   discounts), completed at 完成时间.
/// - 业务类型 `退款`: a refund of 订单金额（元）, which refund lines write negative (`-0.01`); our refund number is
///   退款批次号/请求号 (the `out_request_no` of `alipay.trade.refund`). The bill lists only refunds that succeeded.
/// - any other 业务类型: skipped.
/// When the trailer's 交易合计/退款合计 counts are present they must match the lines read.
///
/// GBK: Foundation on Linux may not decode GBK, and nothing PayFleet reads needs decoding — identifiers, times
/// and amounts are ASCII, and GBK's trail bytes (0x40–0xFE) never equal `,`, `"`, `\r` or `\n`. So the file is
/// split on ASCII delimiters as bytes, and header names and 业务类型 values are matched by their GBK bytes (UTF-8
/// too, should Alipay ever switch).
public enum AlipayBill {
    /// The payments and refunds of an Alipay trade bill zip. Throws ``ChannelError/Code/malformedBody`` when the
    /// zip is corrupt or hostile (see ``ZipArchive``), holds no single 业务明细 file, or that file is malformed
    /// (see ``parse(details:)``).
    public static func parse(zip: [UInt8]) throws(ChannelError) -> [BillRecord] {
        let entries = try ZipArchive.read(zip)
        let details = entries.filter { entry in
            detailsSuffixes.contains { hasSuffix(entry.name, $0) }
        }
        guard details.count == 1 else {
            throw .malformed(
                details.isEmpty
                    ? "the Alipay bill zip holds no 业务明细 file" : "the Alipay bill zip holds several 业务明细 files",
                detail: "\(entries.count) entries")
        }
        return try parse(details: details[0].data)
    }

    /// The payments and refunds of a 业务明细 CSV (GBK). Throws ``ChannelError/Code/malformedBody`` when there is
    /// no header, a column PayFleet reads is missing, a line's field count differs from the header's, a number,
    /// time or amount does not parse, an amount is 0 or has the wrong sign, or the trailer's counts disagree.
    public static func parse(details bytes: [UInt8]) throws(ChannelError) -> [BillRecord] {
        var columns: Columns?
        var headerCount = 0
        var records: [BillRecord] = []
        var payments = 0
        var refunds = 0
        var declaredPayments: Int?
        var declaredRefunds: Int?
        for (index, line) in BillText.lines(bytes[...]).enumerated() {
            let number = index + 1
            let trimmed = BillText.trimmed(line)
            if trimmed.isEmpty { continue }
            if trimmed.first == UInt8(ascii: "#") {
                if let count = declaredCount(trimmed, after: paymentTotalPrefix) { declaredPayments = count }
                if let count = declaredCount(trimmed, after: refundTotalPrefix) { declaredRefunds = count }
                continue
            }
            let fields = try splitFields(line, number: number)
            guard let known = columns else {
                columns = try Columns(fields)
                headerCount = fields.count
                continue
            }
            guard fields.count == headerCount else {
                throw .malformed(
                    "an Alipay bill line has \(fields.count) fields where the header has \(headerCount)",
                    detail: "line \(number)")
            }
            guard let record = try known.record(fields, line: number) else { continue }
            if record.kind == .payment { payments += 1 } else { refunds += 1 }
            records.append(record)
        }
        guard columns != nil else { throw .malformed("the Alipay bill has no header line") }
        if let declaredPayments, declaredPayments != payments {
            throw .malformed(
                "the Alipay bill's 交易合计 disagrees with its lines",
                detail: "\(declaredPayments) declared, \(payments) read")
        }
        if let declaredRefunds, declaredRefunds != refunds {
            throw .malformed(
                "the Alipay bill's 退款合计 disagrees with its lines",
                detail: "\(declaredRefunds) declared, \(refunds) read")
        }
        return records
    }

    /// A CSV line's fields, trimmed of spaces and tabs; a field may be double-quoted (`""` inside is a quote).
    private static func splitFields(_ line: ArraySlice<UInt8>, number: Int) throws(ChannelError) -> [[UInt8]] {
        let quote = UInt8(ascii: "\"")
        var fields: [[UInt8]] = []
        var index = line.startIndex
        while true {
            var field: [UInt8] = []
            while index < line.endIndex, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
            if index < line.endIndex, line[index] == quote {
                index += 1
                var closed = false
                while index < line.endIndex {
                    if line[index] == quote {
                        if index + 1 < line.endIndex, line[index + 1] == quote {
                            field.append(quote)
                            index += 2
                            continue
                        }
                        index += 1
                        closed = true
                        break
                    }
                    field.append(line[index])
                    index += 1
                }
                guard closed else {
                    throw .malformed("an Alipay bill line has an unclosed quote", detail: "line \(number)")
                }
                while index < line.endIndex, line[index] != BillText.comma { index += 1 }
            } else {
                let start = index
                while index < line.endIndex, line[index] != BillText.comma { index += 1 }
                field = Array(line[start..<index])
            }
            fields.append(Array(BillText.trimmed(field[...])))
            guard index < line.endIndex else { return fields }
            index += 1  // the comma
        }
    }

    /// N of `#交易合计：N笔…` / `#退款合计：N笔…`, when `line` is that line.
    private static func declaredCount(_ line: ArraySlice<UInt8>, after prefix: [UInt8]) -> Int? {
        guard line.starts(with: prefix) else { return nil }
        let digits = line.dropFirst(prefix.count).prefix { (0x30...0x39).contains($0) }
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }

    private static func hasSuffix(_ bytes: [UInt8], _ suffix: [UInt8]) -> Bool {
        bytes.count >= suffix.count && bytes.suffix(suffix.count).elementsEqual(suffix)
    }

    private static let detailsSuffixes = [gbk("_业务明细.csv"), Array("_业务明细.csv".utf8)]
    private static let paymentTotalPrefix = gbk("#交易合计：")
    private static let refundTotalPrefix = gbk("#退款合计：")

    /// Where the columns PayFleet reads sit in this bill's header.
    private struct Columns {
        let tradeNo: Int
        let paymentNo: Int
        let type: Int
        let completed: Int
        let amount: Int
        let refundNo: Int

        init(_ header: [[UInt8]]) throws(ChannelError) {
            func required(_ name: String) throws(ChannelError) -> Int {
                let gbk = AlipayBill.gbk(name)
                let utf8 = Array(name.utf8)
                guard let index = header.firstIndex(where: { $0 == gbk || $0 == utf8 }) else {
                    throw .malformed("the Alipay bill has no column \(name)")
                }
                return index
            }
            tradeNo = try required("支付宝交易号")
            paymentNo = try required("商户订单号")
            type = try required("业务类型")
            completed = try required("完成时间")
            amount = try required("订单金额（元）")
            refundNo = try required("退款批次号/请求号")
        }

        func record(_ fields: [[UInt8]], line: Int) throws(ChannelError) -> BillRecord? {
            let kind: BillRecord.Kind
            switch fields[type] {
            case AlipayBill.gbk("交易"), Array("交易".utf8): kind = .payment
            case AlipayBill.gbk("退款"), Array("退款".utf8): kind = .refund
            default: return nil
            }
            func ascii(_ index: Int, _ name: String) throws(ChannelError) -> String {
                guard let value = BillText.ascii(fields[index][...]), !value.isEmpty else {
                    throw .malformed(
                        "an Alipay bill line's \(name) is empty or not ASCII",
                        detail: "line \(line): \(BillText.preview(fields[index][...]))")
                }
                return value
            }
            let timeText = try ascii(completed, "完成时间")
            guard let at = ChinaStandardTime.parse(timeText) else {
                throw .malformed(
                    "an Alipay bill line's 完成时间 is not yyyy-MM-dd HH:mm:ss", detail: "line \(line): \(timeText)")
            }
            var amountText = try ascii(amount, "订单金额（元）")
            if amountText.hasPrefix("-") {
                guard kind == .refund else {
                    throw .malformed("an Alipay 交易 line has a negative amount", detail: "line \(line): \(amountText)")
                }
                amountText.removeFirst()
            }
            let minor: Int64
            do {
                minor = try Money.parseDecimal(amountText)
            } catch {
                throw .malformed(
                    "an Alipay bill line's 订单金额（元） is not an amount", detail: "line \(line): \(amountText)")
            }
            guard minor > 0 else { throw .malformed("an Alipay bill line's amount is 0", detail: "line \(line)") }
            return BillRecord(
                kind: kind, paymentNo: try ascii(paymentNo, "商户订单号"),
                channelTradeNo: BillText.ascii(fields[tradeNo][...]) ?? "",
                refundNo: kind == .refund ? try ascii(refundNo, "退款批次号/请求号") : nil, amountMinor: minor,
                currency: "CNY", succeeded: true, channelStatus: kind == .payment ? "交易" : "退款", at: at)
        }
    }

    // MARK: Rendering

    /// The zip Alipay would serve for `records` on `day`: the 业务明细 file and its 汇总, GBK, with GBK entry names
    /// (no UTF-8 flag), as the sandbox serves it.
    ///
    /// Representable records (those ``parse(zip:)`` gives back unchanged): CNY payments and refunds that
    /// succeeded, with channelStatus `交易` and `退款`, times in whole seconds, ASCII numbers. Refunds that did not
    /// succeed are left out (the trade bill lists none); characters GBK cannot hold become `?`, and `,`, `"` and
    /// line breaks are removed from fields.
    public static func render(_ records: [BillRecord], pid: String, day: BillDay) -> [UInt8] {
        let userID = clean(pid) + "0156"
        let listed = records.filter { $0.kind == .payment || $0.succeeded }
        let prefix = userID + "_" + day.compact + "_"
        // The MS-DOS date of the entries; 1980-01-01 outside the years it can hold.
        let date =
            (1980...2107).contains(day.year) && (1...12).contains(day.month) && (1...31).contains(day.day)
            ? UInt16((day.year - 1980) << 9 | day.month << 5 | day.day) : 0x21
        return ZipArchive.write(
            [
                .init(name: gbk(prefix + "业务明细.csv"), data: details(listed, userID: userID, day: day)),
                .init(name: gbk(prefix + "业务明细(汇总).csv"), data: summary(listed, userID: userID, day: day)),
            ], dosDate: date, dosTime: 6 << 11)
    }

    static let headerNames = [
        "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员", "终端号",
        "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）",
        "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号", "服务费（元）", "分润（元）",
        "备注",
    ]
    static let summaryNames = [
        "门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）", "支付宝优惠（元）",
        "商家优惠（元）", "卡消费金额（元）", "服务费（元）", "分润（元）", "实收净额（元）",
    ]
    private static let dashes = String(repeating: "-", count: 41)

    static func details(_ records: [BillRecord], userID: String, day: BillDay) -> [UInt8] {
        var text = preamble("#支付宝业务明细查询", userID: userID, day: day, list: "业务明细列表")
        text += headerNames.joined(separator: ",") + "\r\n"
        var paymentTotal: Int64 = 0
        var refundTotal: Int64 = 0
        for record in records {
            let isPayment = record.kind == .payment
            // Refunds are written negative, as Alipay writes them. Totals wrap rather than trap on absurd input.
            let amount = (isPayment ? "" : "-") + Money.formatDecimal(record.amountMinor)
            if isPayment { paymentTotal &+= record.amountMinor } else { refundTotal &+= record.amountMinor }
            let time = ChinaStandardTime.format(record.at)
            let fields = [
                clean(record.channelTradeNo) + "\t", clean(record.paymentNo) + "\t", (isPayment ? "交易" : "退款") + "\t",
                "PayFleet", time, time, "\t", "\t", "\t", "\t", "\t", amount, amount, "0.00", "0.00", "0.00", "0.00",
                "0.00", "", "0.00\t", "0.00", isPayment ? "\t" : clean(record.refundNo ?? "") + "\t", "0.00", "0.00",
                "",
            ]
            text += fields.joined(separator: ",") + "\r\n"
        }
        let payments = records.count { $0.kind == .payment }
        text += "#" + dashes + "业务明细列表结束" + String(repeating: "-", count: 36) + "\r\n"
        text += "#交易合计：\(payments)笔，商家实收共\(Money.formatDecimal(paymentTotal))元，商家优惠共0.00元\r\n"
        let refundSum = (refundTotal == 0 ? "" : "-") + Money.formatDecimal(refundTotal)
        text += "#退款合计：\(records.count - payments)笔，商家实收退款共\(refundSum)元，商家优惠退款共0.00元\r\n"
        text += "#导出时间：[\(chineseDate(next(day))) 06:00:00]\r\n"
        return gbk(text)
    }

    static func summary(_ records: [BillRecord], userID: String, day: BillDay) -> [UInt8] {
        let payments = records.filter { $0.kind == .payment }
        let net = records.reduce(Int64(0)) { $1.kind == .payment ? $0 &+ $1.amountMinor : $0 &- $1.amountMinor }
        let total = Money.formatDecimal(net)
        var text = preamble("#支付宝业务汇总查询", userID: userID, day: day, list: "业务汇总列表")
        text += summaryNames.joined(separator: ",") + "\r\n"
        text +=
            "合计,,\(payments.count),\(records.count - payments.count),\(total),\(total),0.00,0.00,0.00,0.00,0.00,"
            + "\(total)\r\n"
        text += "#" + dashes + "业务汇总列表结束" + String(repeating: "-", count: 36) + "\r\n"
        text += "#导出时间：[\(chineseDate(next(day))) 06:00:00]\r\n"
        return gbk(text)
    }

    private static func preamble(_ title: String, userID: String, day: BillDay, list: String) -> String {
        title + "\r\n" + "#账号：[\(userID)]\r\n"
            + "#起始日期：[\(chineseDate(day)) 00:00:00]   终止日期：[\(chineseDate(next(day))) 00:00:00]\r\n"
            + "#" + dashes + list + String(repeating: "-", count: 40) + "\r\n"
    }

    private static func next(_ day: BillDay) -> BillDay {
        let utc = TimeZone(identifier: "UTC")!
        guard let interval = day.interval(in: utc) else { return day }
        return BillDay(containing: interval.upperBound, in: utc)
    }

    private static func chineseDate(_ day: BillDay) -> String {
        String(format: "%04d年%02d月%02d日", day.year, day.month, day.day)
    }

    private static func clean(_ field: String) -> String {
        String(field.unicodeScalars.filter { !",\"\r\n\t".unicodeScalars.contains($0) })
    }

    // MARK: GBK

    /// `text` in GBK: ASCII as is, the characters of ``gbkTable`` as their two bytes, anything else as `?`.
    static func gbk(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for character in text {
            if character.isASCII {
                bytes += character.utf8
            } else if let pair = gbkTable[character] {
                bytes += pair
            } else {
                bytes.append(UInt8(ascii: "?"))
            }
        }
        return bytes
    }

    /// The GBK bytes of every non-ASCII character PayFleet reads in or writes to an Alipay bill (header names,
    /// 业务类型 values, comment lines, file names). Precomputed at development time with
    /// `printf '%s' 字 | iconv -f UTF-8 -t GBK` for each character, because Foundation on Linux may not have GBK;
    /// the tests check the table against an iconv-encoded fixture.
    static let gbkTable: [Character: [UInt8]] = [
        "业": [0xD2, 0xB5], "交": [0xBD, 0xBB], "付": [0xB8, 0xB6], "优": [0xD3, 0xC5], "作": [0xD7, 0xF7],
        "元": [0xD4, 0xAA], "共": [0xB9, 0xB2], "净": [0xBE, 0xBB], "出": [0xB3, 0xF6], "分": [0xB7, 0xD6],
        "列": [0xC1, 0xD0], "创": [0xB4, 0xB4], "券": [0xC8, 0xAF], "务": [0xCE, 0xF1], "包": [0xB0, 0xFC],
        "单": [0xB5, 0xA5], "卡": [0xBF, 0xA8], "号": [0xBA, 0xC5], "合": [0xBA, 0xCF], "名": [0xC3, 0xFB],
        "员": [0xD4, 0xB1], "品": [0xC6, 0xB7], "商": [0xC9, 0xCC], "型": [0xD0, 0xCD], "备": [0xB1, 0xB8],
        "始": [0xCA, 0xBC], "完": [0xCD, 0xEA], "宝": [0xB1, 0xA6], "实": [0xCA, 0xB5], "家": [0xBC, 0xD2],
        "对": [0xB6, 0xD4], "导": [0xB5, 0xBC], "年": [0xC4, 0xEA], "店": [0xB5, 0xEA], "建": [0xBD, 0xA8],
        "总": [0xD7, 0xDC], "惠": [0xBB, 0xDD], "成": [0xB3, 0xC9], "户": [0xBB, 0xA7], "批": [0xC5, 0xFA],
        "操": [0xB2, 0xD9], "支": [0xD6, 0xA7], "收": [0xCA, 0xD5], "数": [0xCA, 0xFD], "方": [0xB7, 0xBD],
        "日": [0xC8, 0xD5], "时": [0xCA, 0xB1], "明": [0xC3, 0xF7], "易": [0xD2, 0xD7], "月": [0xD4, 0xC2],
        "服": [0xB7, 0xFE], "期": [0xC6, 0xDA], "束": [0xCA, 0xF8], "查": [0xB2, 0xE9], "核": [0xBA, 0xCB],
        "次": [0xB4, 0xCE], "款": [0xBF, 0xEE], "止": [0xD6, 0xB9], "求": [0xC7, 0xF3], "汇": [0xBB, 0xE3],
        "注": [0xD7, 0xA2], "消": [0xCF, 0xFB], "润": [0xC8, 0xF3], "称": [0xB3, 0xC6], "端": [0xB6, 0xCB],
        "笔": [0xB1, 0xCA], "类": [0xC0, 0xE0], "红": [0xBA, 0xEC], "细": [0xCF, 0xB8], "终": [0xD6, 0xD5],
        "结": [0xBD, 0xE1], "编": [0xB1, 0xE0], "表": [0xB1, 0xED], "计": [0xBC, 0xC6], "订": [0xB6, 0xA9],
        "询": [0xD1, 0xAF], "请": [0xC7, 0xEB], "账": [0xD5, 0xCB], "费": [0xB7, 0xD1], "起": [0xC6, 0xF0],
        "退": [0xCD, 0xCB], "金": [0xBD, 0xF0], "销": [0xCF, 0xFA], "门": [0xC3, 0xC5], "间": [0xBC, 0xE4],
        "集": [0xBC, 0xAF], "额": [0xB6, 0xEE], "（": [0xA3, 0xA8], "）": [0xA3, 0xA9], "，": [0xA3, 0xAC],
        "：": [0xA3, 0xBA],
    ]
}
