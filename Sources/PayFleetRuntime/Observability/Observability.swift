import Configuration
import Foundation
import Logging
import Metrics
import Prometheus
import Synchronization

/// Process-wide logging and metrics, bootstrapped once per process.
///
/// Keys: `log.level` (trace…critical, default info), `log.cli_level` (the `payfleet`
/// command's, default warning).
/// Logs are swift-log lines on stderr with structured metadata; secrets and full bodies are
/// never logged. Metrics go to one Prometheus registry served at `/metrics`.
public enum Observability {
    private static let state = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Bootstraps swift-log and swift-metrics (only the first call has an effect) and
    /// returns the logger for `label` and the registry `/metrics` serves. One-shot commands
    /// pass `levelKey: "log.cli_level"` (default warning) so their output stays readable.
    public static func bootstrap(
        label: String, reader: ConfigReader, levelKey: String = "log.level", defaultLevel: Logger.Level = .info
    ) -> (Logger, PrometheusCollectorRegistry) {
        let level = Logger.Level(rawValue: reader.string(forKey: ConfigKey(levelKey), default: defaultLevel.rawValue)) ?? defaultLevel
        let registry = state.withLock { registry in
            if let registry { return registry }
            let created = PrometheusCollectorRegistry()
            LoggingSystem.bootstrap { label in LineLogHandler(label: label, logLevel: level) }
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: created))
            registry = created
            return created
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        logger[metadataKey: "pid"] = "\(ProcessInfo.processInfo.processIdentifier)"
        return (logger, registry)
    }
}
