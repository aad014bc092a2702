import Foundation
import Synchronization

/// A fault injected into one sandbox endpoint for its next `count` calls, set with `POST /sandbox/faults`.
public struct SandboxFault: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// API: the channel acts but its reply is lost (the request is held, then the connection closed).
        /// Notification: this attempt is never sent (the channel retries on schedule).
        case drop
        /// API: the reply comes `delay_ms` late. Notification: the attempt is sent `delay_ms` late.
        case delay
        /// API only: the channel fails without acting (WeChat Pay HTTP 500 `SYSTEM_ERROR`; Alipay `20000`
        /// `ACQ.SYSTEM_ERROR`).
        case error5xx
        /// Notification only: the attempt is delivered twice.
        case duplicate
        /// The reply's or the notification's signature does not verify.
        case tamper
        /// Refund API only (`<channel>.refund`): the channel refuses the refund for good in its own format (WeChat
        /// Pay `INVALID_REQUEST`, Alipay `ACQ.TRADE_STATUS_ERROR`, Baidu errno 10001, Stripe
        /// `invalid_request_error`), making nothing.
        case refuse
        /// Refund API only: the refund is accepted and later fails (WeChat Pay ABNORMAL, v2 CHANGE, Baidu refund
        /// status 2, Stripe `failed`), with that failure's notification. Alipay refunds synchronously: refused.
        case abnormal
    }

    /// `wechatpay.prepay`, `alipay.trade.query`, `wechatpay.notify`, …
    public var endpoint: String
    public var mode: Mode
    /// How many calls it affects; -1 until cleared.
    public var count: Int
    /// For `delay` (and how long `drop` holds an API request); nil for the default.
    public var delayMilliseconds: Int?

    public init(endpoint: String, mode: Mode, count: Int = 1, delayMilliseconds: Int? = nil) {
        self.endpoint = endpoint
        self.mode = mode
        self.count = count
        self.delayMilliseconds = delayMilliseconds
    }

    /// True for the `<channel>.notify` endpoints.
    public var isNotification: Bool { endpoint.hasSuffix(".notify") }

    var json: [String: Any] {
        var object: [String: Any] = ["endpoint": endpoint, "mode": mode.rawValue, "count": count]
        if let delayMilliseconds { object["delay_ms"] = delayMilliseconds }
        return object
    }
}

/// The faults in force, one per endpoint. Each call of an endpoint takes one use of its fault.
final class FaultInjector: Sendable {
    private let allowed: Mutex<Set<String>>
    private let faults = Mutex<[String: SandboxFault]>([:])

    init(endpoints: Set<String>) {
        allowed = Mutex(endpoints)
    }

    /// Every endpoint a fault may name.
    var endpoints: Set<String> { allowed.withLock { $0 } }

    /// Adds endpoints a fault may name (each channel's, as it is registered).
    func allow(_ more: Set<String>) {
        allowed.withLock { $0.formUnion(more) }
    }

    /// Installs `fault` (replacing the endpoint's previous one); returns why not when it does not apply.
    func set(_ fault: SandboxFault) -> String? {
        guard endpoints.contains(fault.endpoint) else {
            return "unknown endpoint \(fault.endpoint); one of " + endpoints.sorted().joined(separator: ", ")
        }
        guard fault.count != 0, fault.count >= -1 else { return "count must be -1 (until cleared) or more than 0" }
        if fault.isNotification, fault.mode == .error5xx {
            return "error5xx applies to API endpoints, not notifications"
        }
        if !fault.isNotification, fault.mode == .duplicate {
            return "duplicate applies to notifications (<channel>.notify), not API endpoints"
        }
        if fault.mode == .refuse || fault.mode == .abnormal, !fault.endpoint.hasSuffix(".refund") {
            return "\(fault.mode.rawValue) applies to refund API endpoints (<channel>.refund)"
        }
        if let delay = fault.delayMilliseconds, delay < 0 { return "delay_ms must not be negative" }
        faults.withLock { $0[fault.endpoint] = fault }
        return nil
    }

    func clear() {
        faults.withLock { $0.removeAll() }
    }

    var all: [SandboxFault] {
        faults.withLock { $0.values.sorted { $0.endpoint < $1.endpoint } }
    }

    /// Takes one use of the fault on `endpoint`, if any.
    func take(_ endpoint: String) -> SandboxFault? {
        faults.withLock { all in
            guard var fault = all[endpoint] else { return nil }
            if fault.count > 0 {
                fault.count -= 1
                all[endpoint] = fault.count == 0 ? nil : fault
            }
            return fault
        }
    }
}
