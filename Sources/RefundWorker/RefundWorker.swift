import Foundation
import PayFleetRuntime

/// refund-worker: refund.create and refund.query jobs and refund notifications, through the channels' refund APIs.
@main
enum RefundWorker {
    static func main() async {
        let overrides = RoleMain.overrides(
            from: Array(CommandLine.arguments.dropFirst()),
            allowed: ["--concurrency": "worker.concurrency", "--ops-port": "ops.port"])
        await RoleMain.run(role: "refund-worker", overrides: overrides, build: RefundWorkerApp.build(reader:))
    }
}
