-- pgbench script of scripts/bench: fulfilment-worker's SQL for one notification — the seven round trips of
-- PayFleetStore.apply as one transaction (inbox, lock, two updates, outbox) on the next pending payment of the
-- bench's seeded set. Variables: run (the payment number prefix), seq (the sequence handing out payment numbers).
\set dedup random(1, 1000000000)
BEGIN;
SELECT nextval(:seq::text::regclass) AS n \gset
INSERT INTO inbox (dedup_key, kind) VALUES ('pgbench:' || :client_id::text || ':' || :dedup::text, 'payment.succeeded.wechatpay')
    ON CONFLICT (dedup_key) DO NOTHING RETURNING 1;
SELECT p.id AS pid, o.id AS oid, o.order_no FROM payments p JOIN orders o ON o.id = p.order_id
    WHERE p.payment_no = :run::text || :n::text FOR UPDATE OF p, o \gset
UPDATE payments SET status = 'paid', channel_trade_no = '4200PG' || :n::text, paid_at = now(),
    payer_id = coalesce('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', payer_id) WHERE id = :pid::bigint;
UPDATE orders SET status = 'paid', paid_at = now() WHERE id = :oid::bigint;
INSERT INTO outbox (exchange, routing_key, message_id, payload)
    VALUES ('payfleet.events', 'order.paid', 'order.paid:' || :order_no::text,
            '{"amount_minor":100,"channel":"wechatpay","currency":"CNY","paid_at":"2026-12-05T12:00:00Z"}'::jsonb)
    ON CONFLICT (message_id) DO NOTHING RETURNING id;
COMMIT;
