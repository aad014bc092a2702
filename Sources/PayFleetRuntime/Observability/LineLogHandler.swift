import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every role's log handler: swift-log's `StreamLogHandler` line format on stderr, byte for byte
/// (`2026-12-06T02:12:37+0000 info fulfilment-worker: k=v … [Source] message`), one `write(2)` per line so a
/// line is out before the process can be killed (the chaos audits count lines of killed processes).
///
/// What it does not do is StreamLogHandler's re-rendering of the whole metadata on every change of a key: a role
/// sets several keys per request or delivery (channel, merchant, payment_no, message_id, …) and logs once, and the
/// receiver's profile had 5% of its CPU in that rendering. Here metadata is rendered once, when a line is written.
struct LineLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(label: String, logLevel: Logger.Level) {
        self.label = label
        self.logLevel = logLevel
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = render(event)
        // One writer at a time, as StreamLogHandler locks its FILE: a long line to a pipe is not written atomically.
        Self.writing.withLock { _ in Self.emit(&line) }
    }

    /// The line `event` is written as, newline included.
    func render(_ event: LogEvent) -> String {
        var merged = metadata
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        var line = Self.timestamp()
        line += " \(event.level)"
        if !label.isEmpty { line += " " + label }
        line += ":"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(value)"
        }
        line += " [\(event.source)] \(event.message)\n"
        return line
    }

    private static let writing = Mutex(())

    private static func emit(_ line: inout String) {
        line.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(2, base + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    /// Local time as StreamLogHandler writes it: `%Y-%m-%dT%H:%M:%S%z`.
    static func timestamp() -> String {
        var now = time(nil)
        var local = tm()
        guard localtime_r(&now, &local) != nil else { return "<unknown>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
