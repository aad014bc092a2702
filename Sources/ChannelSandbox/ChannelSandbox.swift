import Foundation
import PayFleetSandbox

/// channel-sandbox: the local stand-in for the payment channels' APIs and notifications (TEST-ONLY keys).
@main
enum ChannelSandbox {
    static func main() async {
        do {
            let settings = try await SandboxSettings.load()
            let server = SandboxServer(settings: settings, logger: SandboxServer.logger(level: settings.logLevel))
            print(
                "channel-sandbox: \(server.channelNames.joined(separator: ", ")) on "
                    + "\(settings.host):\(settings.port), notifications to \(settings.notifyBaseURL)")
            try await server.run()
        } catch {
            FileHandle.standardError.write(Data("channel-sandbox: \(error)\n".utf8))
            exit(1)
        }
    }
}
