import Configuration
import Logging
import PayFleetRuntime

/// The logger of a one-shot `payfleet` command: `log.cli_level` (default warning), so what
/// the command prints stays readable; the roles log at `log.level`.
func commandLogger(_ reader: ConfigReader, label: String = "payfleet") -> Logger {
    Observability.bootstrap(label: label, reader: reader, levelKey: "log.cli_level", defaultLevel: .warning).0
}
