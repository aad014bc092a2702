import Foundation
import PayFleetRuntime

/// payment-worker: creates orders and pending payments from payment.create jobs.
@main
enum PaymentWorker {
    static func main() async {
        let overrides = RoleMain.overrides(
            from: Array(CommandLine.arguments.dropFirst()),
            allowed: ["--concurrency": "worker.concurrency", "--ops-port": "ops.port"])
        await RoleMain.run(role: "payment-worker", overrides: overrides, build: PaymentWorkerApp.build(reader:))
    }
}
