import CRabbitMQ
import Foundation
import Logging
import Synchronization

extension IOLoop {
    // MARK: Running commands

    /// Executes queued commands on the live connection. On a connection failure the commands not
    /// run yet stay in `backlog` and are answered once the loop knows it is disconnected.
    /// At most `commandBatch` commands run per turn, so that confirms and deliveries are read in
    /// between even when thousands of publishes are queued at once.
    func runCommands() throws(ConnectionFailure) {
        var commands = backlog
        backlog = []
        commands += core.takeCommands()
        guard !commands.isEmpty else { return }
        let limit = min(commands.count, Self.commandBatch)
        for index in 0..<limit {
            do throws(ConnectionFailure) {
                // Buffered publishes go out before anything rabbitmq-c writes itself, so frames keep their order.
                if case .publish = commands[index] {} else { try writeOutbound() }
                try execute(commands[index])
            } catch {
                backlog = Array(commands[(index + 1)...])
                throw error
            }
        }
        if limit < commands.count {
            backlog = Array(commands[limit...])
        }
        try writeOutbound()
    }

    /// Writes the publishes buffered this turn in one go; a failure fails the connection (and, with it, every
    /// publish awaiting its confirm).
    func writeOutbound() throws(ConnectionFailure) {
        guard !outbound.isEmpty else { return }
        if let problem = outbound.write(to: socketFD, timeout: configuration.rpcTimeout) {
            throw ConnectionFailure(
                error: AMQPError(code: .connectionLost, message: "cannot send messages to RabbitMQ: \(problem)"))
        }
    }

    /// Answers the queued commands while there is no connection (disconnected, or closed).
    func runCommandsUnlinked() {
        var commands = backlog
        backlog = []
        commands += core.takeCommands()
        for command in commands { executeUnlinked(command) }
    }

    /// Executes one command as the link's state allows: the only place that decides what each command does in
    /// each ``LinkState``.
    func execute(_ command: Command) throws(ConnectionFailure) {
        switch command {
        case .publish(let request):
            switch link {
            case .open:
                try publish(request)
            case .draining, .closed:
                request.reply.resume(returning: .failure(.closed()))
            case .disconnected, .connecting:
                request.reply.resume(returning: .failure(notConnectedOrClosed()))
            }
        case .settle(let consumerID, let channelEpoch, let deliveryTag, let settlement, let reply):
            switch link {
            case .open, .draining:
                try settle(
                    consumerID: consumerID, channelEpoch: channelEpoch, deliveryTag: deliveryTag,
                    settlement: settlement, reply: reply)
            case .disconnected, .connecting, .closed:
                // The channel the delivery came on is gone with the connection.
                reply.resume(returning: .failure(staleDeliveryError()))
            }
        case .subscribe(let consumer, let reply):
            switch link {
            case .open:
                try subscribeNow(consumer, reply: reply)
            case .disconnected, .connecting:
                if core.shutdownRequested {
                    consumer.end(.cancelled)
                    reply?.resume(returning: .failure(.closed()))
                } else {
                    // Subscribed when the connection comes up.
                    consumers[consumer.id] = ConsumerRecord(consumer: consumer)
                    reply?.resume(returning: .success(()))
                }
            case .draining, .closed:
                consumer.end(.cancelled)
                reply?.resume(returning: .failure(.closed()))
            }
        case .cancel(let consumerID, let reply):
            defer { reply.resume(returning: .success(())) }
            switch link {
            case .open, .draining:
                guard let record = consumers[consumerID] else { return }
                record.consumer.end(.cancelled)
                try cancelSubscription(record)
            case .disconnected, .connecting:
                consumers.removeValue(forKey: consumerID)?.consumer.end(.cancelled)
            case .closed:
                break
            }
        case .admin(let operation, let reply):
            switch link {
            case .open, .draining:
                do throws(ConnectionFailure) {
                    reply.resume(returning: try admin(operation))
                } catch {
                    reply.resume(returning: .failure(error.error))
                    throw error
                }
            case .closed:
                reply.resume(returning: .failure(.closed()))
            case .disconnected, .connecting:
                reply.resume(returning: .failure(notConnectedOrClosed()))
            }
        }
    }

