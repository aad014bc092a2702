import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias Reply<T: Sendable> = CheckedContinuation<Result<T, AMQPError>, Never>

/// Work that async callers hand to the I/O thread. Only that thread touches the connection.
enum Command: Sendable {
    case publish(PublishRequest)
    case settle(consumerID: UInt64, channelEpoch: UInt64, deliveryTag: UInt64, Settlement, Reply<Void>)
    case subscribe(AMQPConsumer, Reply<Void>?)
    case cancel(consumerID: UInt64, Reply<Void>)
    case admin(AdminOperation, Reply<AdminResult>)
}

struct PublishRequest: Sendable {
    var message: AMQPOutboundMessage
    var exchange: String
    var routingKey: String
    var deadline: ContinuousClock.Instant
    var reply: Reply<Void>
}

enum AdminOperation: Sendable {
    case declare(AMQPTopology)
    case deleteQueue(String)
    case deleteExchange(String)
    case purgeQueue(String)
    case queueInfo(String)
}

enum AdminResult: Sendable {
    case done
    case queueInfo(AMQPQueueInfo)
    case purged(UInt32)
}

/// The part of a connection that async callers and the I/O thread share: configuration, the
/// command queue and the connection status, behind one mutex. The rabbitmq-c connection itself
/// lives in ``IOLoop``, which only the I/O thread touches.
final class ConnectionCore: Sendable {
    enum Lifecycle: Sendable {
        case idle, running, shuttingDown, finished
    }

    struct State {
        var lifecycle: Lifecycle = .idle
        var shutdownRequested = false
        var connected = false
        /// How many times the connection came up: 1 after the first connect, one more per reconnect.
        var linksOpened = 0
        /// Why the last connection attempt failed or the connection dropped (no secrets).
        var lastError: String?
        var commands: [Command] = []
        var wakeSignalled = false
        var connectWaiters: [UInt64: Reply<Void>] = [:]
        var nextID: UInt64 = 1
        var runContinuation: CheckedContinuation<Void, Never>?
    }

    let configuration: AMQPConfiguration
    let topology: AMQPTopology
    let logger: Logger
    let wake: WakePipe
    let state = Mutex(State())

    init(configuration: AMQPConfiguration, topology: AMQPTopology, logger: Logger) {
        self.configuration = configuration
        self.topology = topology
        var logger = logger
        logger[metadataKey: "amqp.url"] = "\(configuration.redactedURL)"
        logger[metadataKey: "amqp.connection"] = "\(configuration.connectionName)"
        self.logger = logger
        self.wake = WakePipe()
    }

    deinit {
        wake.close()
    }

