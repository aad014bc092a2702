import Foundation
import PayFleetSandbox
import Testing

@Suite("channel sandbox: refund settings")
struct SandboxRefundSettingsTests {
    static func load(_ environment: [String: String]) async throws -> SandboxSettings {
        let config = Keys.root.appendingPathComponent("config/sandbox/payfleet.sandbox.yaml").path
        return try await SandboxSettings.load(environment: ["PAYFLEET_CONFIG": config].merging(environment) { $1 })
    }

    @Test("sandbox.refund_complete_ms: 300 ms by default, 0 for only when told to, never negative")
    func refundComplete() async throws {
        #expect(try await Self.load([:]).refundComplete == .milliseconds(300))
        #expect(try await Self.load(["PAYFLEET_SANDBOX_REFUND_COMPLETE_MS": "50"]).refundComplete == .milliseconds(50))
        #expect(try await Self.load(["PAYFLEET_SANDBOX_REFUND_COMPLETE_MS": "0"]).refundComplete == nil)
        await #expect(throws: SandboxError.self) {
            _ = try await Self.load(["PAYFLEET_SANDBOX_REFUND_COMPLETE_MS": "-1"])
        }
    }
}
