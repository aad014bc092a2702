-- pgbench script of scripts/bench: fulfilment-worker's own SQL with group commit — one statement settling :batch
-- notifications of the bench's seeded set in one transaction, as PayFleetStore.apply(batch:) sends it
-- (payfleet_settle_payments of migration 0007 over arrays of the notifications' fields). With batch=1 it is the
-- statement of a notification applied alone.
-- Variables: run (the payment number prefix), seq (the sequence handing out payment numbers), batch.
\set dedup random(1, 1000000000)
SELECT count(*) FROM (
    SELECT s.out_outcome
    FROM (SELECT array_agg('pgbench:' || :client_id::text || ':' || :dedup::text || ':' || g ORDER BY g) AS keys,
                 array_agg(:run::text || nextval(:seq::text::regclass) ORDER BY g) AS payment_nos,
                 array_agg('4200PG' || :client_id::text || ':' || :dedup::text || ':' || g ORDER BY g) AS trade_nos
          FROM generate_series(1, :batch) g) AS a
    CROSS JOIN LATERAL payfleet_settle_payments(
        a.keys, array_fill('payment.succeeded.wechatpay'::text, ARRAY[:batch::int]), a.payment_nos,
        array_fill('wechatpay'::text, ARRAY[:batch::int]), array_fill('demo'::text, ARRAY[:batch::int]),
        array_fill(100::bigint, ARRAY[:batch::int]), array_fill('CNY'::text, ARRAY[:batch::int]), a.trade_nos,
        array_fill(now(), ARRAY[:batch::int]), array_fill('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o'::text, ARRAY[:batch::int]),
        array_fill('{"amount_minor":100,"channel":"wechatpay","channel_trade_no":"4200PG","currency":"CNY","order_no":"","paid_at":"2026-12-05T12:00:00Z","payment_no":"PG"}'::text, ARRAY[:batch::int]),
        'payfleet.events', 'order.paid', 'order.paid:') AS s
) AS settled;
