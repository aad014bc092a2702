import AMQP
import Foundation
import Logging
import PayFleetMessages
import PayFleetStore
import PaymentChannels

/// payment-worker's units of work: `payment.create` (create, reserve, prepay, announce), `payment.query`
/// (ask the channel; settle a paid payment through ``PayFleetStore/apply(_:)``, the notification's own path) and
/// `payment.close` (close at the channel and locally, releasing the stock reservation).
///
/// Channel failures follow DESIGN §6: transient (network, timeout, 5xx, an unverifiable response) ⇒
/// `.retryLater`; our own credentials or configuration refused ⇒ `.reject` (the job waits in payfleet.dead for
/// an operator, nothing is lost); the channel refusing the payment itself ⇒ `payment.rejected`, stock released.
struct PaymentJobs: Sendable {
    let store: PayFleetStore
    let gateways: GatewayRegistry

    func handle(_ delivery: AMQPDelivery, log: Logger) async -> DeliveryDisposition {
        if let problem = delivery.schemaProblem { return .reject(reason: problem) }
        let kind = delivery.type ?? delivery.routingKey
        do {
            switch kind {
            case RoutingKey.paymentCreate:
                return await create(try PayFleetJSON.decode(CreatePayment.self, from: delivery.body), log: log)
            case RoutingKey.paymentQuery:
                return await query(try PayFleetJSON.decode(QueryPayment.self, from: delivery.body), log: log)
            case RoutingKey.paymentClose:
                return await close(try PayFleetJSON.decode(ClosePayment.self, from: delivery.body), log: log)
            default:
                return .reject(reason: "payment-worker handles payment.create, payment.query and payment.close, not \(kind)")
            }
        } catch {
            return .reject(reason: "not a \(kind) job: \(error)")
        }
    }

    // MARK: payment.create

    func create(_ job: CreatePayment, log: Logger) async -> DeliveryDisposition {
        var log = log
        log[metadataKey: "order_no"] = "\(job.orderNo)"
        let gateway = gateways.gateway(channel: job.channel, merchant: job.merchant)
        // An invalid job is answered with payment.rejected by the store; a valid one needs its channel's API.
        if gateway == nil, job.validationProblem() == nil {
            return Self.noGateway(job.channel, job.merchant)
        }
        let paymentNo: String
        do {
            switch try await store.createPayment(job, announce: false) {
            case .created(let event):
                log.info("payment created; stock reserved", metadata: ["payment_no": "\(event.paymentNo)"])
                paymentNo = event.paymentNo
            case .alreadyCreated(let existing):
                guard let row = try await store.paymentStatus(paymentNo: existing), row.status == .pending,
                    row.prepaidAt == nil
                else {
                    log.info("job repeated; the payment is already opened", metadata: ["payment_no": "\(existing)"])
                    return .ack
                }
                paymentNo = existing
            case .rejected(let rejection):
                log.warning(
                    "payment rejected",
                    metadata: ["reason": "\(rejection.reason.rawValue)", "detail": "\(rejection.detail)"])
                return .ack
            }
        } catch {
            return Self.storeFailure(error, log: log)
        }
        guard let gateway else { return .ack }
        log[metadataKey: "payment_no"] = "\(paymentNo)"

        let parameters: [String: String]
        do {
            let expiresAt = try await store.paymentStatus(paymentNo: paymentNo)?.expiresAt
            parameters = try await gateway.prepay(
                PrepayOrder(
                    paymentNo: paymentNo, amountMinor: job.amountMinor, currency: job.currency,
                    description: job.description, expiresAt: expiresAt, client: job.client))
        } catch let error as ChannelAPIError {
            if error.isTransient || error.needsAttention { return Self.channelFailure(error, log: log) }
            do {
                _ = try await store.rejectPayment(paymentNo: paymentNo, detail: error.description)
                log.warning("the channel refused the payment", metadata: ["error": "\(error)"])
                return .ack
            } catch {
                return Self.storeFailure(error, log: log)
            }
        } catch {
            return Self.storeFailure(error, log: log)
        }
        do {
            switch try await store.recordPrepay(paymentNo: paymentNo, payParameters: parameters) {
            case .announced:
                log.info("payment opened at its channel; payment.created written")
            case .alreadyAnnounced, .unknownPayment:
                break
            case .notPending(let status):
                log.info("payment settled or closed before its prepay was recorded", metadata: ["status": "\(status.rawValue)"])
            }
            return .ack
        } catch {
            return Self.storeFailure(error, log: log)
        }
    }

