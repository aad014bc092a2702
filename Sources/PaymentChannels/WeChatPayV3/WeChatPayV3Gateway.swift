import Foundation
import PayFleetMessages

/// WeChat Pay API v3 as payment-worker calls it, over a ``WeChatPayV3Client``.
///
/// - prepay: `trade_type` `jsapi` (the default when the job carries an `openid`) answers the signed JSAPI set
///   (`appId`, `timeStamp`, `nonceStr`, `package`, `signType`, `paySign`); `native` (the default otherwise)
///   answers `code_url`.
/// - query: SUCCESS and REFUND are paid; NOTPAY, USERPAYING and PAYERROR (the payer may try again) pending;
///   CLOSED and REVOKED closed; ORDER_NOT_EXIST not found.
/// - close: ORDER_NOT_EXIST counts as closed.
/// - refund (`/v3/refund/domestic/refunds`, out_refund_no = our refund number) and refund query: SUCCESS is
///   succeeded, PROCESSING processing, ABNORMAL (the payer's card refused it) and CLOSED failed; a refund the query
///   cannot find (RESOURCE_NOT_EXISTS) not found.
public struct WeChatPayV3Gateway: PaymentGateway {
    public let client: WeChatPayV3Client
    public var channel: ChannelID { .wechatpay }
    public var merchantID: String { client.merchant.id }

    public init(client: WeChatPayV3Client) {
        self.client = client
    }

    public func prepay(_ order: PrepayOrder) async throws(ChannelAPIError) -> [String: String] {
        let openID = order.client["openid"].flatMap { $0.isEmpty ? nil : $0 }
        let request = WeChatPayV3PrepayRequest(
            outTradeNo: order.paymentNo, description: order.description.isEmpty ? order.paymentNo : order.description,
            amountMinor: order.amountMinor, currency: order.currency, payerOpenID: openID, timeExpire: order.expiresAt)
        switch order.tradeType(default: openID == nil ? "native" : "jsapi") {
        case "jsapi":
            let prepayID = try await client.jsapiPrepay(request)
            return client.jsapiPayParameters(prepayID: prepayID)
        case "native":
            return ["code_url": try await client.nativePrepay(request)]
        case let other:
            throw ChannelAPIError(
                code: .invalidRequest, channel: .wechatpay, operation: "prepay",
                message: "WeChat Pay v3 payments are opened as trade_type jsapi or native, not \(other.prefix(32))")
        }
    }

    public func query(paymentNo: String) async throws(ChannelAPIError) -> ChannelPaymentState {
        let result: WeChatPayV3TransactionQueryResult
        do {
            result = try await client.queryTransaction(outTradeNo: paymentNo)
        } catch where error.code == .notFound {
            return .notFound
        }
        return try result.tradeState.paymentState(
            paymentNo: paymentNo, transactionID: result.transactionID, amountMinor: result.amountTotalMinor,
            currency: result.currency, paidAt: result.successTime, raw: result.raw, channel: .wechatpay,
            operation: "query_transaction",
            incomplete: "WeChat Pay reports the order paid without transaction_id, amount or success_time")
    }

    public func close(paymentNo: String) async throws(ChannelAPIError) {
        do {
            try await client.closeTransaction(outTradeNo: paymentNo)
        } catch where error.code == .notFound {
            return
        }
    }

    public func refund(_ order: RefundOrder) async throws(ChannelAPIError) -> ChannelRefundState {
        let result = try await client.refund(
            WeChatPayV3RefundRequest(
                outTradeNo: order.paymentNo, outRefundNo: order.refundNo, refundMinor: order.amountMinor,
                totalMinor: order.paymentAmountMinor, currency: order.currency,
                reason: order.reason.isEmpty ? nil : String(order.reason.prefix(80))))
        return Self.state(result)
    }

    public func queryRefund(_ lookup: RefundLookup) async throws(ChannelAPIError) -> ChannelRefundState {
        do {
            return Self.state(try await client.queryRefund(outRefundNo: lookup.refundNo))
        } catch where error.code == .notFound {
            return .notFound
        }
    }

    static func state(_ result: WeChatPayV3RefundResult) -> ChannelRefundState {
        switch result.status {
        case .success:
            .succeeded(
                ChannelRefund(
                    refundNo: result.outRefundNo, channelRefundNo: result.refundID, amountMinor: result.refundMinor,
                    succeededAt: result.successTime, raw: result.raw))
        case .abnormal, .closed:
            .failed(channelRefundNo: result.refundID, detail: result.status.rawValue, raw: result.raw)
        default:
            .processing(channelRefundNo: result.refundID, raw: result.raw)
        }
    }

    public var offersBill: Bool { true }

    /// The trade bill of `day` (China Standard Time), parsed; an empty bill when WeChat Pay has none for the day.
    public func bill(for day: BillDay) async throws(ChannelAPIError) -> ChannelBill {
        var records: [BillRecord] = []
        if let file = try await client.tradeBill(day: day) {
            do throws(ChannelError) {
                records = try WeChatPayBill.parse(file)
            } catch {
                throw .unreadableBill(error, channel: .wechatpay, operation: "trade_bill")
            }
        }
        return ChannelBill(channel: .wechatpay, merchantID: merchantID, day: day, records: records)
    }
}
