import CRabbitMQ
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The connection is unusable and must be rebuilt.
struct ConnectionFailure: Error {
    var error: AMQPError
}

/// A publish sent on the publishing channel and not yet confirmed.
struct PendingPublish {
    var reply: Reply<Void>
    var deadline: ContinuousClock.Instant
    var messageID: String
    var exchange: String
    var routingKey: String
    /// Set when a basic.return for this message arrived; the ack that follows fails the publish.
    var returned: AMQPError?
}

/// A consumer as the I/O thread sees it.
final class ConsumerRecord {
    let consumer: AMQPConsumer
    /// The channel while subscribed, `nil` otherwise.
    var channel: amqp_channel_t?
    /// Changes every time the channel is (re)opened; deliveries carry it.
    var epoch: UInt64 = 0
    var consumerTag: String?
    var cancelRequested = false
    /// Delivery tags handed out (buffered or in the user's hands) and not yet acked or nacked.
    var unsettled: Set<UInt64> = []

    init(consumer: AMQPConsumer) {
        self.consumer = consumer
    }
}

/// A message whose header and body frames are being read.
struct ContentAssembly {
    enum Kind {
        case delivery(deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String)
        case returned(replyCode: UInt16, replyText: String, exchange: String, routingKey: String)
    }

    var kind: Kind
    var properties = InboundProperties()
    var bodySize: UInt64 = 0
    var body: [UInt8] = []
    var headerSeen = false
}

/// Where the I/O thread's connection is. ``IOLoop/execute(_:)`` decides every command against it, in one place.
///
///     disconnected ──connect()──▶ connecting ──▶ open ──shutdown requested──▶ draining ──▶ closed
///          ▲                          │            │                             │
///          └──────── teardown ────────┴────────────┴─────────────────────────────┘ (then closed, if shutting down)
enum LinkState: Equatable {
    /// No usable connection: waiting out the reconnect backoff. Publishes and declarations fail at once;
    /// subscriptions are kept and made when the connection is up.
    case disconnected
    /// Opening the socket, logging in, declaring the topologies, subscribing the consumers.
    case connecting
    /// Serving commands, deliveries and confirms.
    case open
    /// Shutdown requested while open: consumers are cancelled, new publishes and subscriptions refused, and the
    /// confirms and settlements outstanding are awaited until `deadline`.
    case draining(deadline: ContinuousClock.Instant)
    /// The I/O thread is closing or has stopped: every command is refused.
    case closed

    /// Whether the connection can carry frames (open or draining).
    var isLinked: Bool {
        switch self {
        case .open, .draining: true
        case .disconnected, .connecting, .closed: false
        }
    }
}

/// Everything that touches the rabbitmq-c connection. Created on, and only ever used by, the I/O
/// thread: it is neither Sendable nor shared.
final class IOLoop {
    static let publishChannel: amqp_channel_t = 1
    static let adminChannel: amqp_channel_t = 2
    static let firstConsumerChannel: amqp_channel_t = 3
    static let frameMax: Int32 = 131_072
    /// Longest sleep in poll: bounds how late shutdown, timeouts and heartbeats are noticed.
    static let idlePollMilliseconds: Int64 = 50
    static let commandBatch = 512

    let core: ConnectionCore
    let configuration: AMQPConfiguration
    let logger: Logger

    var conn: amqp_connection_state_t?
    var socketFD: Int32 = -1
    var link: LinkState = .disconnected
    var publishChannelOpen = false
    var adminChannelOpen = false

    var nextPublishSeq: UInt64 = 1
    var lowestPending: UInt64 = 1
    var pending: [UInt64: PendingPublish] = [:]
    var nextTimeoutScan = ContinuousClock.now

    var consumers: [UInt64: ConsumerRecord] = [:]
    var consumerByChannel: [amqp_channel_t: UInt64] = [:]
    var usedChannels: Set<amqp_channel_t> = []
    var channelMax = 2047
    var nextEpoch: UInt64 = 1

    var assembling: [amqp_channel_t: ContentAssembly] = [:]
    /// Publishes encoded and not yet written (plain TCP): written once per turn of the loop.
    let outbound = OutboundFrames()
    /// Declared on every connect: the initial topology and every one passed to `declare`.
    var topologies: [AMQPTopology] = []
    /// Commands taken from the queue and not executed yet when the connection failed.
    var backlog: [Command] = []
    var drainDeadline: ContinuousClock.Instant? {
        if case .draining(let deadline) = link { deadline } else { nil }
    }
    var failedAttempts = 0

    init(core: ConnectionCore) {
        self.core = core
        self.configuration = core.configuration
        self.logger = core.logger
        if !core.topology.isEmpty { topologies = [core.topology] }
    }

    // MARK: Main loop

