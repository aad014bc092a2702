import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Testing

/// The transactional outbox reaches payfleet.events: every event written with its change is
/// published by the events-worker once it is committed, and marked published.
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled))
struct EventsWorkerTests {
    @Test func orderPaidAndPaymentCreatedArePublishedOnceEachAndMarkedPublished() async throws {
        try await SpyQueue.with([RoutingKey.orderPaid, RoutingKey.paymentCreated]) { spied in
            // Deliveries per message id: a double shows as 2.
            let received = {
                spied().reduce(into: [String: Int]()) { $0[$1.messageID ?? "-", default: 0] += 1 }
            }
            try await TestFleet.with(TestFleet.Role.standard + [.eventsWorker]) { fleet in
                let paymentNos = ["EVA\(Fixture.unique())", "EVB\(Fixture.unique())"]
                for paymentNo in paymentNos {
                    try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 990)
                    let notification = try fleet.notifier.paymentSucceeded(
                        channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 990))
                    #expect(try await fleet.notifier.post(notification).status == 204)
                }
                let expected = paymentNos.flatMap { ["order.paid:ORD-\($0)", "payment.created:\($0)"] }
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline,
                    !expected.allSatisfy({ received()[$0] != nil })
                {
                    try await Task.sleep(for: .milliseconds(100))
                }
                // A marker event written after them: the relay publishes in outbox order, so once the marker is on
                // the spy queue, any second copy of the others would be there too (a positive signal, not a sleep).
                let marker = "order.paid:MARKER-\(Fixture.unique())"
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    _ = try await db.query(
                        """
                        INSERT INTO outbox (routing_key, message_id, payload)
                        VALUES (\(RoutingKey.orderPaid), \(marker), '{"marker":true}'::jsonb)
                        """)
                }
                try await Fixture.waitFor("the marker event on the spy queue") {
                    received()[marker] != nil
                }
                let seen = received()
                for messageID in expected {
                    #expect(seen[messageID] == 1, "\(messageID) published \(seen[messageID] ?? 0) times")
                }
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    for messageID in expected {
                        #expect(
                            try await TestDatabase.scalar(
                                db, "SELECT count(*) FROM outbox WHERE message_id = \(messageID) AND published_at IS NOT NULL")
                                == 1)
                    }
                }
            }
        }
    }
}
