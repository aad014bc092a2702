import Configuration
import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PaymentChannels
import Prometheus
import Testing

/// Which merchants payment-worker can call, from configuration, and what their calls report on /metrics.
struct GatewayRegistryTests {
    static func reader(_ extra: [String: String] = [:]) async throws -> ConfigReader {
        _ = FileManager.default.changeCurrentDirectoryPath(TestServices.repositoryRoot.path)
        let file = TestServices.repositoryRoot.appendingPathComponent("config/sandbox/payfleet.sandbox.yaml").path
        return try await ConfigReader.payfleet(environment: ["PAYFLEET_CONFIG": file].merging(extra) { $1 })
    }

    @Test func everyMerchantWithAnAPISectionHasAGatewayAndOthersDoNot() async throws {
        let registry = try GatewayRegistry(reader: try await Self.reader())
        #expect(registry.gateway(channel: .wechatpay, merchant: "demo")?.channel == .wechatpay)
        #expect(registry.gateway(channel: .alipay, merchant: "demo")?.merchantID == "demo")
        #expect(registry.gateway(channel: .wechatpay, merchant: "nobody") == nil)
        #expect(registry.names.contains("wechatpay/demo") && registry.names.contains("alipay/demo"))
    }

    @Test func aMissingKeyFileStopsStartUpAndNamesTheSetting() async throws {
        let reader = try await Self.reader([
            "PAYFLEET_CHANNELS_WECHATPAY_DEMO_API_PRIVATE_KEY_FILE": "/nonexistent/apiclient_key.pem"
        ])
        let error = try #require(throws: PayFleetError.self) { try GatewayRegistry(reader: reader) }
        #expect("\(error)".contains("wechatpay merchant demo api"), "\(error)")
        #expect("\(error)".contains("/nonexistent/apiclient_key.pem"), "\(error)")
    }

    @Test func withoutANotifyURLOrPublicURLTheMerchantIsRefused() async throws {
        let reader = try await Self.reader(["PAYFLEET_RECEIVER_PUBLIC_URL": ""])
        let error = try #require(throws: PayFleetError.self) { try GatewayRegistry(reader: reader) }
        #expect("\(error)".contains("receiver.public_url"), "\(error)")
    }

    @Test func channelCallsAreCountedByOutcomeAndTimed() async throws {
        let (_, registry) = Observability.bootstrap(label: "test", reader: try await Self.reader())
        let gateway = MeteredGateway(ScriptedGateway())
        _ = try await gateway.prepay(PrepayOrder(paymentNo: "P1", amountMinor: 1, currency: "CNY", description: "x"))
        await #expect(throws: ChannelAPIError.self) { try await gateway.query(paymentNo: "P1") }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.contains(#"payfleet_channel_calls_total{channel="stripe",operation="prepay",outcome="ok"} 1"#), "\(text)")
        #expect(text.contains(#"payfleet_channel_calls_total{channel="stripe",operation="query",outcome="server_error"} 1"#))
        #expect(text.contains(#"payfleet_channel_call_seconds_bucket{channel="stripe",operation="prepay""#))
        _ = try await gateway.refund(
            RefundOrder(
                refundNo: "R1", paymentNo: "P1", channelTradeNo: "pi_1", paymentAmountMinor: 100, amountMinor: 50,
                currency: "CNY"))
        await #expect(throws: ChannelAPIError.self) {
            try await gateway.queryRefund(RefundLookup(refundNo: "R1", paymentNo: "P1", channelTradeNo: "pi_1"))
        }
        buffer = []
        registry.emit(into: &buffer)
        let after = String(decoding: buffer, as: UTF8.self)
        #expect(after.contains(#"payfleet_channel_calls_total{channel="stripe",operation="refund",outcome="ok"} 1"#), "\(after)")
        #expect(
            after.contains(
                #"payfleet_channel_calls_total{channel="stripe",operation="refund_query",outcome="authentication"} 1"#))
    }
}

/// Prepay succeeds; query fails with a 5xx; a refund is accepted; a refund query is refused.
private struct ScriptedGateway: PaymentGateway {
    var channel: ChannelID { .stripe }
    var merchantID: String { "scripted" }
    func prepay(_ order: PrepayOrder) async throws(ChannelAPIError) -> [String: String] { ["client_secret": "cs"] }
    func query(paymentNo: String) async throws(ChannelAPIError) -> ChannelPaymentState {
        throw ChannelAPIError(code: .serverError, channel: .stripe, operation: "retrieve", message: "HTTP 500")
    }
    func close(paymentNo: String) async throws(ChannelAPIError) {}
    func refund(_ order: RefundOrder) async throws(ChannelAPIError) -> ChannelRefundState {
        .processing(channelRefundNo: "re_1", raw: "{}")
    }
    func queryRefund(_ lookup: RefundLookup) async throws(ChannelAPIError) -> ChannelRefundState {
        throw ChannelAPIError(code: .authentication, channel: .stripe, operation: "retrieve_refund", message: "HTTP 401")
    }
}

extension GatewayRegistry {
    /// The channel's own gateway behind the metering wrapper every registered gateway gets.
    func underlying(_ channel: ChannelID, _ merchant: String) -> (any PaymentGateway)? {
        (gateway(channel: channel, merchant: merchant) as? MeteredGateway)?.wrapped
    }
}