    func run() {
        logger.debug("AMQP I/O thread started")
        var backoff = configuration.reconnectInitialBackoff
        while !core.shutdownRequested {
            do throws(ConnectionFailure) {
                try connect()
                backoff = configuration.reconnectInitialBackoff
                if let failure = serve() {
                    teardown(failure)
                } else {
                    closeCleanly()
                    break
                }
            } catch {
                teardown(error.error)
            }
            if core.shutdownRequested { break }
            let delay = backoff * Double.random(in: 0.5...1.0)
            waitWhileDisconnected(for: delay)
            backoff = min(backoff * 2, configuration.reconnectMaxBackoff)
        }
        finish()
        logger.debug("AMQP I/O thread stopped")
    }

    /// Serves a live connection until it fails (returns the error) or a shutdown has drained (returns nil).
    func serve() -> AMQPError? {
        do throws(ConnectionFailure) {
            while true {
                if core.shutdownRequested && drainDeadline == nil {
                    try beginDrain()
                }
                if let drainDeadline, isDrained() || ContinuousClock.now >= drainDeadline {
                    return nil
                }
                try runCommands()
                var idle = false
                for _ in 0..<1024 {
                    var frame = amqp_frame_t()
                    var zero = timeval.zero
                    let status = amqp_simple_wait_frame_noblock(conn, &frame, &zero)
                    if status == AMQP_STATUS_TIMEOUT.rawValue {
                        idle = true
                        break
                    }
                    guard status == AMQP_STATUS_OK.rawValue else {
                        throw ConnectionFailure(
                            error: AMQPError(
                                code: .connectionLost,
                                message: "the connection to RabbitMQ dropped: \(amqpStatusText(status))"))
                    }
                    try handle(frame)
                }
                amqp_maybe_release_buffers(conn)
                expirePublishes()
                if idle && backlog.isEmpty {
                    var timeout = Self.idlePollMilliseconds
                    if let drainDeadline {
                        timeout = min(timeout, max(1, (drainDeadline - ContinuousClock.now).milliseconds))
                    }
                    waitForActivity(includingSocket: true, timeoutMilliseconds: timeout)
                }
            }
        } catch {
            return error.error
        }
    }

    /// Sleeps in poll until the socket is readable, a command is queued, or the timeout passes.
    func waitForActivity(includingSocket: Bool, timeoutMilliseconds: Int64) {
        var fds = [
            pollfd(fd: core.wake.readFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: includingSocket ? socketFD : -1, events: Int16(POLLIN), revents: 0),
        ]
        let count = poll(&fds, nfds_t(fds.count), Int32(clamping: timeoutMilliseconds))
        if count > 0 && fds[0].revents != 0 {
            core.wake.drain()
        }
    }

    func waitWhileDisconnected(for delay: Duration) {
        let deadline = ContinuousClock.now + delay
        while !core.shutdownRequested {
            runCommandsUnlinked()
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { break }
            waitForActivity(includingSocket: false, timeoutMilliseconds: max(1, remaining.milliseconds))
        }
        runCommandsUnlinked()
    }

    // MARK: Connecting

