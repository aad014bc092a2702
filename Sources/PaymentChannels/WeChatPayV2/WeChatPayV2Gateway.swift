import Foundation
import PayFleetMessages

/// WeChat Pay API v2 as payment-worker calls it, over a ``WeChatPayV2Client``.
///
/// - prepay: `trade_type` `jsapi` (the default when the job carries an `openid`) answers the signed JSAPI set
///   (`appId`, `timeStamp`, `nonceStr`, `package`, `signType`, `paySign`); `native` (the default otherwise)
///   answers `code_url`. `spbill_create_ip` is the job's `client_ip`, else the configured default.
/// - query: SUCCESS and REFUND are paid; NOTPAY, USERPAYING and PAYERROR (the payer may try again) pending;
///   CLOSED and REVOKED closed; ORDERNOTEXIST not found.
/// - close: ORDERNOTEXIST and ORDERCLOSED count as closed; ORDERPAID fails with
///   ``ChannelAPIError/Code/rejected``.
/// - refund (`/secapi/pay/refund` over mutual TLS, out_refund_no = our refund number): accepted is processing;
///   refund query (`refundquery`): SUCCESS succeeded, PROCESSING processing, CHANGE (the payer's account refused
///   it) and REFUNDCLOSE failed, REFUNDNOTEXIST not found.
/// - bill: `downloadbill` (`bill_type` ALL) parsed by ``WeChatPayBill``; `No Bill Exist` is an empty day.
public struct WeChatPayV2Gateway: PaymentGateway {
    public let client: WeChatPayV2Client
    public var channel: ChannelID { .wechatpayV2 }
    public var merchantID: String { client.merchant.id }

    public init(client: WeChatPayV2Client) {
        self.client = client
    }

    public func prepay(_ order: PrepayOrder) async throws(ChannelAPIError) -> [String: String] {
        let openID = order.client["openid"].flatMap { $0.isEmpty ? nil : $0 }
        let tradeType: WeChatPayV2OrderRequest.TradeType
        switch order.tradeType(default: openID == nil ? "native" : "jsapi") {
        case "jsapi": tradeType = .jsapi
        case "native": tradeType = .native
        case let other:
            throw ChannelAPIError(
                code: .invalidRequest, channel: .wechatpayV2, operation: "prepay",
                message: "WeChat Pay v2 payments are opened as trade_type jsapi or native, not \(other.prefix(32))")
        }
        let request = WeChatPayV2OrderRequest(
            outTradeNo: order.paymentNo, description: order.description.isEmpty ? order.paymentNo : order.description,
            totalFee: order.amountMinor, feeType: order.currency, tradeType: tradeType, openID: openID,
            clientIP: order.client["client_ip"], timeExpire: order.expiresAt)
        let result = try await client.unifiedOrder(request)
        switch tradeType {
        case .jsapi: return client.jsapiPayParameters(prepayID: result.prepayID)
        case .native: return ["code_url": result.codeURL ?? ""]
        }
    }

    public func query(paymentNo: String) async throws(ChannelAPIError) -> ChannelPaymentState {
        let result: WeChatPayV2OrderQueryResult
        do {
            result = try await client.queryOrder(outTradeNo: paymentNo)
        } catch where error.code == .notFound {
            return .notFound
        }
        return try result.tradeState.paymentState(
            paymentNo: paymentNo, transactionID: result.transactionID, amountMinor: result.totalFee,
            currency: result.feeType, paidAt: result.timeEnd, raw: result.raw, channel: .wechatpayV2,
            operation: "orderquery",
            incomplete: "WeChat Pay v2 reports the order paid without transaction_id, total_fee or time_end")
    }

    public func close(paymentNo: String) async throws(ChannelAPIError) {
        do {
            try await client.closeOrder(outTradeNo: paymentNo)
        } catch where error.code == .notFound || error.channelCode == "ORDERCLOSED" {
            return
        }
    }

    public func refund(_ order: RefundOrder) async throws(ChannelAPIError) -> ChannelRefundState {
        let result = try await client.refund(
            WeChatPayV2RefundRequest(
                outTradeNo: order.paymentNo, outRefundNo: order.refundNo, totalFee: order.paymentAmountMinor,
                refundFee: order.amountMinor, reason: order.reason.isEmpty ? nil : String(order.reason.prefix(80))))
        return Self.state(result)
    }

    public func queryRefund(_ lookup: RefundLookup) async throws(ChannelAPIError) -> ChannelRefundState {
        do {
            return Self.state(try await client.queryRefund(outRefundNo: lookup.refundNo))
        } catch where error.code == .notFound {
            return .notFound
        }
    }

    public var offersBill: Bool { true }

    /// The trade bill of `day` (China Standard Time) from `downloadbill`, parsed; an empty bill when WeChat Pay has
    /// none for the day (`No Bill Exist`).
    public func bill(for day: BillDay) async throws(ChannelAPIError) -> ChannelBill {
        var records: [BillRecord] = []
        if let file = try await client.downloadBill(day: day) {
            do throws(ChannelError) {
                records = try WeChatPayBill.parse(file)
            } catch {
                throw .unreadableBill(error, channel: .wechatpayV2, operation: "downloadbill")
            }
        }
        return ChannelBill(channel: .wechatpayV2, merchantID: merchantID, day: day, records: records)
    }

    static func state(_ result: WeChatPayV2RefundResult) -> ChannelRefundState {
        switch result.status {
        case .success:
            .succeeded(
                ChannelRefund(
                    refundNo: result.outRefundNo, channelRefundNo: result.refundID, amountMinor: result.refundFee,
                    succeededAt: result.successTime, raw: result.raw))
        case .change, .refundClose:
            .failed(channelRefundNo: result.refundID, detail: result.status.rawValue, raw: result.raw)
        default:
            .processing(channelRefundNo: result.refundID, raw: result.raw)
        }
    }
}
