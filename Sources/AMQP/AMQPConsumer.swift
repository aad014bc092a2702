import Synchronization

/// Deliveries from one queue, as a pull-based async sequence.
///
/// The buffer is bounded by the broker: it never sends more than `prefetch` unacknowledged
/// deliveries, and the buffer only holds deliveries that are not acknowledged yet. Settle every
/// delivery with ``AMQPDelivery/ack()`` or ``AMQPDelivery/nack(requeue:)``.
///
/// The consumer survives reconnects: it subscribes again on the new connection. Deliveries that
/// were buffered when the connection dropped are discarded (the broker redelivers them), and
/// settling a delivery from the old connection throws ``AMQPError/Code/staleDelivery``.
///
/// Iteration ends (returns `nil`) after ``cancel()`` once the buffered deliveries are drained, when
/// the iterating task is cancelled, or when the connection shuts down. It throws when the broker
/// cancels the consumer (queue deleted) or the queue cannot be subscribed to after a reconnect.
public final class AMQPConsumer: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery
    public typealias Failure = AMQPError

    /// The queue consumed from.
    public let queue: String
    /// The broker-side window: how many unacknowledged deliveries the broker sends at most.
    public let prefetch: UInt16

    let id: UInt64
    let core: ConnectionCore

    enum End: Sendable {
        case cancelled
        case failed(AMQPError)
    }

    struct State {
        var buffer: [AMQPDelivery] = []
        var bufferHead = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Result<AMQPDelivery?, AMQPError>, Never>)] = []
        var end: End?
        var nextWaiterID: UInt64 = 0

        var bufferedCount: Int { buffer.count - bufferHead }

        mutating func popFirst() -> AMQPDelivery? {
            guard bufferHead < buffer.count else { return nil }
            let delivery = buffer[bufferHead]
            bufferHead += 1
            if bufferHead == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                bufferHead = 0
            }
            return delivery
        }
    }

    let state = Mutex(State())

    init(queue: String, prefetch: UInt16, id: UInt64, core: ConnectionCore) {
        self.queue = queue
        self.prefetch = prefetch
        self.id = id
        self.core = core
    }

    /// Stops new deliveries (basic.cancel). Iteration ends once the buffered deliveries are consumed;
    /// deliveries already handed out can still be acknowledged.
    public func cancel() async {
        if core.withdrawSubscriptionBeforeStart(consumerID: id) {
            end(.cancelled)
            return
        }
        _ = await core.perform(ifFinished: .closed()) { reply in .cancel(consumerID: id, reply) }
        end(.cancelled)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = AMQPDelivery
        public typealias Failure = AMQPError

        let consumer: AMQPConsumer

        public mutating func next() async throws(AMQPError) -> AMQPDelivery? {
            try await consumer.nextDelivery()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(AMQPError) -> AMQPDelivery? {
            try await consumer.nextDelivery()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: self)
    }

    // MARK: Called by the I/O thread and the iterator

    func nextDelivery() async throws(AMQPError) -> AMQPDelivery? {
        // Fast path: something is buffered.
        let immediate: Result<AMQPDelivery?, AMQPError>? = state.withLock { state in
            if let delivery = state.popFirst() { return .success(delivery) }
            switch state.end {
            case .cancelled: return .success(nil)
            case .failed(let error): return .failure(error)
            case nil: return nil
            }
        }
        if let immediate { return try immediate.get() }

        let waiterID = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<AMQPDelivery?, AMQPError>, Never>) in
                let now: Result<AMQPDelivery?, AMQPError>? = state.withLock { state in
                    if let delivery = state.popFirst() { return .success(delivery) }
                    switch state.end {
                    case .cancelled: return .success(nil)
                    case .failed(let error): return .failure(error)
                    case nil: break
                    }
                    if Task.isCancelled { return .success(nil) }
                    state.waiters.append((waiterID, continuation))
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Result<AMQPDelivery?, AMQPError>, Never>? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == waiterID }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: .success(nil))
        }
        return try result.get()
    }

    /// Hands a delivery to a waiting iterator or buffers it.
    func push(_ delivery: AMQPDelivery) {
        let waiter: CheckedContinuation<Result<AMQPDelivery?, AMQPError>, Never>? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.buffer.append(delivery)
            return nil
        }
        waiter?.resume(returning: .success(delivery))
    }

    /// Drops buffered deliveries (their connection or channel is gone); returns how many.
    @discardableResult
    func purge() -> Int {
        state.withLock { state in
            let count = state.bufferedCount
            state.buffer.removeAll()
            state.bufferHead = 0
            return count
        }
    }

    var bufferedCount: Int { state.withLock { $0.bufferedCount } }

    /// Ends iteration: waiting iterators get `nil` (cancelled) or the error; later calls return the
    /// buffered deliveries first.
    func end(_ end: End) {
        let waiters = state.withLock { state in
            if state.end == nil { state.end = end }
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        let result: Result<AMQPDelivery?, AMQPError> =
            switch end {
            case .cancelled: .success(nil)
            case .failed(let error): .failure(error)
            }
        for waiter in waiters { waiter.resume(returning: result) }
    }
}
