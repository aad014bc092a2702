import AMQP
import Configuration
import Foundation
import Logging
import PayFleetMessages
import PayFleetStore
import ServiceLifecycle

/// payment-worker: consumes jobs from the `payments` queue — `payment.create`, `payment.query`,
/// `payment.close` (see ``PaymentJobs``) — calling each merchant's channel through its ``GatewayRegistry``
/// gateway, sweeps expired payments (``ExpirySweeper``) and reconciles yesterday's bills once a day
/// (``ReconciliationScheduler``). Run as many copies as needed.
public enum PaymentWorkerApp {
    public static func build(reader: ConfigReader) async throws -> ServiceGroup {
        let gateways = try GatewayRegistry(reader: reader)
        let sweep = ExpirySweepSettings(reader: reader)
        let reconciliation = ReconciliationSettings(reader: reader)
        return try await WorkerProcess.build(
            role: "payment-worker", queue: QueueName.payments, defaultOpsPort: 9101, reader: reader,
            handler: { store in handler(store: store, gateways: gateways) },
            services: { store, logger in
                logger.info(
                    "channel APIs configured",
                    metadata: ["gateways": "\(gateways.names.joined(separator: ", "))"])
                let reconciler = Reconciler(
                    gateways: gateways, store: store, logger: logger,
                    claimant: "payment-worker@\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)")
                return [
                    ExpirySweeper(store: store, settings: sweep, logger: logger),
                    ReconciliationScheduler(reconciler: reconciler, settings: reconciliation, logger: logger),
                ]
            })
    }

    public static func handler(store: PayFleetStore, gateways: GatewayRegistry) -> QueueConsumerService.Handler {
        let jobs = PaymentJobs(store: store, gateways: gateways)
        return { delivery, log in await jobs.handle(delivery, log: log) }
    }
}
