import Foundation
import Hummingbird

/// `/sandbox/…`: the payer's and the channel's acts, the sandbox's view of an order, and fault injection.
struct SandboxControlRoutes: Sendable {
    let channels: [any SandboxChannel]
    let faults: FaultInjector

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/sandbox/faults") { request, _ in
            let body = Array(buffer: try await request.body.collect(upTo: 64 * 1024))
            return setFault(body).response
        }
        router.get("/sandbox/faults") { _, _ in
            SandboxReply.json(200, ["faults": faults.all.map(\.json)]).response
        }
        router.delete("/sandbox/faults") { _, _ in
            faults.clear()
            return SandboxReply.json(200, ["faults": [Any]()]).response
        }
        router.get("/sandbox/state/:channel/:no") { request, context in
            guard let (channel, number) = target(context) else { return unknownChannel(context).response }
            return channel.state(outTradeNo: number, account: request.uri.queryParameters.get("account")).response
        }
        router.post("/sandbox/:channel/:act/:no") { request, context in
            guard let (channel, number) = target(context) else { return unknownChannel(context).response }
            let account = request.uri.queryParameters.get("account")
            switch context.parameters.get("act") {
            case "pay": return await channel.pay(outTradeNo: number, account: account).response
            case "close": return await channel.close(outTradeNo: number, account: account).response
            case "refund": return await channel.refund(outRefundNo: number, account: account).response
            default: return SandboxReply.error(404, "unknown act; use pay, close or refund").response
            }
        }
    }

    private func target(_ context: BasicRequestContext) -> (any SandboxChannel, String)? {
        guard let name = context.parameters.get("channel"), let number = context.parameters.get("no"),
            let channel = channels.first(where: { $0.name == name })
        else { return nil }
        return (channel, number.removingPercentEncoding ?? number)
    }

    private func unknownChannel(_ context: BasicRequestContext) -> SandboxReply {
        let names = channels.map(\.name).joined(separator: ", ")
        return .error(404, "the sandbox plays \(names.isEmpty ? "no channel" : names), not \(context.parameters.get("channel") ?? "?")")
    }

    private func setFault(_ body: [UInt8]) -> SandboxReply {
        guard let json = SandboxJSON.decode(body), let endpoint = SandboxJSON.string(json, "endpoint"),
            let modeName = SandboxJSON.string(json, "mode")
        else {
            return .error(400, "expected {\"endpoint\": …, \"mode\": …, \"count\": N, \"delay_ms\": …}")
        }
        guard let mode = SandboxFault.Mode(rawValue: modeName) else {
            return .error(400, "mode must be one of " + SandboxFault.Mode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let fault = SandboxFault(
            endpoint: endpoint, mode: mode, count: SandboxJSON.int(json, "count").map(Int.init) ?? 1,
            delayMilliseconds: SandboxJSON.int(json, "delay_ms").map(Int.init))
        if let problem = faults.set(fault) { return .error(400, problem) }
        return .json(200, ["fault": fault.json])
    }
}
