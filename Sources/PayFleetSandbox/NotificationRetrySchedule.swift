/// How long a channel waits after a failed notification before it sends the next one, in real time; the
/// sandbox divides each delay by `sandbox.time_compression`.
public enum NotificationRetrySchedule {
    /// WeChat Pay API v3 payment and refund notifications: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h,
    /// 15 retries over 24h4m (the v3 pay-notification docs, "通知频率").
    public static let weChatPayV3: [Duration] = [
        .seconds(15), .seconds(15), .seconds(30), .minutes(3), .minutes(10), .minutes(20), .minutes(30),
        .minutes(30), .minutes(30), .minutes(60), .hours(3), .hours(3), .hours(3), .hours(6), .hours(6),
    ]

    /// Alipay asynchronous notifications: 4m,10m,10m,1h,2h,6h,15h — 8 sends within 25 hours (the
    /// 异步通知 docs).
    public static let alipay: [Duration] = [
        .minutes(4), .minutes(10), .minutes(10), .hours(1), .hours(2), .hours(6), .hours(15),
    ]

    /// `delay` divided by `compression`.
    public static func compressed(_ delay: Duration, by compression: Double) -> Duration {
        delay / compression
    }
}

extension Duration {
    static func minutes(_ value: Int) -> Duration { .seconds(value * 60) }
    static func hours(_ value: Int) -> Duration { .seconds(value * 3600) }
}