    /// ``execute(_:)`` while no connection can carry frames, where nothing can fail the connection.
    func executeUnlinked(_ command: Command) {
        precondition(!link.isLinked, "executeUnlinked while the connection is \(link)")
        do throws(ConnectionFailure) {
            try execute(command)
        } catch {
            preconditionFailure("a command touched the connection while it was \(link): \(error.error)")
        }
    }

    private func subscribeNow(_ consumer: AMQPConsumer, reply: Reply<Void>?) throws(ConnectionFailure) {
        let record = ConsumerRecord(consumer: consumer)
        do throws(ConnectionFailure) {
            if let error = try subscribe(record) {
                if let reply {
                    reply.resume(returning: .failure(error))
                } else {
                    consumer.end(.failed(error))
                }
                return
            }
            consumers[consumer.id] = record
            reply?.resume(returning: .success(()))
        } catch {
            // Subscribed again after the reconnect.
            consumers[consumer.id] = record
            reply?.resume(returning: .success(()))
            throw error
        }
    }

    func notConnectedOrClosed() -> AMQPError {
        if core.shutdownRequested { return .closed() }
        return core.notConnectedError(lastError: core.state.withLock { $0.lastError })
    }

    func staleDeliveryError() -> AMQPError {
        AMQPError(
            code: .staleDelivery,
            message: "the connection or channel this delivery came on is closed; the broker redelivers the message")
    }

    // MARK: Publishing

    func publish(_ request: PublishRequest) throws(ConnectionFailure) {
        guard publishChannelOpen else {
            request.reply.resume(returning: .failure(notConnectedOrClosed()))
            return
        }
        let message = request.message
        let arena = CArena()
        var properties = amqp_basic_properties_t()
        var flags =
            AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG
            | AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_TIMESTAMP_FLAG
        properties.content_type = arena.bytes(message.contentType)
        properties.delivery_mode = message.persistent ? 2 : 1
        properties.message_id = arena.bytes(message.messageID)
        properties.type = arena.bytes(message.type)
        properties.timestamp = UInt64(max(0, message.timestamp.timeIntervalSince1970.rounded(.down)))
        if !message.headers.isEmpty {
            flags |= AMQP_BASIC_HEADERS_FLAG
            properties.headers = arena.table(message.headers)
        }
        properties._flags = amqp_flags_t(flags)
        let exchange = arena.bytes(request.exchange)
        let routingKey = arena.bytes(request.routingKey)
        if !configuration.useTLS {
            var method = amqp_basic_publish_t(ticket: 0, exchange: exchange, routing_key: routingKey, mandatory: 1, immediate: 0)
            let frameMax = Int(amqp_get_frame_max(conn))
            let encoded = message.body.withUnsafeBytes { body in
                outbound.appendPublish(
                    channel: Self.publishChannel, method: &method, properties: &properties, body: body, frameMax: frameMax)
            }
            guard encoded else {
                // Nothing was sent: the connection is fine, this message is not.
                request.reply.resume(
                    returning: .failure(
                        AMQPError(
                            code: .protocolError,
                            message: "cannot encode the message: an exchange or routing key over 255 bytes, or headers over \(Self.frameMax) bytes")))
                return
            }
            registerPending(request)
            return
        }
        let status = message.body.withUnsafeBytes { raw in
            amqp_basic_publish(
                conn, Self.publishChannel, exchange, routingKey, 1, 0, &properties,
                amqp_bytes_t(len: raw.count, bytes: UnsafeMutableRawPointer(mutating: raw.baseAddress)))
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            let error = AMQPError(
                code: .connectionLost, message: "cannot send the message to RabbitMQ: \(amqpStatusText(status))")
            request.reply.resume(returning: .failure(error))
            throw ConnectionFailure(error: error)
        }
        registerPending(request)
    }

