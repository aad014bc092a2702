import Configuration
import Foundation
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Testing

struct ConfigurationTests {
    @Test func environmentOverridesTheFileAndFlagsOverrideTheEnvironment() async throws {
        let file = TestServices.repositoryRoot.appendingPathComponent("config/sandbox/payfleet.sandbox.yaml").path
        let reader = try await ConfigReader.payfleet(
            overrides: ["worker.concurrency": 3],
            environment: ["PAYFLEET_CONFIG": file, "PAYFLEET_RECEIVER_PORT": "9999", "PAYFLEET_WORKER_CONCURRENCY": "5"])
        #expect(ReceiverSettings(reader: reader).port == 9999)  // env beats the file's 8080
        #expect(WorkerSettings(reader: reader).concurrency == 3)  // the flag beats the env
        #expect(ReceiverSettings(reader: reader).maxBodyBytes == 65536)  // the default
    }

    @Test func aMissingBrokerURLIsOneClearLine() async throws {
        let reader = try await ConfigReader.payfleet(environment: ["PAYFLEET_CONFIG": ""])
        let error = #expect(throws: PayFleetError.self) { try AMQPSettings(reader: reader, connectionName: "test") }
        #expect(error?.description.hasPrefix("PAYFLEET_AMQP_URL is not set") == true)
    }

    @Test func aConfigFileThatDoesNotExistIsNamed() async throws {
        let error = await #expect(throws: PayFleetError.self) {
            try await ConfigReader.payfleet(environment: ["PAYFLEET_CONFIG": "/nonexistent/payfleet.yaml"])
        }
        #expect(error?.description.contains("/nonexistent/payfleet.yaml") == true)
    }

    @Test func aMissingKeyFileNamesTheFileAndTheMerchant() async throws {
        let reader = ConfigReader(provider: InMemoryProvider(values: [
            "channels.alipay.merchants": .init(.stringArray(["shop"]), isSecret: false),
            "channels.alipay.shop.app_id": "2021000000000009",
            "channels.alipay.shop.public_key_files": .init(.stringArray(["/nonexistent/alipay.pem"]), isSecret: false),
        ]))
        let error = #expect(throws: PayFleetError.self) { try MerchantRegistry(reader: reader) }
        #expect(error?.description.contains("alipay merchant shop") == true)
        #expect(error?.description.contains("/nonexistent/alipay.pem") == true)
    }

    @Test func postgresURLsAreParsedAndRedacted() throws {
        let settings = try PostgresSettings(url: "postgres://fleet:s3cret@db.internal:6432/payfleet?sslmode=disable")
        #expect(settings.configuration.host == "db.internal")
        #expect(settings.configuration.port == 6432)
        #expect(settings.configuration.database == "payfleet")
        #expect(!settings.redactedURL.contains("s3cret"))
        #expect(throws: PayFleetError.self) { try PostgresSettings(url: "mysql://x@y/z") }
    }
}
