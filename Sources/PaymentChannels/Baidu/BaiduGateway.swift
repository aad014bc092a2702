import Foundation
import PayFleetMessages

/// Baidu's smart-program cashier as payment-worker calls it, over a ``BaiduClient``.
///
/// - prepay: no call. Answers the signed `orderInfo` fields (`dealId`, `appKey`, `totalAmount`, `tpOrderId`,
///   `dealTitle`, `signFieldsRange`, `rsaSign`, `bizInfo`, and `notifyUrl` when configured), which the mini program
///   passes to `swan.requestPolymerPayment`. Payments are in CNY.
/// - query: status 2 is paid (Baidu's `orderId` as the channel trade number, as the payment callback gives it;
///   `totalMoney` in fen, CNY); 1 pending; -1 and any other status closed; errno 2100 not found.
/// - close: closes nothing at Baidu and succeeds. The cashier APIs signed with the developer key have no close or
///   cancel for an unpaid order (`nuomi.cashier.syncorderstatus` type 3 cancels a *consumption*, not an order),
///   and an order Baidu never saw needs none. Baidu's 2.0 OpenAPI "关闭订单" authenticates with an OAuth
///   `access_token` this client does not hold. A payer who pays a closed payment later still produces a
///   payment callback, which settles or refunds it as any late payment.
/// - refund (`applyOrderRefund`, bizRefundBatchId = our refund number; it needs Baidu's orderId — the payment's
///   channel trade number — and the payer's userId from the payment callback): an opened batch is processing.
///   Refund query (`findOrderRefund`): refundStatus 2 succeeded, 3 failed, 1 processing; no batch under our number
///   (or the channel's batch number) not found. Baidu states no amount there.
public struct BaiduGateway: PaymentGateway {
    public let client: BaiduClient
    public var channel: ChannelID { .baidu }
    public var merchantID: String { client.merchant.id }
    /// The clock `paidAt` is read from: the query reply carries no payment time.
    private let now: @Sendable () -> Date

    public init(client: BaiduClient, now: (@Sendable () -> Date)? = nil) {
        self.client = client
        self.now = now ?? { Date() }
    }

    public func prepay(_ order: PrepayOrder) async throws(ChannelAPIError) -> [String: String] {
        guard order.currency == "CNY" else {
            throw ChannelAPIError(
                code: .invalidRequest, channel: .baidu, operation: "prepay",
                message: "Baidu cashier payments are in CNY; the payment is in \(order.currency.prefix(3))")
        }
        return try client.orderInfo(
            BaiduOrderRequest(
                tpOrderID: order.paymentNo, totalAmountMinor: order.amountMinor,
                dealTitle: order.description.isEmpty ? order.paymentNo : order.description))
    }

    public func query(paymentNo: String) async throws(ChannelAPIError) -> ChannelPaymentState {
        let result: BaiduOrderQueryResult
        do {
            result = try await client.queryOrder(tpOrderID: paymentNo)
        } catch where error.code == .notFound {
            return .notFound
        }
        switch result.status {
        case .paid:
            guard let orderID = result.orderID, let amount = result.totalMoneyMinor else {
                throw ChannelAPIError(
                    code: .malformedResponse, channel: .baidu, operation: "find_by_tp_order_id",
                    message: "Baidu reports the order paid without orderId or totalMoney")
            }
            return .paid(
                ChannelPayment(
                    paymentNo: paymentNo, channelTradeNo: orderID, amountMinor: amount, currency: "CNY",
                    paidAt: now(), raw: result.raw, payerID: result.userID))
        case .unpaid:
            return .pending(detail: "status \(result.status)")
        default:
            return .closed(detail: "status \(result.status)")
        }
    }

    /// Succeeds without calling Baidu; see the type's documentation.
    public func close(paymentNo: String) async throws(ChannelAPIError) {}

    public func refund(_ order: RefundOrder) async throws(ChannelAPIError) -> ChannelRefundState {
        let result = try await client.applyRefund(
            BaiduRefundRequest(
                tpOrderID: order.paymentNo, orderID: order.channelTradeNo, userID: try payer(order.payerID, "apply"),
                refundNo: order.refundNo, amountMinor: order.amountMinor,
                reason: order.reason.isEmpty ? order.refundNo : order.reason))
        return .processing(channelRefundNo: result.refundBatchID, raw: result.raw)
    }

    public func queryRefund(_ lookup: RefundLookup) async throws(ChannelAPIError) -> ChannelRefundState {
        let batches: [BaiduRefundQueryResult]
        do {
            batches = try await client.queryRefunds(
                tpOrderID: lookup.paymentNo, userID: try payer(lookup.payerID, "query"))
        } catch where error.code == .notFound {
            return .notFound
        }
        guard
            let batch = batches.first(where: {
                $0.refundNo == lookup.refundNo || ($0.refundBatchID == lookup.channelRefundNo)
            })
        else { return .notFound }
        switch batch.status {
        case .succeeded:
            return .succeeded(
                ChannelRefund(
                    refundNo: lookup.refundNo, channelRefundNo: batch.refundBatchID, amountMinor: nil,
                    succeededAt: nil, raw: batch.raw))
        case .failed:
            return .failed(channelRefundNo: batch.refundBatchID, detail: "refundStatus 3", raw: batch.raw)
        default:
            return .processing(channelRefundNo: batch.refundBatchID, raw: batch.raw)
        }
    }

    private func payer(_ payerID: String?, _ what: String) throws(ChannelAPIError) -> String {
        guard let payerID, !payerID.isEmpty else {
            throw ChannelAPIError(
                code: .invalidRequest, channel: .baidu, operation: "refund_\(what)",
                message: "a Baidu refund needs the payer's userId, which the payment callback carries; this payment "
                    + "has none recorded")
        }
        return payerID
    }
}
