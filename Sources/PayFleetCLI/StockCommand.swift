import ArgumentParser
import Configuration
import PayFleetRuntime
import PayFleetStore

struct StockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stock", abstract: "Inventory.", subcommands: [Set.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a SKU's on-hand quantity (creates the SKU).")

        @Option(help: "The SKU.") var sku: String
        @Option(name: .customLong("on-hand"), help: "Units on hand.") var onHand: Int64

        func validate() throws {
            guard onHand >= 0 else { throw ValidationError("--on-hand must be 0 or more") }
        }

        func run() async throws {
            let reader = try await ConfigReader.payfleet()
            let logger = commandLogger(reader)
            let (sku, onHand) = (sku, onHand)
            try await Dependencies.withStore(reader: reader, logger: logger) { store, _ in
                try await store.setStock(sku: sku, onHand: onHand)
            }
            print("stock \(sku): on_hand \(onHand)")
        }
    }
}
