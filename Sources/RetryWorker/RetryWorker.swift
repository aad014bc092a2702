import Foundation
import PayFleetRuntime

/// retry-worker: republishes messages parked in `retries` once they are due (DESIGN §6).
@main
enum RetryWorker {
    static func main() async {
        let overrides = RoleMain.overrides(
            from: Array(CommandLine.arguments.dropFirst()), allowed: ["--ops-port": "ops.port"])
        await RoleMain.run(role: RetryWorkerApp.role, overrides: overrides, build: RetryWorkerApp.build(reader:))
    }
}
