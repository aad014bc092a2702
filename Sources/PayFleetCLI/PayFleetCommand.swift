import ArgumentParser

/// `payfleet`: the operators' command line.
@main
struct PayFleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payfleet",
        abstract: "Operate a PayFleet: migrate, inspect, enqueue jobs, seed stock, play a channel locally.",
        subcommands: [
            MigrateCommand.self, StatusCommand.self, EnqueueCommand.self, StockCommand.self, SandboxCommand.self,
            DeadLettersCommand.self, ReconcileCommand.self,
            BenchCommand.self, KeysCommand.self,
        ]
    )
}
