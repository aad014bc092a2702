import ServiceLifecycle

/// Waits `duration` between rounds of a periodic loop, or less: it returns as soon as the service group starts its
/// graceful shutdown (or the task is cancelled). A plain `Task.sleep` there held SIGTERM up for a whole interval,
/// past the shutdown grace, so the process was cancelled instead of stopping cleanly (found by ChaosTests' SIGTERM
/// round: payment-worker took 16 s).
func pauseUnlessShuttingDown(for duration: Duration) async {
    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}

/// Waits until the service group starts its graceful shutdown (or the task is cancelled): what a periodic service
/// turned off by its settings does instead of returning, since a service that returns early stops its process.
func waitForShutdown() async {
    try? await gracefulShutdown()
}
