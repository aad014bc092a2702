import Foundation
import PayFleetRuntime

/// inventory-worker: turns each paid order's stock reservation into a deduction, once.
@main
enum InventoryWorker {
    static func main() async {
        let overrides = RoleMain.overrides(
            from: Array(CommandLine.arguments.dropFirst()),
            allowed: ["--concurrency": "worker.concurrency", "--ops-port": "ops.port"])
        await RoleMain.run(role: "inventory-worker", overrides: overrides, build: InventoryWorkerApp.build(reader:))
    }
}
