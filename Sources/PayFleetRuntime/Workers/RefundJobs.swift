import AMQP
import Foundation
import Logging
import Metrics
import PayFleetMessages
import PayFleetStore
import PaymentChannels

/// refund-worker's units of work, one per message on the `refunds` queue:
/// - `refund.create`: reserve the amount (``PayFleetStore/requestRefund(_:)``), call the channel's refund API under
///   the refund_no, record its answer;
/// - `refund.query`: ask the channel about a refund and settle it through the same unit of work as its answer;
/// - `refund.succeeded.<channel>` / `refund.failed.<channel>`: the receiver's normalised refund notifications
///   (``PayFleetStore/applyRefund(_:)``).
///
/// Channel failures follow DESIGN §6, as payment-worker's do: transient ⇒ `.retryLater`, so the retried job calls
/// the channel again with the same refund_no and the channel never sees two refunds; our own credentials refused ⇒
/// `.reject` (dead letters, the amount stays reserved until an operator replays); the channel refusing the refund
/// itself ⇒ the refund fails, its reservation released, `refund.failed`.
struct RefundJobs: Sendable {
    let store: PayFleetStore
    let gateways: GatewayRegistry
    let metrics = RefundMetrics()

    func handle(_ delivery: AMQPDelivery, log: Logger) async -> DeliveryDisposition {
        if let problem = delivery.schemaProblem { return .reject(reason: problem) }
        let kind = delivery.type ?? delivery.routingKey
        do {
            switch kind {
            case RoutingKey.refundCreate:
                return await create(try PayFleetJSON.decode(CreateRefund.self, from: delivery.body), log: log)
            case RoutingKey.refundQuery:
                return await query(try PayFleetJSON.decode(QueryRefund.self, from: delivery.body), log: log)
            case _ where kind.hasPrefix("refund.succeeded.") || kind.hasPrefix("refund.failed."):
                return await notification(try PayFleetJSON.decode(RefundNotification.self, from: delivery.body), log: log)
            default:
                return .reject(reason: "refund-worker handles refund.create, refund.query and refund notifications, not \(kind)")
            }
        } catch {
            return .reject(reason: "not a \(kind) message: \(error)")
        }
    }

    // MARK: refund.create

    func create(_ job: CreateRefund, log: Logger) async -> DeliveryDisposition {
        var log = log
        log[metadataKey: "refund_no"] = "\(job.refundNo.prefix(64))"
        do {
            switch try await store.requestRefund(job) {
            case .refused(let refusal):
                metrics.record(.refused)
                log.warning(
                    "refund refused", metadata: ["reason": "\(refusal.reason.rawValue)", "detail": "\(refusal.detail)"])
                return .ack
            case .alreadyRequested(let row):
                log.info("refund.create repeated; nothing to do", metadata: ["status": "\(row.status.rawValue)"])
                return .ack
            case .callChannel(let row):
                return await callChannel(row, log: log)
            }
        } catch {
            return PaymentJobs.storeFailure(error, log: log)
        }
    }

    /// Calls the channel's refund API for a `requested` refund and records its answer.
    private func callChannel(_ row: RefundRow, log: Logger) async -> DeliveryDisposition {
        var log = log
        log[metadataKey: "payment_no"] = "\(row.paymentNo)"
        guard let channel = ChannelID(rawValue: row.channel),
            let gateway = gateways.gateway(channel: channel, merchant: row.merchant)
        else { return PaymentJobs.noGateway(ChannelID(rawValue: row.channel), row.merchant) }
        let answer: RefundAnswer
        do {
            answer = try Self.answer(to: try await gateway.refund(row.order), calling: true)
        } catch let error as ChannelAPIError {
            if error.isTransient || error.needsAttention { return PaymentJobs.channelFailure(error, log: log) }
            answer = .failed(channelRefundNo: nil, reason: .channelRejected, detail: error.description)
        } catch {
            return .retryLater(reason: "\(error)")
        }
        return await record(answer, refundNo: row.refundNo, log: log)
    }

    // MARK: refund.query

