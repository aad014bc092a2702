import Foundation
import PayFleetMessages
import PaymentChannels
import Testing

/// What `GET /sandbox/refunds` says: the audit a test checks PayFleet's refunds against.
struct RefundAudit {
    var refunds: [[String: Any]]
    var refused: [[String: Any]]
    var payments: [[String: Any]]

    /// The refunds under our number `outRefundNo` (more than one is a double at the channel).
    func refunds(numbered outRefundNo: String) -> [[String: Any]] {
        refunds.filter { $0["out_refund_no"] as? String == outRefundNo }
    }

    func refused(numbered outRefundNo: String) -> [[String: Any]] {
        refused.filter { $0["out_refund_no"] as? String == outRefundNo }
    }

    func payment(_ outTradeNo: String) -> [String: Any]? {
        payments.first { $0["out_trade_no"] as? String == outTradeNo }
    }

    /// Every refund number refunded at most once and with one amount; per payment, Σ refunded ≤ paid — the checks
    /// an end-to-end test makes.
    var doubles: [String] {
        var problems: [String] = []
        let numbered = Dictionary(grouping: refunds) { "\($0["channel"] ?? "")/\($0["out_refund_no"] ?? "")" }
        for (number, entries) in numbered where entries.count > 1 {
            problems.append("\(number) refunded \(entries.count)×")
        }
        for entry in refunds where (entry["amounts_requested"] as? [Int])?.count ?? 0 > 1 {
            problems.append("\(entry["out_refund_no"] ?? "") asked with \(entry["amounts_requested"] ?? "")")
        }
        for payment in payments {
            if let paid = payment["amount"] as? Int, let refunded = payment["refunded"] as? Int, refunded > paid {
                problems.append("\(payment["out_trade_no"] ?? "") refunded \(refunded) of \(paid)")
            }
        }
        return problems
    }
}

extension Harness {
    func audit(channel: String? = nil) async throws -> RefundAudit {
        let (status, body) = try await control("GET", "/sandbox/refunds" + (channel.map { "?channel=\($0)" } ?? ""))
        #expect(status == 200)
        return RefundAudit(
            refunds: body["refunds"] as? [[String: Any]] ?? [], refused: body["refused"] as? [[String: Any]] ?? [],
            payments: body["payments"] as? [[String: Any]] ?? [])
    }

    /// The verified refund notifications of `channel` received so far.
    func refundNotifications(_ channel: String) -> [RefundNotification] {
        receiver.received.filter { $0.channel == channel }.compactMap {
            if case .refund(let refund)? = $0.notification { return refund }
            return nil
        }
    }

    /// Waits until `count` verified refund notifications of `channel` satisfy `condition`; returns them.
    @discardableResult
    func waitForRefunds(
        _ channel: String, count: Int = 1, timeout: Duration = .seconds(10),
        where condition: @escaping (RefundNotification) -> Bool = { _ in true }
    ) async throws -> [RefundNotification] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let found = refundNotifications(channel).filter(condition)
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        let found = refundNotifications(channel).filter(condition)
        Issue.record("\(found.count) of \(count) \(channel) refund notifications arrived: \(receiver.received)")
        return found
    }

    /// Sends `request` as it is to the sandbox and returns the status and the JSON body.
    func raw(_ request: ChannelHTTPRequest) async throws -> (Int, Any?) {
        let response = try await HTTPClientTransport().send(request, timeout: .seconds(5))
        return (response.status, try? JSONSerialization.jsonObject(with: Data(response.body)))
    }
}

/// The form fields of a form-encoded notification body (Alipay's, Baidu's).
func formFields(_ raw: String) -> [String: String] {
    let pairs = (try? FormCodec.decode(Array(raw.utf8))) ?? []
    return Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
}
