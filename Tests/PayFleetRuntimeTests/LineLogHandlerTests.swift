import Logging
import Synchronization
import Testing

@testable import PayFleetRuntime

/// Every role logs through LineLogHandler; tests, the bench and the chaos audits read its lines, which must stay
/// StreamLogHandler's to the byte (they match `] payment settled` at the end, `payment_no=… ` inside).
@Suite("log lines")
struct LineLogHandlerTests {
    /// What StreamLogHandler writes, collected.
    final class Collected: TextOutputStream, @unchecked Sendable {
        let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
    }

    struct Boom: Error, CustomStringConvertible {
        var description: String { "boom" }
    }

    /// The same event through both handlers, each with the same keys set one at a time.
    static func both(
        set keys: [(String, Logger.Metadata.Value)], explicit: Logger.Metadata?, error: (any Error)? = nil
    ) -> (ours: String, stream: String) {
        let collected = Collected()
        var stream = StreamLogHandler(label: "fulfilment-worker", stream: collected, metadataProvider: nil)
        var ours = LineLogHandler(label: "fulfilment-worker", logLevel: .info)
        for (key, value) in keys {
            stream[metadataKey: key] = value
            ours[metadataKey: key] = value
        }
        var event = LogEvent(
            level: .info, message: "payment settled", metadata: explicit, source: "PayFleetStore", file: #fileID,
            function: #function, line: #line)
        event.error = error
        stream.log(event: event)
        return (ours.render(event), collected.text.withLock { $0 })
    }

    /// A line without its timestamp (the two handlers may straddle a second).
    static func body(_ line: String) -> Substring {
        line.drop { $0 != " " }
    }

    @Test("the same line as StreamLogHandler: metadata sorted, explicit keys win, errors as error.*")
    func sameLines() throws {
        let cases: [(keys: [(String, Logger.Metadata.Value)], explicit: Logger.Metadata?, error: (any Error)?)] = [
            ([], nil, nil),
            ([("pid", "7133"), ("payment_no", "B1N1"), ("notification", "wechatpay:EV-1")], nil, nil),
            ([("pid", "7133"), ("payment_no", "B1N1")], ["order_no": "ORD-B1N1", "payment_no": "B1N2"], nil),
            ([("pid", "7133")], ["reason": .array(["a", "b"])], Boom()),
        ]
        for (keys, explicit, error) in cases {
            let (ours, stream) = Self.both(set: keys, explicit: explicit, error: error)
            #expect(Self.body(ours) == Self.body(stream))
            #expect(ours.hasSuffix(" [PayFleetStore] payment settled\n"))
            let stamp = try #require(ours.split(separator: " ").first)
            #expect(stamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/) != nil, "\(stamp)")
        }
        let (line, _) = Self.both(set: [("pid", "7133"), ("payment_no", "B1N1")], explicit: ["order_no": "ORD-B1N1"])
        #expect(Self.body(line) == " info fulfilment-worker: order_no=ORD-B1N1 payment_no=B1N1 pid=7133 [PayFleetStore] payment settled\n")
    }
}
