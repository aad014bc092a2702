-- pgbench script of scripts/bench: fulfilment-worker's SQL for one notification per transaction — the one statement of
-- PayFleetStore.apply's common case (migration 0005) — on the next pending payment of the bench's seeded set.
-- Variables: run (the payment number prefix), seq (the sequence handing out payment numbers).
\set dedup random(1, 1000000000)
SELECT outcome, order_no FROM payfleet_settle_payment(
    'pgbench:' || :client_id::text || ':' || :dedup::text, 'payment.succeeded.wechatpay',
    :run::text || nextval(:seq::text::regclass), 'wechatpay', 'demo', 100, 'CNY', '4200PG' || :client_id::text || ':' || :dedup::text, now(),
    'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 'payfleet.events', 'order.paid', 'order.paid:',
    '{"amount_minor":100,"channel":"wechatpay","channel_trade_no":"4200PG","currency":"CNY","order_no":"","paid_at":"2026-12-05T12:00:00Z","payment_no":"PG"}');