    // MARK: payment.query

    func query(_ job: QueryPayment, log: Logger) async -> DeliveryDisposition {
        var log = log
        log[metadataKey: "payment_no"] = "\(job.paymentNo)"
        let (row, channel, gateway): (PaymentRow, ChannelID, any PaymentGateway)
        switch await target(job.paymentNo, log: log) {
        case .done(let disposition): return disposition
        case .pending(let found, let foundChannel, let foundGateway): (row, channel, gateway) = (found, foundChannel, foundGateway)
        }
        do {
            switch try await gateway.query(paymentNo: job.paymentNo) {
            case .paid(let payment):
                return await settle(payment, row: row, channel: channel, log: log)
            case .closed(let detail):
                return await closeLocally(row, channel: channel, why: "the channel reports it \(detail)", log: log)
            case .pending(let detail):
                log.info("the channel reports the payment unpaid", metadata: ["state": "\(detail)"])
                return .ack
            case .notFound:
                log.notice("the channel has no such payment; it stays pending until it expires")
                return .ack
            }
        } catch {
            return Self.channelFailure(error, log: log)
        }
    }

    // MARK: payment.close

    func close(_ job: ClosePayment, log: Logger) async -> DeliveryDisposition {
        var log = log
        log[metadataKey: "payment_no"] = "\(job.paymentNo)"
        log[metadataKey: "reason"] = "\(job.reason.rawValue)"
        let (row, channel, gateway): (PaymentRow, ChannelID, any PaymentGateway)
        switch await target(job.paymentNo, log: log) {
        case .done(let disposition): return disposition
        case .pending(let found, let foundChannel, let foundGateway): (row, channel, gateway) = (found, foundChannel, foundGateway)
        }
        do {
            // Ask first: a payment paid while its notification went missing is settled, never closed.
            switch try await gateway.query(paymentNo: job.paymentNo) {
            case .paid(let payment):
                return await settle(payment, row: row, channel: channel, log: log)
            case .closed(let detail):
                return await closeLocally(row, channel: channel, why: "the channel reports it \(detail)", log: log)
            case .notFound:
                return await closeLocally(row, channel: channel, why: "the channel never opened it", log: log)
            case .pending:
                break
            }
            var refusal: ChannelAPIError?
            do {
                try await gateway.close(paymentNo: job.paymentNo)
            } catch let error where !error.isTransient && !error.needsAttention {
                refusal = error
            }
            if let refusal {
                // Refused: most likely paid in the meantime. Ask again and act on the answer.
                if case .paid(let payment) = try await gateway.query(paymentNo: job.paymentNo) {
                    return await settle(payment, row: row, channel: channel, log: log)
                }
                return Self.channelFailure(refusal, log: log)
            }
            return await closeLocally(row, channel: channel, why: "closed at the channel (\(job.reason.rawValue))", log: log)
        } catch {
            return Self.channelFailure(error, log: log)
        }
    }

    // MARK: Shared steps

    private enum Target {
        /// Still pending, with the gateway of its channel and merchant.
        case pending(PaymentRow, ChannelID, any PaymentGateway)
        /// What to do with the job instead.
        case done(DeliveryDisposition)
    }

