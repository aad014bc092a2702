import CRabbitMQ
import Foundation
import Logging
import Synchronization

extension IOLoop {
    /// Handles one frame read from the connection.
    func handle(_ frame: amqp_frame_t) throws(ConnectionFailure) {
        let channel = frame.channel
        switch frame.frame_type {
        case FrameType.method:
            try handleMethod(frame.payload.method, channel: channel)
        case FrameType.header:
            guard assembling[channel] != nil else { return }
            let header = frame.payload.properties
            if let decoded = header.decoded {
                assembling[channel]!.properties = InboundProperties(
                    decoded.assumingMemoryBound(to: amqp_basic_properties_t.self).pointee)
            }
            assembling[channel]!.bodySize = header.body_size
            assembling[channel]!.headerSeen = true
            assembling[channel]!.body.reserveCapacity(Int(clamping: header.body_size))
            if header.body_size == 0 { completeContent(on: channel) }
        case FrameType.body:
            guard let content = assembling[channel], content.headerSeen else { return }
            let fragment = frame.payload.body_fragment
            if fragment.len > 0, let base = fragment.bytes {
                assembling[channel]!.body.append(
                    contentsOf: UnsafeRawBufferPointer(start: base, count: fragment.len))
            }
            if UInt64(assembling[channel]!.body.count) >= content.bodySize {
                completeContent(on: channel)
            }
        default:
            break
        }
    }

    private func handleMethod(_ method: amqp_method_t, channel: amqp_channel_t) throws(ConnectionFailure) {
        switch method.id {
        case Method.basicAck:
            guard channel == Self.publishChannel, let decoded = method.decoded else { return }
            let ack = decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            confirm(deliveryTag: ack.delivery_tag, multiple: ack.multiple != 0, nacked: false)
        case Method.basicNack:
            guard channel == Self.publishChannel, let decoded = method.decoded else { return }
            let nack = decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            confirm(deliveryTag: nack.delivery_tag, multiple: nack.multiple != 0, nacked: true)
        case Method.basicReturn:
            guard let decoded = method.decoded else { return }
            let returned = decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            assembling[channel] = ContentAssembly(
                kind: .returned(
                    replyCode: returned.reply_code, replyText: String(amqpBytes: returned.reply_text),
                    exchange: String(amqpBytes: returned.exchange), routingKey: String(amqpBytes: returned.routing_key)))
        case Method.basicDeliver:
            guard let decoded = method.decoded else { return }
            let deliver = decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            assembling[channel] = ContentAssembly(
                kind: .delivery(
                    deliveryTag: deliver.delivery_tag, redelivered: deliver.redelivered != 0,
                    exchange: String(amqpBytes: deliver.exchange), routingKey: String(amqpBytes: deliver.routing_key)))
        case Method.basicCancel:
            // The broker cancelled a consumer (its queue was deleted, or the node holding it went away).
            guard let decoded = method.decoded else { return }
            let cancel = decoded.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            try handleBrokerCancel(channel: channel, consumerTag: cancel.consumer_tag, noWait: cancel.nowait != 0)
        case Method.channelClose:
            guard let decoded = method.decoded else { return }
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            try handleChannelClose(
                channel: channel, replyCode: close.reply_code, replyText: String(amqpBytes: close.reply_text))
        case Method.connectionClose:
            var text = "no reason given"
            var code: UInt16?
            if let decoded = method.decoded {
                let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                text = String(amqpBytes: close.reply_text)
                code = close.reply_code
            }
            sendConnectionCloseOK()
            throw ConnectionFailure(
                error: AMQPError(
                    code: .connectionLost, message: "RabbitMQ closed the connection: \(text)", replyCode: code))
        case Method.channelFlow:
            guard let decoded = method.decoded else { return }
            let flow = decoded.assumingMemoryBound(to: amqp_channel_flow_t.self).pointee
            var flowOK = amqp_channel_flow_ok_t(active: flow.active)
            _ = amqp_send_method(conn, channel, Method.channelFlowOK, &flowOK)
        case Method.connectionBlocked:
            var reason = ""
            if let decoded = method.decoded {
                reason = String(amqpBytes: decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee.reason)
            }
            logger.warning(
                "RabbitMQ blocked publishing on this connection (resource alarm); publishes time out until it is unblocked",
                metadata: ["amqp.reason": "\(reason)"])
        case Method.connectionUnblocked:
            logger.info("RabbitMQ unblocked publishing on this connection")
        default:
            // Late replies (for example basic.cancel-ok) and methods PayFleet does not use.
            break
        }
    }

