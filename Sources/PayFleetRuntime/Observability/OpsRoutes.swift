import AMQP
import Hummingbird
import Metrics
import Prometheus
import Synchronization

/// `/health/live`, `/health/ready` and `/metrics`, added to any router.
///
/// Live answers 200 while the process serves HTTP at all; ready answers 200 only while every
/// dependency the role needs is connected (`ready` decides), else 503 with the reason.
public enum OpsRoutes {
    /// All three, on an ops port. With `broker`, `/metrics` also reports `payfleet_broker_connected` (1 or 0) and
    /// `payfleet_broker_connects_total` (the first connect and every reconnect) as of the scrape.
    public static func add<Context: RequestContext>(
        to router: Router<Context>,
        registry: PrometheusCollectorRegistry,
        broker: AMQPConnection? = nil,
        ready: @escaping @Sendable () -> String?
    ) {
        addHealth(to: router, ready: ready)
        addMetrics(to: router, registry: registry, broker: broker)
    }

    /// `/health/live` and `/health/ready` alone: what a port facing the internet may answer (a load balancer
    /// probes it), where `/metrics` (merchants, volumes, outcomes) would tell strangers too much.
    public static func addHealth<Context: RequestContext>(
        to router: Router<Context>, ready: @escaping @Sendable () -> String?
    ) {
        router.get("/health/live") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: .init(string: "live\n")))
        }
        router.get("/health/ready") { _, _ in
            if let problem = ready() {
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                    body: .init(byteBuffer: .init(string: "not ready: \(problem)\n")))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: .init(string: "ready\n")))
        }
    }

    static func addMetrics<Context: RequestContext>(
        to router: Router<Context>, registry: PrometheusCollectorRegistry, broker: AMQPConnection?
    ) {
        let connected = Gauge(label: "payfleet_broker_connected")
        let connects = Counter(label: "payfleet_broker_connects_total")
        let reported = Mutex(0)
        router.get("/metrics") { _, _ in
            if let broker {
                connected.record(broker.isConnected ? 1 : 0)
                let opened = broker.linksOpened
                let delta = reported.withLock { last in
                    defer { last = max(last, opened) }
                    return max(0, opened - last)
                }
                if delta > 0 { connects.increment(by: delta) }
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: .init(bytes: registry.emitToBuffer())))
        }
    }
}