    func connect() throws(ConnectionFailure) {
        link = .connecting
        let target = "\(configuration.host):\(configuration.port)"
        func fail(_ message: String, replyCode: UInt16? = nil) -> ConnectionFailure {
            ConnectionFailure(error: AMQPError(code: .notConnected, message: message, replyCode: replyCode))
        }
        guard let state = amqp_new_connection() else { throw fail("cannot allocate a rabbitmq-c connection") }
        conn = state
        let socket = configuration.useTLS ? amqp_ssl_socket_new(state) : amqp_tcp_socket_new(state)
        guard let socket else { throw fail("cannot create a socket for \(target)") }
        if configuration.useTLS {
            amqp_ssl_socket_set_verify_peer(socket, configuration.tlsVerifyPeer ? 1 : 0)
            amqp_ssl_socket_set_verify_hostname(socket, configuration.tlsVerifyPeer ? 1 : 0)
            if let path = configuration.tlsCACertificatePath {
                let status = amqp_ssl_socket_set_cacert(socket, path)
                guard status == AMQP_STATUS_OK.rawValue else {
                    throw fail("cannot load the CA certificates in \(path): \(amqpStatusText(status))")
                }
            }
        }
        var connectTimeout = timeval(configuration.connectTimeout)
        let openStatus = amqp_socket_open_noblock(socket, configuration.host, Int32(configuration.port), &connectTimeout)
        guard openStatus == AMQP_STATUS_OK.rawValue else {
            throw fail("cannot connect to \(target): \(amqpStatusText(openStatus))")
        }
        _ = amqp_set_handshake_timeout(state, &connectTimeout)
        var rpcTimeout = timeval(configuration.rpcTimeout)
        _ = amqp_set_rpc_timeout(state, &rpcTimeout)

        let arena = CArena()
        var properties = arena.table([
            ("connection_name", .string(configuration.connectionName)),
            (
                "capabilities",
                .table([
                    ("consumer_cancel_notify", .bool(true)),
                    ("connection.blocked", .bool(true)),
                    ("basic.nack", .bool(true)),
                    ("publisher_confirms", .bool(true)),
                ])
            ),
        ])
        let heartbeat = Int32(clamping: max(0, configuration.heartbeat.components.seconds))
        let login = payfleet_amqp_login_plain_with_properties(
            state, configuration.virtualHost, 0, Self.frameMax, heartbeat, &properties, configuration.user,
            configuration.password)
        switch login.reply_type {
        case AMQP_RESPONSE_NORMAL:
            break
        case AMQP_RESPONSE_SERVER_EXCEPTION where login.reply.id == Method.connectionClose:
            let close = login.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            throw fail(
                "RabbitMQ at \(target) refused the login of user '\(configuration.user)' to vhost "
                    + "'\(configuration.virtualHost)': \(String(amqpBytes: close.reply_text))",
                replyCode: close.reply_code)
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw fail(
                "login to RabbitMQ at \(target) as '\(configuration.user)' failed: "
                    + "\(amqpStatusText(login.library_error)) (wrong credentials or vhost make the broker close "
                    + "the connection)")
        default:
            throw fail("login to RabbitMQ at \(target) failed")
        }
        let negotiatedChannelMax = Int(amqp_get_channel_max(state))
        channelMax = negotiatedChannelMax == 0 ? 65535 : negotiatedChannelMax
        socketFD = amqp_get_sockfd(state)

        try openPublishChannel()
        for topology in topologies {
            if let error = try declare(topology) {
                logger.error(
                    "cannot declare the AMQP topology; fix the conflicting declaration",
                    metadata: ["error": "\(error.debugDescription)"])
            }
        }
        for record in consumers.values.sorted(by: { $0.consumer.id < $1.consumer.id }) {
            if record.cancelRequested {
                removeRecord(record)
            } else if let error = try subscribe(record) {
                logger.error(
                    "cannot subscribe to queue \(record.consumer.queue)",
                    metadata: ["error": "\(error.debugDescription)"])
                removeRecord(record)
                record.consumer.end(.failed(error))
            }
        }
        link = .open
        failedAttempts = 0
        core.setConnected(true, lastError: nil)
        logger.info(
            "connected to RabbitMQ",
            metadata: ["amqp.heartbeat": "\(amqp_get_heartbeat(state))", "amqp.consumers": "\(consumers.count)"])
    }

    func openPublishChannel() throws(ConnectionFailure) {
        amqp_channel_open(conn, Self.publishChannel)
        if let error = try checkReply(channel: Self.publishChannel, context: "opening the publishing channel") {
            throw ConnectionFailure(error: error)
        }
        amqp_confirm_select(conn, Self.publishChannel)
        if let error = try checkReply(channel: Self.publishChannel, context: "enabling publisher confirms") {
            throw ConnectionFailure(error: error)
        }
        publishChannelOpen = true
        nextPublishSeq = 1
        lowestPending = 1
    }

    /// Drops the connection after a failure: everything in flight on it fails, consumers wait to resubscribe.
    func teardown(_ error: AMQPError) {
        let wasConnected = link.isLinked
        link = .disconnected
        publishChannelOpen = false
        adminChannelOpen = false
        if let conn {
            amqp_destroy_connection(conn)
            self.conn = nil
        }
        socketFD = -1
        outbound.bytes.removeAll(keepingCapacity: true)
        core.setConnected(false, lastError: [error.message, error.detail].compactMap { $0 }.joined(separator: ": "))
        failAllPending(
            AMQPError(
                code: .connectionLost,
                message: "the connection to RabbitMQ dropped before the broker confirmed the message",
                detail: error.message))
        resetConsumersAfterConnectionLoss()
        if wasConnected {
            logger.warning(
                "lost the connection to RabbitMQ; reconnecting", metadata: ["error": "\(error.debugDescription)"])
        } else {
            failedAttempts += 1
            if failedAttempts == 1 || failedAttempts % 20 == 0 {
                logger.warning(
                    "cannot connect to RabbitMQ; retrying with backoff",
                    metadata: ["error": "\(error.debugDescription)", "amqp.attempts": "\(failedAttempts)"])
            } else {
                logger.debug(
                    "cannot connect to RabbitMQ; retrying with backoff",
                    metadata: ["error": "\(error.debugDescription)", "amqp.attempts": "\(failedAttempts)"])
            }
        }
    }

