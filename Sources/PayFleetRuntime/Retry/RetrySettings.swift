import Configuration
import Foundation
import PayFleetMessages

/// The retry path's settings (DESIGN §6): the backoff and attempt limit per routing key, and
/// how the retry-worker claims due rows.
///
/// Keys (environment: `PAYFLEET_` + the key in upper case, dots as underscores):
/// - `retry.default.base_ms` (default 1000): the largest delay before the first retry; each
///   further retry doubles it.
/// - `retry.default.cap_ms` (default 300000): no delay is ever longer.
/// - `retry.default.max_attempts` (default 8): deliveries in all, the first one included;
///   a message whose last attempt fails transiently goes to `dead_letters`.
/// - `retry.routes.<routing key with dots as underscores>.base_ms`, `.cap_ms`,
///   `.max_attempts`: the same for one routing key, e.g.
///   `retry.routes.payment_create.max_attempts` for `payment.create`; what is unset falls
///   back to `retry.default.*`. Read for PayFleet's routing keys (DESIGN §3); any other
///   routing key uses the defaults.
/// - `retry.batch_size` (retry-worker, default 100): due rows claimed per transaction.
/// - `retry.poll_interval_ms` (retry-worker, default 1000): the longest a retry-worker sleeps
///   between claims when no NOTIFY wakes it.
///
/// The delay before attempt n+1 is drawn uniformly from 0 to min(cap, base·2^(n−1))
/// ("full jitter"), so many messages failing at once spread out instead of returning together.
public struct RetrySettings: Sendable {
    public var defaultPolicy: RetryPolicy
    /// Policies of routing keys configured apart from the default.
    public var routes: [String: RetryPolicy]
    public var batchSize: Int
    public var pollInterval: Duration

    public init(
        defaultPolicy: RetryPolicy = RetryPolicy(), routes: [String: RetryPolicy] = [:], batchSize: Int = 100,
        pollInterval: Duration = .seconds(1)
    ) {
        self.defaultPolicy = defaultPolicy
        self.routes = routes
        self.batchSize = max(1, batchSize)
        self.pollInterval = pollInterval
    }

    /// Reads and validates the keys above; an invalid value is an error naming its key.
    public init(reader: ConfigReader, routingKeys: [String] = RetrySettings.payfleetRoutingKeys) throws {
        let fallback = try RetryPolicy(reader: reader.scoped(to: ConfigKey(["retry", "default"])), name: "retry.default",
            fallback: RetryPolicy())
        var routes: [String: RetryPolicy] = [:]
        for routingKey in routingKeys {
            let segment = routingKey.replacingOccurrences(of: ".", with: "_")
            let policy = try RetryPolicy(
                reader: reader.scoped(to: ConfigKey(["retry", "routes", segment])), name: "retry.routes.\(segment)",
                fallback: fallback)
            if policy != fallback { routes[routingKey] = policy }
        }
        let batchSize = reader.int(forKey: "retry.batch_size", default: 100)
        guard batchSize >= 1 else { throw PayFleetError(.invalidSetting, "retry.batch_size must be at least 1") }
        let poll = reader.int(forKey: "retry.poll_interval_ms", default: 1000)
        guard poll >= 10 else { throw PayFleetError(.invalidSetting, "retry.poll_interval_ms must be at least 10") }
        self.init(defaultPolicy: fallback, routes: routes, batchSize: batchSize, pollInterval: .milliseconds(poll))
    }

    /// The policy of a routing key.
    public func policy(for routingKey: String) -> RetryPolicy {
        routes[routingKey] ?? defaultPolicy
    }

    /// Every routing key of DESIGN §3.
    public static var payfleetRoutingKeys: [String] {
        ChannelID.allCases.flatMap { channel in
            [
                RoutingKey.paymentSucceeded(channel), RoutingKey.paymentClosed(channel),
                RoutingKey.refundSucceeded(channel), RoutingKey.refundFailed(channel),
            ]
        } + [
            RoutingKey.paymentCreate, RoutingKey.paymentQuery, RoutingKey.paymentClose, RoutingKey.refundCreate,
            RoutingKey.refundQuery,
            RoutingKey.paymentCreated, RoutingKey.paymentRejected, RoutingKey.orderPaid, RoutingKey.orderOversold,
            RoutingKey.paymentAnomaly, RoutingKey.paymentClosedEvent, RoutingKey.inventoryConfirmed,
            RoutingKey.refundSucceededEvent, RoutingKey.refundFailedEvent,
        ]
    }
}

/// Backoff and attempt limit for one routing key.
public struct RetryPolicy: Sendable, Hashable {
    /// The largest delay before the first retry.
    public var base: Duration
    /// The largest delay of any retry.
    public var cap: Duration
    /// Deliveries in all, the first one included.
    public var maxAttempts: Int

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(300), maxAttempts: Int = 8) {
        self.base = base
        self.cap = cap
        self.maxAttempts = maxAttempts
    }

    init(reader: ConfigReader, name: String, fallback: RetryPolicy) throws {
        let baseMS = reader.int(forKey: "base_ms", default: Int(fallback.base.wholeMilliseconds))
        let capMS = reader.int(forKey: "cap_ms", default: Int(fallback.cap.wholeMilliseconds))
        let maxAttempts = reader.int(forKey: "max_attempts", default: fallback.maxAttempts)
        guard baseMS >= 1 else { throw PayFleetError(.invalidSetting, "\(name).base_ms must be at least 1") }
        guard capMS >= baseMS else {
            throw PayFleetError(.invalidSetting, "\(name).cap_ms (\(capMS)) must not be below base_ms (\(baseMS))")
        }
        guard maxAttempts >= 1 else { throw PayFleetError(.invalidSetting, "\(name).max_attempts must be at least 1") }
        self.init(base: .milliseconds(baseMS), cap: .milliseconds(capMS), maxAttempts: maxAttempts)
    }

    /// The longest delay after attempt `attempt` failed: min(cap, base·2^(attempt−1)).
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = Double(min(max(attempt - 1, 0), 62))
        let milliseconds = min(Double(cap.wholeMilliseconds), Double(base.wholeMilliseconds) * pow2(exponent))
        return .milliseconds(Int64(milliseconds))
    }

    /// The delay after attempt `attempt` failed, with full jitter: `unit` (a uniform draw
    /// from 0...1) times ``ceiling(afterAttempt:)``.
    public func backoff(afterAttempt attempt: Int, unit: Double) -> Duration {
        let ceiling = Double(ceiling(afterAttempt: attempt).wholeMilliseconds)
        return .milliseconds(Int64((ceiling * min(max(unit, 0), 1)).rounded()))
    }

    private func pow2(_ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= 2 }
        return result
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
