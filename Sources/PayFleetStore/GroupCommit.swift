import PayFleetMessages
import Synchronization

/// Group commit for fulfilment: payment notifications applied by many concurrent callers share transactions.
///
/// Each caller awaits its own notification's outcome, as with ``PayFleetStore/apply(_:)``, and so acks its delivery
/// only after the transaction that applied it committed. Underneath, at most `transactions` batches are in flight;
/// a caller that arrives while they are all busy waits, and the next batch takes every waiting notification (up to
/// `maxBatch`) into one ``PayFleetStore/apply(batch:)``. Under light load a notification is applied at once, alone;
/// under heavy load the batches grow by themselves, with no timer adding latency, and the database sees one commit
/// per batch instead of one per notification.
///
/// No task is spawned: the caller that starts a batch runs it (it "leads"), passes the lead to the oldest waiter
/// left, if any, so the next transaction starts at once, and then hands each of its batch's waiters its result.
public final class GroupCommit: Sendable {
    private enum Turn: Sendable {
        case done(Result<NotificationOutcome, any Error>)
        case lead
    }

    private struct Waiter {
        var notification: PaymentNotification
        var continuation: CheckedContinuation<Turn, Never>
    }

    private struct State {
        var waiting: [Waiter] = []
        var leaders = 0
    }

    let store: PayFleetStore
    let maxBatch: Int
    let transactions: Int
    let recordBatch: @Sendable (_ notifications: Int, _ duration: Duration) -> Void
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxBatch: notifications per transaction at most; 1 turns group commit off.
    ///   - transactions: batches in flight at once (each holds one pooled connection while it runs).
    ///   - recordBatch: told each batch's size and how long its transaction took, commit included (metrics).
    public init(
        store: PayFleetStore, maxBatch: Int, transactions: Int,
        recordBatch: @escaping @Sendable (_ notifications: Int, _ duration: Duration) -> Void = { _, _ in }
    ) {
        self.store = store
        self.maxBatch = max(1, maxBatch)
        self.transactions = max(1, transactions)
        self.recordBatch = recordBatch
    }

    /// Applies one notification, in a batch with whatever else is waiting, and returns its own outcome once the
    /// transaction that applied it committed. Throws the error that stopped this notification alone.
    public func apply(_ notification: PaymentNotification) async throws -> NotificationOutcome {
        guard maxBatch > 1 else { return try await store.apply(notification) }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let leads = state.withLock { state in
                if state.leaders < transactions {
                    state.leaders += 1
                    return true
                }
                state.waiting.append(Waiter(notification: notification, continuation: continuation))
                return false
            }
            if leads { continuation.resume(returning: .lead) }
        }
        switch turn {
        case .done(let result):
            return try result.get()
        case .lead:
            return try await lead(with: notification).get()
        }
    }

    /// Runs one batch: this caller's notification and the oldest waiters, then hands the lead on.
    private func lead(with own: PaymentNotification) async -> Result<NotificationOutcome, any Error> {
        let others = state.withLock { state in
            let taken = Array(state.waiting.prefix(maxBatch - 1))
            state.waiting.removeFirst(taken.count)
            return taken
        }
        let started = ContinuousClock.now
        let results = await store.apply(batch: [own] + others.map(\.notification))
        recordBatch(1 + others.count, ContinuousClock.now - started)
        // The next batch first: its transaction runs while this batch's callers ack their deliveries.
        let next = state.withLock { state -> Waiter? in
            guard !state.waiting.isEmpty else {
                state.leaders -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.continuation.resume(returning: .lead)
        for (waiter, result) in zip(others, results.dropFirst()) {
            waiter.continuation.resume(returning: .done(result))
        }
        return results[0]
    }
}