    /// The broker numbers the publishes on the channel from 1; its confirm names that number.
    private func registerPending(_ request: PublishRequest) {
        pending[nextPublishSeq] = PendingPublish(
            reply: request.reply, deadline: request.deadline, messageID: request.message.messageID,
            exchange: request.exchange, routingKey: request.routingKey)
        nextPublishSeq += 1
    }

    /// basic.ack / basic.nack on the publishing channel.
    func confirm(deliveryTag: UInt64, multiple: Bool, nacked: Bool) {
        func resolve(_ publish: PendingPublish) {
            if nacked {
                publish.reply.resume(
                    returning: .failure(
                        AMQPError(
                            code: .nacked,
                            message: "RabbitMQ did not take the message (basic.nack); it is not stored, publish it again")))
            } else if let returned = publish.returned {
                publish.reply.resume(returning: .failure(returned))
            } else {
                publish.reply.resume(returning: .success(()))
            }
        }
        if multiple {
            if deliveryTag >= lowestPending {
                for seq in lowestPending...deliveryTag {
                    if let publish = pending.removeValue(forKey: seq) { resolve(publish) }
                }
                lowestPending = deliveryTag + 1
            }
        } else if let publish = pending.removeValue(forKey: deliveryTag) {
            resolve(publish)
        }
        while lowestPending < nextPublishSeq && pending[lowestPending] == nil {
            lowestPending += 1
        }
    }

    /// A basic.return precedes the ack of the same message: remember it on the oldest matching publish.
    func markReturned(_ properties: InboundProperties, replyCode: UInt16, replyText: String, exchange: String, routingKey: String) {
        var seq = lowestPending
        while seq < nextPublishSeq {
            if var publish = pending[seq], publish.returned == nil, publish.exchange == exchange,
                publish.routingKey == routingKey, publish.messageID == (properties.messageID ?? "")
            {
                publish.returned = AMQPError(
                    code: .unroutable,
                    message: "no queue is bound to exchange '\(exchange)' for routing key '\(routingKey)'; the "
                        + "message was returned",
                    replyCode: replyCode, detail: replyText)
                pending[seq] = publish
                return
            }
            seq += 1
        }
        logger.debug("basic.return for a message that is no longer awaited", metadata: ["amqp.exchange": "\(exchange)"])
    }

    func expirePublishes() {
        let now = ContinuousClock.now
        guard now >= nextTimeoutScan else { return }
        nextTimeoutScan = now + .milliseconds(20)
        guard !pending.isEmpty else { return }
        var expired: [UInt64] = []
        for (seq, publish) in pending where publish.deadline <= now {
            expired.append(seq)
        }
        for seq in expired {
            guard let publish = pending.removeValue(forKey: seq) else { continue }
            publish.reply.resume(
                returning: .failure(
                    AMQPError(
                        code: .timeout,
                        message: "RabbitMQ did not confirm the message in time; it may or may not be stored")))
        }
        while lowestPending < nextPublishSeq && pending[lowestPending] == nil {
            lowestPending += 1
        }
    }

    func failAllPending(_ error: AMQPError) {
        let all = pending
        pending.removeAll()
        for seq in all.keys.sorted() {
            all[seq]?.reply.resume(returning: .failure(error))
        }
        lowestPending = nextPublishSeq
    }

    // MARK: Consumers

    func settle(
        consumerID: UInt64, channelEpoch: UInt64, deliveryTag: UInt64, settlement: Settlement, reply: Reply<Void>
    ) throws(ConnectionFailure) {
        guard let record = consumers[consumerID], record.epoch == channelEpoch,
            let channel = record.channel
        else {
            reply.resume(returning: .failure(staleDeliveryError()))
            return
        }
        guard record.unsettled.remove(deliveryTag) != nil else {
            reply.resume(
                returning: .failure(
                    AMQPError(
                        code: .protocolError,
                        message: "delivery \(deliveryTag) was already acknowledged or rejected")))
            return
        }
        let status: Int32
        switch settlement {
        case .ack:
            status = amqp_basic_ack(conn, channel, deliveryTag, 0)
        case .nack(let requeue):
            status = amqp_basic_nack(conn, channel, deliveryTag, 0, requeue ? 1 : 0)
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            reply.resume(returning: .failure(staleDeliveryError()))
            throw ConnectionFailure(
                error: AMQPError(code: .connectionLost, message: "cannot send an ack: \(amqpStatusText(status))"))
        }
        reply.resume(returning: .success(()))
        if record.cancelRequested {
            try closeChannelIfIdle(record)
        }
    }