    func query(_ job: QueryRefund, log: Logger) async -> DeliveryDisposition {
        var log = log
        log[metadataKey: "refund_no"] = "\(job.refundNo.prefix(64))"
        let row: RefundRow
        do {
            guard let found = try await store.refund(refundNo: job.refundNo) else {
                return .reject(reason: "no refund has refund_no \(job.refundNo.prefix(64))")
            }
            row = found
        } catch {
            return PaymentJobs.storeFailure(error, log: log)
        }
        guard row.status.isPending else {
            log.info("nothing to ask: the refund is \(row.status.rawValue)")
            return .ack
        }
        guard let channel = ChannelID(rawValue: row.channel),
            let gateway = gateways.gateway(channel: channel, merchant: row.merchant)
        else { return PaymentJobs.noGateway(ChannelID(rawValue: row.channel), row.merchant) }
        let state: ChannelRefundState
        do {
            state = try await gateway.queryRefund(row.order.lookup(channelRefundNo: row.channelRefundNo))
        } catch {
            return PaymentJobs.channelFailure(error, log: log)
        }
        if case .notFound = state {
            // requested: the refund call never reached the channel; its job is still on its way (retry path).
            log.notice(
                "the channel has no such refund", metadata: ["status": "\(row.status.rawValue)"])
            return .ack
        }
        do {
            return await record(try Self.answer(to: state, calling: false), refundNo: row.refundNo, log: log)
        } catch {
            return .retryLater(reason: "\(error)")
        }
    }

    // MARK: refund notifications

    func notification(_ notification: RefundNotification, log: Logger) async -> DeliveryDisposition {
        var log = log
        log[metadataKey: "refund_no"] = "\(notification.refundNo.prefix(64))"
        log[metadataKey: "payment_no"] = "\(notification.paymentNo.prefix(64))"
        do {
            let outcome = try await store.applyRefund(notification)
            metrics.record(outcome)
            log.info("refund notification applied", metadata: ["outcome": "\(Self.name(outcome))"])
            return .ack
        } catch let error as StoreError where error.code == .refundNotYetRecorded {
            log.info("refund notification ahead of its refund call's answer; trying again later")
            return .retryLater(reason: error.description)
        } catch {
            return PaymentJobs.storeFailure(error, log: log)
        }
    }

    // MARK: Shared steps

    private func record(_ answer: RefundAnswer, refundNo: String, log: Logger) async -> DeliveryDisposition {
        do {
            let outcome = try await store.recordRefundAnswer(refundNo: refundNo, answer)
            metrics.record(outcome)
            log.info("refund recorded", metadata: ["outcome": "\(Self.name(outcome))"])
            return .ack
        } catch {
            return PaymentJobs.storeFailure(error, log: log)
        }
    }

    /// The store's view of a channel's answer. A refund call answered "not found" is the channel contradicting
    /// itself: an error (transient: ask again later).
    static func answer(to state: ChannelRefundState, calling: Bool) throws -> RefundAnswer {
        switch state {
        case .processing(let channelRefundNo, _):
            return .accepted(channelRefundNo: channelRefundNo)
        case .succeeded(let refund):
            return .succeeded(
                channelRefundNo: refund.channelRefundNo, amountMinor: refund.amountMinor, at: refund.succeededAt ?? Date())
        case .failed(let channelRefundNo, let detail, _):
            return .failed(
                channelRefundNo: channelRefundNo, reason: .channelFailed,
                detail: "the channel reports the refund \(detail.prefix(64))")
        case .notFound:
            throw ChannelAPIError(
                code: .malformedResponse, operation: calling ? "refund" : "refund_query",
                message: "the channel answered a refund call with no refund")
        }
    }

    static func name(_ outcome: RefundOutcome) -> String {
        switch outcome {
        case .processing: "processing"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .alreadyInState(_, let status): "already_\(status.rawValue)"
        case .duplicate: "duplicate"
        case .anomaly(let anomaly): "anomaly_\(anomaly.kind.rawValue)"
        case .unknownRefund: "unknown_refund"
        }
    }
}

extension RefundRow {
    /// What the channel's refund API is called with.
    var order: RefundOrder {
        RefundOrder(
            refundNo: refundNo, paymentNo: paymentNo, channelTradeNo: channelTradeNo ?? "", payerID: payerID,
            paymentAmountMinor: paymentAmountMinor, amountMinor: amountMinor, currency: currency, reason: reason)
    }
}

/// `payfleet_refunds_total{outcome}`: refunds refused before the channel, accepted (processing), succeeded, failed
/// and anomalies — built once per process.
struct RefundMetrics: Sendable {
    enum Kind: String, CaseIterable {
        case refused, processing, succeeded, failed, anomaly
    }

    private let counters: [Kind: Counter] = Dictionary(
        uniqueKeysWithValues: Kind.allCases.map {
            ($0, Counter(label: "payfleet_refunds_total", dimensions: [("outcome", $0.rawValue)]))
        })

    func record(_ kind: Kind) {
        counters[kind]?.increment()
    }

    func record(_ outcome: RefundOutcome) {
        switch outcome {
        case .processing: record(.processing)
        case .succeeded: record(.succeeded)
        case .failed: record(.failed)
        case .anomaly: record(.anomaly)
        case .alreadyInState, .duplicate, .unknownRefund: break
        }
    }
}
