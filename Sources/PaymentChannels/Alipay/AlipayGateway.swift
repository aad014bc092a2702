import Foundation
import PayFleetMessages

/// Alipay as payment-worker calls it, over an ``AlipayClient``.
///
/// - prepay by `trade_type`: `precreate` (the default) answers `qr_code`; `create` (needs `buyer_id` or
///   `buyer_open_id` in the job's client context) answers `trade_no`; `app` answers the signed `order_string`;
///   `wap` answers `pay_url`. The last two make no call.
/// - query: TRADE_SUCCESS and TRADE_FINISHED are paid, and so is TRADE_CLOSED with a `send_pay_date` (paid,
///   then refunded in full); WAIT_BUYER_PAY pending; TRADE_CLOSED closed; ACQ.TRADE_NOT_EXIST not found (nobody
///   scanned the code yet).
/// - close: ACQ.TRADE_NOT_EXIST counts as closed.
/// - refund (`alipay.trade.refund`, out_request_no = our refund number) is synchronous: `fund_change` Y is
///   succeeded at once. `fund_change` N means this number was refunded before (a repeated call): the refund is
///   queried, REFUND_SUCCESS being succeeded, anything else processing. Refund query
///   (`alipay.trade.fastpay.refund.query`): REFUND_SUCCESS succeeded; no refund_status and no refund_amount is
///   Alipay's "this refund was not received" — not found (the same out_request_no may be sent again).
/// - bill: `alipay.data.dataservice.bill.downloadurl.query` (`bill_type` trade), the zip at its URL parsed by
///   ``AlipayBill``; `isp.bill_not_exist` is an empty day.
public struct AlipayGateway: PaymentGateway {
    public let client: AlipayClient
    public var channel: ChannelID { .alipay }
    public var merchantID: String { client.merchant.id }

    public init(client: AlipayClient) {
        self.client = client
    }

    public func prepay(_ order: PrepayOrder) async throws(ChannelAPIError) -> [String: String] {
        guard order.currency == "CNY" else {
            throw ChannelAPIError(
                code: .invalidRequest, channel: .alipay, operation: "prepay",
                message: "Alipay trades are in CNY; the payment is in \(order.currency.prefix(3))")
        }
        let request = AlipayOrderRequest(
            outTradeNo: order.paymentNo, totalAmountMinor: order.amountMinor,
            subject: order.description.isEmpty ? order.paymentNo : order.description, timeExpire: order.expiresAt,
            buyerID: order.client["buyer_id"], buyerOpenID: order.client["buyer_open_id"])
        switch order.tradeType(default: "precreate") {
        case "precreate":
            return ["qr_code": try await client.precreateTrade(request)]
        case "create":
            return ["trade_no": try await client.createTrade(request)]
        case "app":
            return ["order_string": try client.appPayOrderString(request)]
        case "wap":
            return ["pay_url": try client.wapPayURL(request, returnURL: order.client["return_url"])]
        case let other:
            throw ChannelAPIError(
                code: .invalidRequest, channel: .alipay, operation: "prepay",
                message: "Alipay payments are opened as trade_type precreate, create, app or wap, not \(other.prefix(32))")
        }
    }

    public func query(paymentNo: String) async throws(ChannelAPIError) -> ChannelPaymentState {
        let result: AlipayTradeQueryResult
        do {
            result = try await client.queryTrade(outTradeNo: paymentNo)
        } catch where error.code == .notFound {
            return .notFound
        }
        let paid: Bool
        switch result.tradeStatus {
        case .success, .finished: paid = true
        case .closed: paid = result.sendPayDate != nil && result.tradeNo != nil
        default: return .pending(detail: result.tradeStatus.rawValue)
        }
        guard paid else { return .closed(detail: result.tradeStatus.rawValue) }
        guard let tradeNo = result.tradeNo, let amount = result.totalAmountMinor else {
            throw ChannelAPIError(
                code: .malformedResponse, channel: .alipay, operation: "alipay.trade.query",
                message: "Alipay reports the trade paid without trade_no or total_amount")
        }
        return .paid(
            ChannelPayment(
                paymentNo: paymentNo, channelTradeNo: tradeNo, amountMinor: amount, currency: "CNY",
                paidAt: result.sendPayDate ?? Date(), raw: result.raw))
    }

    public func close(paymentNo: String) async throws(ChannelAPIError) {
        do {
            try await client.closeTrade(outTradeNo: paymentNo)
        } catch where error.code == .notFound {
            return
        }
    }

    public func refund(_ order: RefundOrder) async throws(ChannelAPIError) -> ChannelRefundState {
        let result = try await client.refund(
            AlipayRefundRequest(
                outTradeNo: order.paymentNo, outRequestNo: order.refundNo, refundAmountMinor: order.amountMinor,
                reason: order.reason.isEmpty ? nil : String(order.reason.prefix(256))))
        guard result.fundChange else {
            // Made by an earlier call under this number: ask what became of it.
            let state = try await queryRefund(order.lookup(channelRefundNo: nil))
            if case .notFound = state { return .processing(channelRefundNo: nil, raw: result.raw) }
            return state
        }
        return .succeeded(
            ChannelRefund(
                refundNo: order.refundNo, channelRefundNo: result.tradeNo ?? order.refundNo,
                amountMinor: order.amountMinor, succeededAt: result.refundedAt ?? Date(), raw: result.raw))
    }

    public var offersBill: Bool { true }

    /// The trade bill of `day` (China Standard Time): the zip behind `bill_download_url`, parsed; an empty bill when
    /// Alipay has none for the day (`isp.bill_not_exist`).
    public func bill(for day: BillDay) async throws(ChannelAPIError) -> ChannelBill {
        var records: [BillRecord] = []
        if let zip = try await client.downloadBill(day: day) {
            do throws(ChannelError) {
                records = try AlipayBill.parse(zip: zip)
            } catch {
                throw .unreadableBill(error, channel: .alipay, operation: "bill_download")
            }
        }
        return ChannelBill(channel: .alipay, merchantID: merchantID, day: day, records: records)
    }

    public func queryRefund(_ lookup: RefundLookup) async throws(ChannelAPIError) -> ChannelRefundState {
        let result: AlipayRefundQueryResult
        do {
            result = try await client.queryRefund(outTradeNo: lookup.paymentNo, outRequestNo: lookup.refundNo)
        } catch where error.code == .notFound {
            return .notFound
        }
        if result.succeeded {
            return .succeeded(
                ChannelRefund(
                    refundNo: lookup.refundNo, channelRefundNo: result.tradeNo ?? lookup.refundNo,
                    amountMinor: result.refundAmountMinor, succeededAt: nil, raw: result.raw))
        }
        if result.refundStatus == nil, result.refundAmountMinor == nil { return .notFound }
        return .processing(channelRefundNo: result.tradeNo, raw: result.raw)
    }
}