    /// Opens a channel for the consumer, sets its prefetch and subscribes. Returns the broker's refusal.
    func subscribe(_ record: ConsumerRecord) throws(ConnectionFailure) -> AMQPError? {
        let queue = record.consumer.queue
        guard let channel = allocateChannel() else {
            return AMQPError(code: .protocolError, message: "no free AMQP channel for another consumer")
        }
        amqp_channel_open(conn, channel)
        if let error = try checkReply(channel: channel, context: "opening a channel to consume '\(queue)'") {
            releaseChannel(channel)
            return error
        }
        amqp_basic_qos(conn, channel, 0, record.consumer.prefetch, 0)
        if let error = try checkReply(channel: channel, context: "setting the prefetch for '\(queue)'") {
            releaseChannel(channel)
            return error
        }
        record.channel = channel
        record.epoch = nextEpoch
        nextEpoch += 1
        record.unsettled.removeAll()
        consumerByChannel[channel] = record.consumer.id
        let arena = CArena()
        let ok = amqp_basic_consume(conn, channel, arena.bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table)
        if let error = try checkReply(channel: channel, context: "consuming from queue '\(queue)'") {
            record.channel = nil
            releaseChannel(channel)
            return error
        }
        record.consumerTag = ok.map { String(amqpBytes: $0.pointee.consumer_tag) }
        logger.debug(
            "consuming", metadata: ["amqp.queue": "\(queue)", "amqp.prefetch": "\(record.consumer.prefetch)"])
        return nil
    }

    /// basic.cancel; the channel stays open until every delivery is settled.
    func cancelSubscription(_ record: ConsumerRecord) throws(ConnectionFailure) {
        record.cancelRequested = true
        if let channel = record.channel, let tag = record.consumerTag {
            record.consumerTag = nil
            let arena = CArena()
            amqp_basic_cancel(conn, channel, arena.bytes(tag))
            if try checkReply(channel: channel, context: "cancelling the consumer of '\(record.consumer.queue)'") != nil {
                record.channel = nil
                releaseChannel(channel)
            }
        }
        try closeChannelIfIdle(record)
    }

    func closeChannelIfIdle(_ record: ConsumerRecord) throws(ConnectionFailure) {
        guard record.cancelRequested, record.unsettled.isEmpty else { return }
        if let channel = record.channel {
            record.channel = nil
            let reply = amqp_channel_close(conn, channel, AMQP_REPLY_SUCCESS)
            if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION {
                throw ConnectionFailure(
                    error: AMQPError(
                        code: .connectionLost, message: "closing a channel: \(amqpStatusText(reply.library_error))"))
            }
            releaseChannel(channel)
        }
        removeRecord(record)
    }

    func removeRecord(_ record: ConsumerRecord) {
        consumers[record.consumer.id] = nil
        if let channel = record.channel {
            consumerByChannel[channel] = nil
        }
    }

    // MARK: Declarations