    func resetConsumersAfterConnectionLoss() {
        assembling.removeAll()
        consumerByChannel.removeAll()
        usedChannels.removeAll()
        for record in consumers.values {
            record.channel = nil
            record.consumerTag = nil
            record.unsettled.removeAll()
            record.consumer.purge()
            if record.cancelRequested { consumers[record.consumer.id] = nil }
        }
    }

    func beginDrain() throws(ConnectionFailure) {
        link = .draining(deadline: ContinuousClock.now + configuration.shutdownDrainTimeout)
        logger.debug(
            "AMQP connection shutting down: cancelling consumers, draining confirms",
            metadata: ["amqp.pendingConfirms": "\(pending.count)"])
        for record in consumers.values {
            record.consumer.end(.cancelled)
            try cancelSubscription(record)
        }
    }

    func isDrained() -> Bool {
        pending.isEmpty && consumers.values.allSatisfy { $0.unsettled.count <= $0.consumer.bufferedCount }
    }

    func closeCleanly() {
        failAllPending(.closed("the AMQP connection shut down before the broker confirmed the message"))
        link = .closed
        publishChannelOpen = false
        core.setConnected(false, lastError: "the connection was shut down")
        if let conn {
            let reply = amqp_connection_close(conn, AMQP_REPLY_SUCCESS)
            if reply.reply_type != AMQP_RESPONSE_NORMAL {
                logger.debug("connection.close was not answered cleanly")
            }
            amqp_destroy_connection(conn)
            self.conn = nil
        }
        logger.info("closed the connection to RabbitMQ")
    }

    func finish() {
        link = .closed
        if let conn {
            amqp_destroy_connection(conn)
            self.conn = nil
        }
        failAllPending(.closed("the AMQP connection shut down before the broker confirmed the message"))
        for record in consumers.values {
            record.consumer.purge()
            record.consumer.end(.cancelled)
        }
        consumers.removeAll()
        let remaining = backlog + core.finish()
        backlog = []
        for command in remaining { executeUnlinked(command) }
        core.resumeRun()
    }

    // MARK: Channels

    func allocateChannel() -> amqp_channel_t? {
        var channel = Int(Self.firstConsumerChannel)
        while channel <= channelMax {
            if !usedChannels.contains(amqp_channel_t(channel)) {
                usedChannels.insert(amqp_channel_t(channel))
                return amqp_channel_t(channel)
            }
            channel += 1
        }
        return nil
    }

    func releaseChannel(_ channel: amqp_channel_t) {
        usedChannels.remove(channel)
        consumerByChannel[channel] = nil
        assembling[channel] = nil
    }

    /// Reads the reply of the synchronous method just called. Returns a channel-level error (the
    /// broker closed that channel; close-ok is sent), throws when the connection is unusable.
    func checkReply(channel: amqp_channel_t, context: String) throws(ConnectionFailure) -> AMQPError? {
        let reply = amqp_get_rpc_reply(conn)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return nil
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == Method.channelClose {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                let text = String(amqpBytes: close.reply_text)
                try sendChannelCloseOK(channel)
                return AMQPError(
                    code: .protocolError, message: "\(context): the broker refused: \(text)",
                    replyCode: close.reply_code)
            } else if reply.reply.id == Method.connectionClose {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                let text = String(amqpBytes: close.reply_text)
                sendConnectionCloseOK()
                throw ConnectionFailure(
                    error: AMQPError(
                        code: .connectionLost, message: "\(context): the broker closed the connection: \(text)",
                        replyCode: close.reply_code))
            }
            throw ConnectionFailure(
                error: AMQPError(
                    code: .protocolError, message: "\(context): unexpected reply method \(reply.reply.id)"))
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            let timedOut = reply.library_error == AMQP_STATUS_TIMEOUT.rawValue
            throw ConnectionFailure(
                error: AMQPError(
                    code: timedOut ? .timeout : .connectionLost,
                    message: "\(context): \(amqpStatusText(reply.library_error))"))
        default:
            throw ConnectionFailure(error: AMQPError(code: .connectionLost, message: "\(context): no reply"))
        }
    }

    func sendChannelCloseOK(_ channel: amqp_channel_t) throws(ConnectionFailure) {
        var closeOK = amqp_channel_close_ok_t(dummy: 0)
        let status = amqp_send_method(conn, channel, Method.channelCloseOK, &closeOK)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw ConnectionFailure(
                error: AMQPError(code: .connectionLost, message: "cannot send channel.close-ok: \(amqpStatusText(status))"))
        }
    }

    func sendConnectionCloseOK() {
        var closeOK = amqp_connection_close_ok_t(dummy: 0)
        _ = amqp_send_method(conn, 0, Method.connectionCloseOK, &closeOK)
    }
}
