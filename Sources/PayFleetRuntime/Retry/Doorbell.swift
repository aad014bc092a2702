import Synchronization

/// Wakes one sleeper early: ``ring()`` ends the current (or the next) ``wait(upTo:)``.
/// Rings while nobody waits are remembered as one.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    func ring() {
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        continuation?.resume()
    }

    /// Returns after `timeout`, at a ring, or when the task is cancelled, whichever comes first.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForRing() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // One sleeper at a time; a second one replaces (and wakes) the first.
                let (resumeNow, replaced): (Bool, CheckedContinuation<Void, Never>?) = state.withLock { state in
                    if state.rung {
                        state.rung = false
                        return (true, nil)
                    }
                    if Task.isCancelled { return (true, nil) }
                    let previous = state.waiter?.continuation
                    state.waiter = (id, continuation)
                    return (false, previous)
                }
                replaced?.resume()
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            continuation?.resume()
        }
    }
}
