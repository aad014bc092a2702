-- pgbench script of scripts/bench: fulfilment-worker's own SQL with group commit — one statement settling :batch
-- notifications of the bench's seeded set in one transaction, as PayFleetStore.apply(batch:) sends it (unnest of
-- the notifications' fields, payfleet_settle_payment per row).
-- Variables: run (the payment number prefix), seq (the sequence handing out payment numbers), batch.
\set dedup random(1, 1000000000)
SELECT count(*) FROM (
    SELECT s.outcome
    FROM (SELECT :run::text || nextval(:seq::text::regclass) AS payment_no, g AS position
          FROM generate_series(1, :batch) g) AS n
    CROSS JOIN LATERAL payfleet_settle_payment(
        'pgbench:' || :client_id::text || ':' || :dedup::text || ':' || n.position, 'payment.succeeded.wechatpay',
        n.payment_no, 'wechatpay', 'demo', 100, 'CNY', '4200PG' || :client_id::text || ':' || :dedup::text || ':' || n.position,
        now(), 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 'payfleet.events', 'order.paid', 'order.paid:',
        '{"amount_minor":100,"channel":"wechatpay","channel_trade_no":"4200PG","currency":"CNY","order_no":"","paid_at":"2026-12-05T12:00:00Z","payment_no":"PG"}') AS s
) AS settled;