    private func completeContent(on channel: amqp_channel_t) {
        guard let content = assembling.removeValue(forKey: channel) else { return }
        switch content.kind {
        case .returned(let replyCode, let replyText, let exchange, let routingKey):
            markReturned(
                content.properties, replyCode: replyCode, replyText: replyText, exchange: exchange,
                routingKey: routingKey)
        case .delivery(let deliveryTag, let redelivered, let exchange, let routingKey):
            guard let consumerID = consumerByChannel[channel], let record = consumers[consumerID],
                record.channel == channel
            else {
                logger.debug("delivery on a channel without consumer", metadata: ["amqp.channel": "\(channel)"])
                return
            }
            record.unsettled.insert(deliveryTag)
            record.consumer.push(
                AMQPDelivery(
                    body: content.body, properties: content.properties, exchange: exchange, routingKey: routingKey,
                    redelivered: redelivered, deliveryTag: deliveryTag,
                    origin: DeliveryOrigin(core: core, consumerID: consumerID, channelEpoch: record.epoch)))
        }
    }

    private func handleBrokerCancel(
        channel: amqp_channel_t, consumerTag: amqp_bytes_t, noWait: Bool
    ) throws(ConnectionFailure) {
        if !noWait {
            var cancelOK = amqp_basic_cancel_ok_t(consumer_tag: consumerTag)
            _ = amqp_send_method(conn, channel, Method.basicCancelOK, &cancelOK)
        }
        guard let consumerID = consumerByChannel[channel], let record = consumers[consumerID] else { return }
        let queue = record.consumer.queue
        logger.warning("RabbitMQ cancelled the consumer of queue \(queue) (was the queue deleted?)")
        record.consumerTag = nil
        record.cancelRequested = true
        record.consumer.end(
            .failed(
                AMQPError(
                    code: .closed,
                    message: "RabbitMQ cancelled the consumer of queue '\(queue)'; was the queue deleted?")))
        try closeChannelIfIdle(record)
    }

    /// The broker closed a channel because of an error on it.
    private func handleChannelClose(
        channel: amqp_channel_t, replyCode: UInt16, replyText: String
    ) throws(ConnectionFailure) {
        try sendChannelCloseOK(channel)
        assembling[channel] = nil
        if channel == Self.publishChannel {
            logger.warning(
                "RabbitMQ closed the publishing channel; reopening it",
                metadata: ["amqp.replyCode": "\(replyCode)", "amqp.replyText": "\(replyText)"])
            publishChannelOpen = false
            failAllPending(
                AMQPError(
                    code: .protocolError,
                    message: "RabbitMQ closed the publishing channel before confirming the message: \(replyText)",
                    replyCode: replyCode))
            try openPublishChannel()
        } else if channel == Self.adminChannel {
            adminChannelOpen = false
        } else if let consumerID = consumerByChannel[channel], let record = consumers[consumerID] {
            logger.warning(
                "RabbitMQ closed the channel of the consumer of queue \(record.consumer.queue); subscribing again",
                metadata: ["amqp.replyCode": "\(replyCode)", "amqp.replyText": "\(replyText)"])
            record.channel = nil
            record.consumerTag = nil
            record.unsettled.removeAll()
            record.consumer.purge()
            releaseChannel(channel)
            if record.cancelRequested {
                removeRecord(record)
            } else if let error = try subscribe(record) {
                removeRecord(record)
                record.consumer.end(.failed(error))
            }
        } else {
            releaseChannel(channel)
        }
    }
}