    func admin(_ operation: AdminOperation) throws(ConnectionFailure) -> Result<AdminResult, AMQPError> {
        if !adminChannelOpen {
            amqp_channel_open(conn, Self.adminChannel)
            if let error = try checkReply(channel: Self.adminChannel, context: "opening the declaration channel") {
                return .failure(error)
            }
            adminChannelOpen = true
        }
        let arena = CArena()
        let channel = Self.adminChannel
        switch operation {
        case .declare(let topology):
            if let error = try declare(topology) { return .failure(error) }
            if !topologies.contains(topology) { topologies.append(topology) }
            return .success(.done)
        case .deleteQueue(let name):
            amqp_queue_delete(conn, channel, arena.bytes(name), 0, 0)
            if let error = try checkAdmin("deleting queue '\(name)'") { return .failure(error) }
            forget(queue: name)
            return .success(.done)
        case .deleteExchange(let name):
            amqp_exchange_delete(conn, channel, arena.bytes(name), 0)
            if let error = try checkAdmin("deleting exchange '\(name)'") { return .failure(error) }
            forget(exchange: name)
            return .success(.done)
        case .purgeQueue(let name):
            let ok = amqp_queue_purge(conn, channel, arena.bytes(name))
            if let error = try checkAdmin("purging queue '\(name)'") { return .failure(error) }
            return .success(.purged(ok?.pointee.message_count ?? 0))
        case .queueInfo(let name):
            let ok = amqp_queue_declare(conn, channel, arena.bytes(name), 1, 0, 0, 0, amqp_empty_table)
            if let error = try checkAdmin("looking up queue '\(name)'") { return .failure(error) }
            return .success(
                .queueInfo(
                    AMQPQueueInfo(
                        name: name, messageCount: ok?.pointee.message_count ?? 0,
                        consumerCount: ok?.pointee.consumer_count ?? 0)))
        }
    }

    func checkAdmin(_ context: String) throws(ConnectionFailure) -> AMQPError? {
        let error = try checkReply(channel: Self.adminChannel, context: context)
        if error != nil { adminChannelOpen = false }
        return error
    }

    /// Declares exchanges, then queues, then bindings on the declaration channel.
    func declare(_ topology: AMQPTopology) throws(ConnectionFailure) -> AMQPError? {
        if !adminChannelOpen {
            amqp_channel_open(conn, Self.adminChannel)
            if let error = try checkReply(channel: Self.adminChannel, context: "opening the declaration channel") {
                return error
            }
            adminChannelOpen = true
        }
        let channel = Self.adminChannel
        for exchange in topology.exchanges {
            let arena = CArena()
            amqp_exchange_declare(
                conn, channel, arena.bytes(exchange.name), arena.bytes(exchange.kind.rawValue), 0,
                exchange.durable ? 1 : 0, 0, 0, amqp_empty_table)
            if let error = try checkAdmin("declaring exchange '\(exchange.name)'") { return error }
        }
        for queue in topology.queues {
            let arena = CArena()
            var arguments: [(String, CArena.FieldValue)] = []
            if queue.quorum { arguments.append(("x-queue-type", .string("quorum"))) }
            if let limit = queue.deliveryLimit { arguments.append(("x-delivery-limit", .int(Int64(limit)))) }
            if let dlx = queue.deadLetterExchange { arguments.append(("x-dead-letter-exchange", .string(dlx))) }
            amqp_queue_declare(
                conn, channel, arena.bytes(queue.name), 0, queue.durable ? 1 : 0, 0, 0, arena.table(arguments))
            if let error = try checkAdmin("declaring queue '\(queue.name)'") { return error }
        }
        for binding in topology.bindings {
            let arena = CArena()
            amqp_queue_bind(
                conn, channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                arena.bytes(binding.routingKey), amqp_empty_table)
            if let error = try checkAdmin(
                "binding queue '\(binding.queue)' to '\(binding.exchange)' with '\(binding.routingKey)'")
            {
                return error
            }
        }
        return nil
    }

    /// A deleted queue or exchange is not declared again on reconnect.
    func forget(queue: String) {
        topologies = topologies.map { topology in
            var topology = topology
            topology.queues.removeAll { $0.name == queue }
            topology.bindings.removeAll { $0.queue == queue }
            return topology
        }.filter { !$0.isEmpty }
    }

    func forget(exchange: String) {
        topologies = topologies.map { topology in
            var topology = topology
            topology.exchanges.removeAll { $0.name == exchange }
            topology.bindings.removeAll { $0.exchange == exchange }
            return topology
        }.filter { !$0.isEmpty }
    }
}
