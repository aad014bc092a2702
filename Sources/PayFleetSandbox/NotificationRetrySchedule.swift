/// How long a channel waits after a failed notification before it sends the next one, in real time; the
/// sandbox divides each delay by `sandbox.time_compression`.
public enum NotificationRetrySchedule {
    /// WeChat Pay API v3 payment and refund notifications: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h,
    /// 15 retries over 24h4m (the v3 pay-notification docs, "通知频率").
    public static let weChatPayV3: [Duration] = [
        .seconds(15), .seconds(15), .seconds(30), .minutes(3), .minutes(10), .minutes(20), .minutes(30),
        .minutes(30), .minutes(30), .minutes(60), .hours(3), .hours(3), .hours(3), .hours(6), .hours(6),
    ]

    /// WeChat Pay API v2 payment and refund notifications: the same 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/
    /// 3h/6h/6h over 24h4m (the v2 "支付结果通知" docs, "通知频率").
    public static let weChatPayV2: [Duration] = weChatPayV3

    /// Alipay asynchronous notifications: 4m,10m,10m,1h,2h,6h,15h — 8 sends within 25 hours (the
    /// 异步通知 docs).
    public static let alipay: [Duration] = [
        .minutes(4), .minutes(10), .minutes(10), .hours(1), .hours(2), .hours(6), .hours(15),
    ]

    /// Baidu cashier payment callbacks ("通知支付状态"): three retries after a failure. Baidu does not state the
    /// intervals of this callback; these are the first three of its refund callbacks' 2m/4m/10m/….
    public static let baidu: [Duration] = [.minutes(2), .minutes(4), .minutes(10)]

    /// Baidu cashier refund callbacks ("通知退款状态"): 2m/4m/10m/30m/1h…, without a stated end; the sandbox stops
    /// after the documented steps.
    public static let baiduRefund: [Duration] = [.minutes(2), .minutes(4), .minutes(10), .minutes(30), .hours(1)]

    /// Stripe webhooks: live mode retries "for up to three days with an exponential back off" (the webhooks
    /// docs give no exact steps); modelled as doubling from 1 minute, 12 retries over about 68 hours.
    public static let stripe: [Duration] = (0..<12).map { .minutes(1 << $0) }

    /// `delay` divided by `compression`.
    public static func compressed(_ delay: Duration, by compression: Double) -> Duration {
        delay / compression
    }
}

extension Duration {
    static func minutes(_ value: Int) -> Duration { .seconds(value * 60) }
    static func hours(_ value: Int) -> Duration { .seconds(value * 3600) }
}
