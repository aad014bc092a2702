import AMQP
import Logging
import Metrics
import PayFleetStore
import PostgresNIO
import ServiceLifecycle

/// The retry-worker's loop (DESIGN §6): claims due rows of `retries` (`FOR UPDATE SKIP
/// LOCKED`, oldest first, ``RetrySettings/batchSize`` at a time), republishes each to its
/// original exchange and routing key with publisher confirms and its next attempt number,
/// and deletes the published rows in the claiming transaction, committed after the confirms.
///
/// Any number of copies may run: SKIP LOCKED hands each row to one claim, which deletes it.
/// Between claims it sleeps until the next row is due, at most ``RetrySettings/pollInterval``,
/// and wakes early on `NOTIFY payfleet_retries` (sent by a trigger on every insert).
/// A row that no queue is bound for goes to `dead_letters`; one that cannot be published now
/// (broker down) stays for a later claim.
///
/// On graceful shutdown it finishes the claim in progress, commits and returns.
public struct RetryRelay: Service {
    /// The NOTIFY channel the `retries` insert trigger signals.
    public static let channel = "payfleet_retries"

    let store: PayFleetStore
    let connection: AMQPConnection
    let settings: RetrySettings
    let publishTimeout: Duration
    let logger: Logger
    let doorbell = Doorbell()

    public init(
        store: PayFleetStore, connection: AMQPConnection, settings: RetrySettings, publishTimeout: Duration,
        logger: Logger
    ) {
        self.store = store
        self.connection = connection
        self.settings = settings
        self.publishTimeout = publishTimeout
        self.logger = logger
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await listen() }
            await withGracefulShutdownHandler {
                await claimLoop()
            } onGracefulShutdown: {
                doorbell.ring()
            }
            group.cancelAll()
        }
        logger.info("stopped republishing retries")
    }

    private func claimLoop() async {
        let republished = Counter(label: "payfleet_retries_republished_total")
        let deadLettered = Counter(label: "payfleet_retries_dead_lettered_total")
        let failed = Counter(label: "payfleet_retries_publish_failures_total")
        let claimErrors = Counter(label: "payfleet_retries_claim_errors_total")
        logger.info(
            "republishing due retries",
            metadata: ["batch_size": "\(settings.batchSize)", "poll_interval": "\(settings.pollInterval)"])

        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            guard connection.isConnected else {
                try? await connection.waitUntilConnected(timeout: .seconds(1))
                continue
            }
            var wait = settings.pollInterval
            do {
                let report = try await store.claimDueRetries(limit: settings.batchSize) { rows in
                    await republish(rows)
                }
                republished.increment(by: report.published)
                deadLettered.increment(by: report.deadLettered)
                failed.increment(by: report.failed)
                if report.claimed > 0 {
                    logger.debug(
                        "claimed due retries",
                        metadata: [
                            "claimed": "\(report.claimed)", "published": "\(report.published)",
                            "failed": "\(report.failed)", "dead_lettered": "\(report.deadLettered)",
                        ])
                }
                // A full batch without failures: more may be due right now.
                if report.claimed == settings.batchSize, report.failed == 0 { continue }
                if report.failed == 0, let next = try await store.nextRetryDue() {
                    // Due rows another copy holds are gone once it commits: look again shortly.
                    let floor: Duration = report.claimed == 0 ? .milliseconds(50) : .zero
                    wait = min(wait, max(next + .milliseconds(5), floor))
                }
            } catch {
                claimErrors.increment()
                logger.warning("could not claim due retries; trying again", metadata: ["error": "\(error)"])
            }
            if Task.isShuttingDownGracefully { break }
            await doorbell.wait(upTo: wait)
        }
    }

    /// Publishes the claimed rows concurrently (confirms are pipelined) and reports each.
    private func republish(_ rows: [ParkedMessage]) async -> [Int64: PayFleetStore.RepublishResult] {
        let connection = self.connection
        let timeout = publishTimeout
        let logger = self.logger
        return await withTaskGroup(of: (Int64, PayFleetStore.RepublishResult).self) { group in
            for row in rows {
                group.addTask {
                    do {
                        try await connection.publish(
                            .republishing(row, attempt: row.attempt), exchange: row.exchange,
                            routingKey: row.routingKey, timeout: timeout)
                        return (row.id, .published)
                    } catch let error as AMQPError where error.code == .unroutable {
                        logger.error(
                            "retry is unroutable; moved to dead_letters",
                            metadata: [
                                "message_id": "\(row.messageID)", "exchange": "\(row.exchange)",
                                "routing_key": "\(row.routingKey)",
                            ])
                        return (row.id, .undeliverable(error: "republish: \(error.description)"))
                    } catch {
                        return (row.id, .failed(error: "republish: \(error)"))
                    }
                }
            }
            var results: [Int64: PayFleetStore.RepublishResult] = [:]
            for await (id, result) in group { results[id] = result }
            return results
        }
    }

    /// LISTENs on ``channel`` on a connection of its own and rings the doorbell at every
    /// notification; subscribes again (after a pause) when the connection drops.
    private func listen() async {
        while !Task.isCancelled {
            do {
                try await store.withConnection { [doorbell] connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        // Rows may have arrived while nobody listened.
                        doorbell.ring()
                        for try await _ in notifications { doorbell.ring() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("LISTEN \(Self.channel) ended; subscribing again", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
