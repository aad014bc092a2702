import Foundation
import PayFleetTestSupport

/// The channel-sandbox's own record of refunds (`GET /sandbox/refunds`): the ground truth a test checks PayFleet's
/// books against. Every refund API call is counted there, so a refund_no sent twice shows as `requests` 2, a second
/// refund under another number as a second entry, and one refund_no sent with two amounts as two
/// `amounts_requested`.
struct SandboxRefundLedger {
    struct Refund {
        var channel: String
        var outTradeNo: String
        var outRefundNo: String
        var amount: Int64
        var status: String
        var origin: String
        var requests: Int
        var amountsRequested: [Int64]
    }

    struct Payment {
        var channel: String
        var outTradeNo: String
        /// The channel's trade number.
        var tradeNo: String
        var amount: Int64
        var refunded: Int64
    }

    var refunds: [Refund]
    var payments: [Payment]

    static func read(_ fleet: TestFleet, channel: String? = nil) async throws -> SandboxRefundLedger {
        // 100,000 payments' ledger is tens of megabytes, built while the sandbox still answers the fleet.
        let (status, body) = try await fleet.sandbox(
            "GET", "/sandbox/refunds" + (channel.map { "?channel=\($0)" } ?? ""), timeout: .seconds(300),
            maxBodyBytes: 512 << 20)
        guard status == 200, let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw TestServicesError("GET /sandbox/refunds: HTTP \(status) \(body.prefix(500))")
        }
        func int(_ value: Any?) -> Int64 { (value as? NSNumber)?.int64Value ?? Int64(value as? String ?? "") ?? -1 }
        let refunds = (object["refunds"] as? [[String: Any]] ?? []).map { item in
            Refund(
                channel: item["channel"] as? String ?? "", outTradeNo: item["out_trade_no"] as? String ?? "",
                outRefundNo: item["out_refund_no"] as? String ?? "", amount: int(item["amount"]),
                status: item["status"] as? String ?? "", origin: item["origin"] as? String ?? "",
                requests: Int(int(item["requests"])),
                amountsRequested: (item["amounts_requested"] as? [Any] ?? []).map(int))
        }
        let payments = (object["payments"] as? [[String: Any]] ?? []).map { item in
            Payment(
                channel: item["channel"] as? String ?? "", outTradeNo: item["out_trade_no"] as? String ?? "",
                tradeNo: item["trade_no"] as? String ?? "", amount: int(item["amount"]), refunded: int(item["refunded"]))
        }
        return SandboxRefundLedger(refunds: refunds, payments: payments)
    }

    func refunds(of paymentNo: String) -> [Refund] { refunds.filter { $0.outTradeNo == paymentNo } }

    func refund(_ refundNo: String) -> [Refund] { refunds.filter { $0.outRefundNo == refundNo } }

    func refunded(_ paymentNo: String) -> Int64? { payments.first { $0.outTradeNo == paymentNo }?.refunded }
}
