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
                    paidAt: now(), raw: result.raw))
        case .unpaid:
            return .pending(detail: "status \(result.status)")
        default:
            return .closed(detail: "status \(result.status)")
        }
    }

    /// Succeeds without calling Baidu; see the type's documentation.
    public func close(paymentNo: String) async throws(ChannelAPIError) {}
}
