import AMQP
import ArgumentParser
import Configuration
import PayFleetRuntime
import PayFleetStore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending SQL migrations (under an advisory lock) and declare the AMQP topology.")

    @Flag(help: "Only migrate PostgreSQL; do not declare the broker topology.")
    var skipBroker = false

    func run() async throws {
        let reader = try await ConfigReader.payfleet()
        let logger = commandLogger(reader)
        let applied = try await Dependencies.withStore(reader: reader, logger: logger) { store, _ in
            try await store.migrate()
        }
        print(applied.isEmpty ? "database: up to date" : "database: applied migrations \(applied.map(String.init).joined(separator: ", "))")
        if !skipBroker {
            try await Dependencies.withBroker(reader: reader, logger: logger, connectionName: "payfleet-migrate") { connection, settings in
                try await connection.declare(settings.topology)
            }
            print("broker: topology declared")
        }
    }
}
