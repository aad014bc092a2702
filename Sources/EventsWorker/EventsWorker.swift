import Foundation
import PayFleetRuntime

/// events-worker: publishes the transactional outbox to payfleet.events (order.paid, …).
@main
enum EventsWorker {
    static func main() async {
        let overrides = RoleMain.overrides(
            from: Array(CommandLine.arguments.dropFirst()), allowed: ["--ops-port": "ops.port"])
        await RoleMain.run(role: EventsWorkerApp.role, overrides: overrides, build: EventsWorkerApp.build(reader:))
    }
}