    func makeID() -> UInt64 {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    // MARK: Commands

    /// Queues a command for the I/O thread and wakes it. Returns `false` once the loop has finished.
    func enqueue(_ command: Command) -> Bool {
        let outcome: Bool? = state.withLock { state in
            guard state.lifecycle != .finished else { return nil }
            state.commands.append(command)
            if state.wakeSignalled { return false }
            state.wakeSignalled = true
            return true
        }
        guard let shouldWake = outcome else { return false }
        if shouldWake { wake.signal() }
        return true
    }

    /// Before `run()` there is no thread to answer a cancel: drop the queued subscription instead.
    func withdrawSubscriptionBeforeStart(consumerID: UInt64) -> Bool {
        let withdrawn: [Reply<Void>]? = state.withLock { state in
            guard state.lifecycle == .idle else { return nil }
            var replies: [Reply<Void>] = []
            state.commands.removeAll { command in
                guard case .subscribe(let consumer, let reply) = command, consumer.id == consumerID else { return false }
                if let reply { replies.append(reply) }
                return true
            }
            return replies
        }
        guard let withdrawn else { return false }
        for reply in withdrawn { reply.resume(returning: .failure(.closed("the consumer was cancelled"))) }
        return true
    }

    /// Called by the I/O thread after draining the wake pipe.
    func takeCommands() -> [Command] {
        state.withLock { state in
            state.wakeSignalled = false
            defer { state.commands.removeAll(keepingCapacity: true) }
            return state.commands
        }
    }

    func perform<T: Sendable>(
        ifFinished error: AMQPError, _ makeCommand: (Reply<T>) -> Command
    ) async -> Result<T, AMQPError> {
        await withCheckedContinuation { (continuation: Reply<T>) in
            if !enqueue(makeCommand(continuation)) {
                continuation.resume(returning: .failure(error))
            }
        }
    }

    // MARK: Status

    var isConnected: Bool { state.withLock { $0.connected } }

    var linksOpened: Int { state.withLock { $0.linksOpened } }

    func notConnectedError(lastError: String?) -> AMQPError {
        AMQPError(
            code: .notConnected,
            message: "not connected to RabbitMQ at \(configuration.redactedURL); the connection keeps retrying in "
                + "the background",
            detail: lastError)
    }

    /// Fails fast when the connection cannot take new work.
    func checkUsable() throws(AMQPError) {
        let (lifecycle, connected, lastError) = state.withLock { ($0.lifecycle, $0.connected, $0.lastError) }
        switch lifecycle {
        case .shuttingDown, .finished: throw .closed()
        case .idle, .running: break
        }
        guard connected else { throw notConnectedError(lastError: lastError) }
    }

    /// Called by the I/O thread when the connection comes up or goes down.
    func setConnected(_ connected: Bool, lastError: String?) {
        let waiters: [Reply<Void>] = state.withLock { state in
            state.connected = connected
            if let lastError { state.lastError = lastError }
            guard connected else { return [] }
            state.linksOpened += 1
            state.lastError = nil
            defer { state.connectWaiters.removeAll() }
            return Array(state.connectWaiters.values)
        }
        for waiter in waiters { waiter.resume(returning: .success(())) }
    }

    func waitUntilConnected(timeout: Duration) async throws(AMQPError) {
        let id = makeID()
        let result: Result<Void, AMQPError> = await withTaskGroup(of: Result<Void, AMQPError>?.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: Reply<Void>) in
                        let immediate: Result<Void, AMQPError>? = self.state.withLock { state in
                            if state.connected { return .success(()) }
                            if state.lifecycle == .finished || state.lifecycle == .shuttingDown { return .failure(.closed()) }
                            if Task.isCancelled { return .failure(self.timeoutWaitingError(timeout)) }
                            state.connectWaiters[id] = continuation
                            return nil
                        }
                        if let immediate { continuation.resume(returning: immediate) }
                    }
                } onCancel: {
                    let waiter = self.state.withLock { $0.connectWaiters.removeValue(forKey: id) }
                    waiter?.resume(returning: .failure(self.timeoutWaitingError(timeout)))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(timeoutWaitingError(timeout))
        }
        try result.get()
    }

    private func timeoutWaitingError(_ timeout: Duration) -> AMQPError {
        let lastError = state.withLock { $0.lastError }
        return AMQPError(
            code: .timeout,
            message: "no connection to RabbitMQ at \(configuration.redactedURL) within \(timeout); is the broker "
                + "running (scripts/services start rabbitmq)?",
            detail: lastError)
    }

    /// Called by the I/O thread when it stops: nothing can connect any more.
    func failConnectWaiters() {
        let waiters = state.withLock { state in
            defer { state.connectWaiters.removeAll() }
            return Array(state.connectWaiters.values)
        }
        for waiter in waiters { waiter.resume(returning: .failure(.closed())) }
    }

    // MARK: Lifecycle

    /// Starts the I/O thread and returns when it has finished (after shutdown).
    func runIOThread() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let start: Bool = state.withLock { state in
                guard state.lifecycle == .idle else { return false }
                state.lifecycle = state.shutdownRequested ? .shuttingDown : .running
                state.runContinuation = continuation
                return true
            }
            guard start else {
                logger.error("AMQPConnection.run() called more than once; the second call returns at once")
                continuation.resume()
                return
            }
            let thread = Thread { [self] in
                IOLoop(core: self).run()
            }
            thread.name = "amqp-io"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    func requestShutdown() {
        let wakeUp: Bool = state.withLock { state in
            state.shutdownRequested = true
            if state.lifecycle == .running { state.lifecycle = .shuttingDown }
            return state.lifecycle != .idle
        }
        if wakeUp { wake.signal() }
    }

    var shutdownRequested: Bool { state.withLock { $0.shutdownRequested } }

    /// Called by the I/O thread when it stops: returns what is still queued (to be failed), and
    /// refuses new commands from now on.
    func finish() -> [Command] {
        let commands = state.withLock { state in
            state.lifecycle = .finished
            state.connected = false
            defer { state.commands.removeAll() }
            return state.commands
        }
        failConnectWaiters()
        return commands
    }

    /// Called last by the I/O thread: `run()` returns.
    func resumeRun() {
        let continuation = state.withLock { state in
            defer { state.runContinuation = nil }
            return state.runContinuation
        }
        continuation?.resume()
    }

    // MARK: Deliveries

    func settle(origin: DeliveryOrigin, deliveryTag: UInt64, settlement: Settlement) async throws(AMQPError) {
        let stale = AMQPError(
            code: .staleDelivery,
            message: "the connection this delivery came on is closed; the broker redelivers the message")
        try await perform(ifFinished: stale) { reply in
            .settle(
                consumerID: origin.consumerID, channelEpoch: origin.channelEpoch, deliveryTag: deliveryTag,
                settlement, reply)
        }.get()
    }
}

/// A non-blocking pipe that wakes the I/O thread out of `poll` when work is queued.
struct WakePipe: Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { fatalError("pipe() failed: errno \(errno)") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    func drain() {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &buffer, { read(readFD, $0.baseAddress, $0.count) }) > 0 {}
    }

    func close() {
        #if canImport(Glibc)
        _ = Glibc.close(readFD)
        _ = Glibc.close(writeFD)
        #else
        _ = Darwin.close(readFD)
        _ = Darwin.close(writeFD)
        #endif
    }
}
