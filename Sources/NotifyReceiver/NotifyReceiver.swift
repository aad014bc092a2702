import Foundation
import PayFleetRuntime

/// notify-receiver: verifies channels' notifications and publishes them, confirmed, to RabbitMQ.
@main
enum NotifyReceiver {
    static func main() async {
        // A request's task resumes on the event loop that read it and writes its response there
        // (docs/performance.md: 14% less CPU per notification than with the cooperative pool).
        RoleMain.runJobsOnEventLoops()
        let overrides = RoleMain.overrides(
            from: Array(CommandLine.arguments.dropFirst()),
            allowed: ["--port": "receiver.port", "--ops-port": "ops.port"])
        await RoleMain.run(role: "notify-receiver", overrides: overrides, build: NotifyReceiverApp.build(reader:))
    }
}