    /// The payment a query or close job names, if it is still pending, and its gateway.
    private func target(_ paymentNo: String, log: Logger) async -> Target {
        let row: PaymentRow
        do {
            guard let found = try await store.paymentStatus(paymentNo: paymentNo) else {
                return .done(.reject(reason: "no payment has payment_no \(paymentNo.prefix(64))"))
            }
            row = found
        } catch {
            return .done(Self.storeFailure(error, log: log))
        }
        guard row.status == .pending else {
            log.info("nothing to do: the payment is \(row.status.rawValue)")
            return .done(.ack)
        }
        guard let channel = ChannelID(rawValue: row.channel),
            let gateway = gateways.gateway(channel: channel, merchant: row.merchant)
        else { return .done(Self.noGateway(ChannelID(rawValue: row.channel), row.merchant)) }
        return .pending(row, channel, gateway)
    }

    /// Settles through the notification's own unit of work, so dedup, amount checks and order.paid hold
    /// whichever of the query and the notification comes first.
    private func settle(_ payment: ChannelPayment, row: PaymentRow, channel: ChannelID, log: Logger) async
        -> DeliveryDisposition
    {
        let notification = PaymentNotification(
            id: "query:\(payment.channelTradeNo)", channel: channel, merchant: row.merchant, kind: .succeeded,
            paymentNo: row.paymentNo, channelTradeNo: payment.channelTradeNo, amountMinor: payment.amountMinor,
            currency: payment.currency, occurredAt: payment.paidAt, raw: payment.raw, payerID: payment.payerID)
        do {
            let outcome = try await store.apply(notification)
            log.info("the channel reports the payment paid", metadata: ["outcome": "\(Self.name(outcome))"])
            return .ack
        } catch {
            return Self.storeFailure(error, log: log)
        }
    }

    /// Closes the payment and releases its reservation through the notification's own unit of work.
    private func closeLocally(_ row: PaymentRow, channel: ChannelID, why: String, log: Logger) async
        -> DeliveryDisposition
    {
        let notification = PaymentNotification(
            id: "close:\(row.paymentNo)", channel: channel, merchant: row.merchant, kind: .closed,
            paymentNo: row.paymentNo, channelTradeNo: row.channelTradeNo ?? "", amountMinor: row.amountMinor,
            currency: row.currency, occurredAt: Date(), raw: why)
        do {
            let outcome = try await store.apply(notification)
            log.info("payment closed; stock released", metadata: ["why": "\(why)", "outcome": "\(Self.name(outcome))"])
            return .ack
        } catch {
            return Self.storeFailure(error, log: log)
        }
    }

    static func name(_ outcome: NotificationOutcome) -> String {
        switch outcome {
        case .settled: "settled"
        case .closed: "closed"
        case .duplicate: "duplicate"
        case .alreadyInState: "already_in_state"
        case .anomaly(let anomaly): "anomaly_\(anomaly.kind.rawValue)"
        }
    }

    static func noGateway(_ channel: ChannelID?, _ merchant: String) -> DeliveryDisposition {
        let key = channel.map { $0 == .wechatpayV2 ? "wechatpay_v2" : $0.rawValue } ?? "<channel>"
        return .reject(
            reason: "merchant \(channel?.rawValue ?? "?")/\(merchant.prefix(64)) has no API credentials "
                + "(channels.\(key).\(merchant.prefix(64)).api); configure them, then replay the job from dead letters")
    }

    static func channelFailure(_ error: any Error, log: Logger) -> DeliveryDisposition {
        guard let error = error as? ChannelAPIError else { return storeFailure(error, log: log) }
        if error.needsAttention {
            log.error("channel call needs an operator", metadata: ["error": "\(error)"])
            return error.isTransient ? .retryLater(reason: error.description) : .reject(reason: error.description)
        }
        if error.isTransient {
            log.warning("channel call failed; retrying later", metadata: ["error": "\(error)"])
            return .retryLater(reason: error.description)
        }
        log.warning("the channel refused the call", metadata: ["error": "\(error)"])
        return .reject(reason: error.description)
    }

    static func storeFailure(_ error: any Error, log: Logger) -> DeliveryDisposition {
        if PayFleetStore.isTransient(error) {
            log.warning("database unavailable; the job goes back to the queue", metadata: ["error": "\(error)"])
            return .requeueAfterPause
        }
        return .reject(reason: "unit of work failed: \(String(reflecting: error))")
    }
}
