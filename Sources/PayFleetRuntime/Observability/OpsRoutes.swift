import Hummingbird
import Prometheus

/// `/health/live`, `/health/ready` and `/metrics`, added to any router.
///
/// Live answers 200 while the process serves HTTP at all; ready answers 200 only while every
/// dependency the role needs is connected (`ready` decides), else 503 with the reason.
public enum OpsRoutes {
    public static func add<Context: RequestContext>(
        to router: Router<Context>,
        registry: PrometheusCollectorRegistry,
        ready: @escaping @Sendable () -> String?
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
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: .init(bytes: registry.emitToBuffer())))
        }
    }
}
