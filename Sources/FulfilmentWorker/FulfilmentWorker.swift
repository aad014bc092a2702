import Foundation
import PayFleetRuntime

/// fulfilment-worker: settles payments and marks orders paid from verified notifications.
@main
enum FulfilmentWorker {
    static func main() async {
        let overrides = RoleMain.overrides(
            from: Array(CommandLine.arguments.dropFirst()),
            allowed: ["--concurrency": "worker.concurrency", "--ops-port": "ops.port"])
        await RoleMain.run(role: "fulfilment-worker", overrides: overrides, build: FulfilmentWorkerApp.build(reader:))
    }
}
