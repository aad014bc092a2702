-- pgbench script of scripts/bench: payment-worker's SQL for one payment.create job — PayFleetStore.createPayment's
-- transaction (order, items, the sku's stock row locked and reserved, payment) and recordPrepay's (lock, pay
-- parameters, payment.created outbox row) — without the channel's prepay call between them.
-- Variables: run (the order/payment number prefix), seq, sku.
SELECT nextval(:seq::text::regclass) AS n \gset
BEGIN;
SAVEPOINT create_payment;
INSERT INTO orders (order_no, user_id, amount_minor, currency, description)
    VALUES ('ORD-' || :run::text || :n::text, 'bench', 100, 'CNY', 'bench') ON CONFLICT (order_no) DO NOTHING RETURNING id AS oid \gset
INSERT INTO order_items (order_id, sku, quantity) SELECT :oid::bigint, item.sku, item.quantity
    FROM unnest(ARRAY[:sku::text]::text[], ARRAY[1]::int4[]) AS item(sku, quantity);
SELECT sku, on_hand - reserved FROM stock WHERE sku = ANY(ARRAY[:sku::text]::text[]) ORDER BY sku FOR UPDATE;
UPDATE stock SET reserved = stock.reserved + item.quantity, updated_at = now()
    FROM unnest(ARRAY[:sku::text]::text[], ARRAY[1]::int8[]) AS item(sku, quantity) WHERE stock.sku = item.sku;
INSERT INTO payments (payment_no, order_id, channel, merchant, amount_minor, currency, expires_at)
    VALUES (:run::text || :n::text, :oid::bigint, 'wechatpay', 'demo', 100, 'CNY', now() + interval '2 hours')
    ON CONFLICT (payment_no) DO NOTHING RETURNING payment_no;
RELEASE SAVEPOINT create_payment;
COMMIT;
BEGIN;
SELECT p.status, p.prepaid_at IS NOT NULL, o.order_no FROM payments p JOIN orders o ON o.id = p.order_id
    WHERE p.payment_no = :run::text || :n::text FOR UPDATE OF p;
UPDATE payments SET pay_parameters = '{"code_url":"weixin://wxpay/bizpayurl?pr=bench"}'::jsonb, prepaid_at = now()
    WHERE payment_no = :run::text || :n::text;
INSERT INTO outbox (exchange, routing_key, message_id, payload)
    VALUES ('payfleet.events', 'payment.created', 'payment.created:' || :run::text || :n::text,
            '{"amount_minor":100,"channel":"wechatpay","currency":"CNY","merchant":"demo"}'::jsonb)
    ON CONFLICT (message_id) DO NOTHING RETURNING id;
COMMIT;
