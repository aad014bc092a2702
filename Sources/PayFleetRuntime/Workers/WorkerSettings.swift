import Configuration

/// Consumer settings shared by the workers.
///
/// Keys: `worker.concurrency` (units of work in flight and the prefetch; default 8, fulfilment-worker 128;
/// `--concurrency N` on the command line), `worker.requeue_pause_ms` (how long a unit of work
/// that met an unavailable database waits before its message is requeued; default 1000).
public struct WorkerSettings: Sendable {
    public var concurrency: Int
    public var requeuePause: Duration

    public init(reader: ConfigReader, defaultConcurrency: Int = 8) {
        concurrency = max(1, reader.int(forKey: "worker.concurrency", default: defaultConcurrency))
        requeuePause = .milliseconds(reader.int(forKey: "worker.requeue_pause_ms", default: 1000))
    }
}
