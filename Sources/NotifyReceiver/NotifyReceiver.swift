import Foundation
import PayFleetRuntime

/// notify-receiver: verifies channels' notifications and publishes them, confirmed, to RabbitMQ.
@main
enum NotifyReceiver {
    static func main() async {
        let overrides = RoleMain.overrides(
            from: Array(CommandLine.arguments.dropFirst()),
            allowed: ["--port": "receiver.port", "--ops-port": "ops.port"])
        await RoleMain.run(role: "notify-receiver", overrides: overrides, build: NotifyReceiverApp.build(reader:))
    }
}
