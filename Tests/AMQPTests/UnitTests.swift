import AMQP
import Testing

@Suite("AMQP configuration and topology (no broker)")
struct UnitTests {
    @Test func parsesAFullURL() throws {
        let configuration = try AMQPConfiguration(
            url: "amqp://payfleet:s3cr%40t@127.0.0.1:25672/%2F", connectionName: "test")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 25672)
        #expect(configuration.user == "payfleet")
        #expect(configuration.virtualHost == "/")
        #expect(configuration.useTLS == false)
        #expect(configuration.connectionName == "test")
        #expect(configuration.redactedURL == "amqp://payfleet:***@127.0.0.1:25672/%2F")
        #expect(!"\(configuration)".contains("s3cr"))
    }

    @Test func appliesDefaults() throws {
        let configuration = try AMQPConfiguration(url: "amqp://", connectionName: "test")
        #expect(configuration.host == "localhost")
        #expect(configuration.port == 5672)
        #expect(configuration.user == "guest")
        #expect(configuration.virtualHost == "/")
        #expect(configuration.heartbeat == .seconds(10))
        #expect(configuration.reconnectInitialBackoff == .milliseconds(100))
        #expect(configuration.reconnectMaxBackoff == .seconds(5))

        let hostOnly = try AMQPConfiguration(url: "amqp://rabbit.internal", connectionName: "test")
        #expect(hostOnly.host == "rabbit.internal")
        #expect(hostOnly.port == 5672)
        #expect(hostOnly.virtualHost == "/")
    }

    @Test func decodesTheVhostAndSupportsTLSAndIPv6() throws {
        let named = try AMQPConfiguration(url: "amqp://u:p@h/payfleet_test", connectionName: "test")
        #expect(named.virtualHost == "payfleet_test")
        let encoded = try AMQPConfiguration(url: "amqp://u:p@h/%2Fprod%20eu", connectionName: "test")
        #expect(encoded.virtualHost == "/prod eu")
        let tls = try AMQPConfiguration(url: "AMQPS://u:p@rabbit.example.com", connectionName: "test")
        #expect(tls.useTLS)
        #expect(tls.port == 5671)
        #expect(tls.tlsVerifyPeer)
        let ipv6 = try AMQPConfiguration(url: "amqp://u:p@[::1]:5673/", connectionName: "test")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 5673)
        #expect(ipv6.redactedURL == "amqp://u:***@[::1]:5673/%2F")
    }

    @Test(arguments: [
        "http://u:p@h/", "amqp//h", "amqp://u:secretpw@h:99999/", "amqp://u:secretpw@h:port/", "amqp://u:secretpw@h/a/b",
        "amqp://u:secret%zz@h/",
    ])
    func rejectsBadURLsWithoutLeakingThePassword(url: String) {
        #expect {
            try AMQPConfiguration(url: url, connectionName: "test")
        } throws: { error in
            guard let error = error as? AMQPError else { return false }
            return error.code == .invalidURL && !error.description.contains("secret")
                && !error.debugDescription.contains("secret")
        }
    }

    @Test func errorDescriptionsNameTheCode() {
        let error = AMQPError(code: .unroutable, message: "no queue", replyCode: 312, detail: "NO_ROUTE")
        #expect(error.description == "AMQPError.unroutable: no queue")
        #expect(error.debugDescription.contains("312"))
        #expect(error.debugDescription.contains("NO_ROUTE"))
        #expect(AMQPError.Code.staleDelivery.description == "staleDelivery")
    }

    @Test func aDetachedDeliverySettlesAsANoOp() async throws {
        let delivery = AMQPDelivery(body: [1, 2, 3], messageID: "m1", routingKey: "payment.succeeded.stripe")
        try await delivery.ack()
        try await delivery.nack(requeue: true)
        #expect(delivery.body == [1, 2, 3])
    }
}
