-- 0007: fulfilment's common case for a whole batch in set-based statements (issue 9).
--
-- payfleet_settle_payment (0005) settled a batch by calling itself once per notification, so PostgreSQL started an
-- executor per row for each of its five statements, and each UPDATE re-read and re-compiled the CHECK constraints of
-- payments and orders (stringToNode + ExecPrepareExpr: a quarter of the backend's time in `perf record` under the
-- bench). This function takes the batch's fields as arrays and does the same work with one statement: each table is
-- written by one UPDATE or INSERT for the whole batch. pgbench of the two at 2 clients × 64 notifications on this
-- machine: 132-184 tps for 0005, 237-298 tps for this (scripts/bench prints the ceiling of every run).
--
-- Decisions are those of 0005, per notification in array order, with the same locks:
--   * the payments named and their orders are locked first, in payment_no order (FOR UPDATE: two batches cannot
--     deadlock on each other), and read as they stand after the lock;
--   * a notification is eligible when its payment exists with its channel, merchant, currency and amount, and is
--     pending, or paid (or refunded) under the same channel trade number; a payment that the batch notifies pending
--     under two trade numbers is left, with all its notifications, to the full unit of work (it decides which one is
--     a duplicate_payment anomaly, in order, as it would alone);
--   * an eligible notification's dedup key goes into the inbox (the first in array order, when a key repeats); one
--     whose key was already there, or repeats an earlier one of the batch, is 'duplicate';
--   * the first eligible notification with a new key of a pending payment settles it: payment and order paid, the
--     payer kept, order.paid written to the outbox; any later one of that payment (same trade number) and any of a
--     payment already paid under the same trade number is 'already' (its key kept in the inbox, nothing else);
--   * every other notification is 'full': nothing written for it; PayFleetStore runs its full unit of work, which
--     checks everything again under its own locks (anomalies, closes, late money for a closed payment).
-- The full unit of work inserts the inbox key before it locks the payment; this locks first. The two can only wait
-- on each other for the same notification when a payment became eligible between a 'full' answer and a second
-- delivery's call; PostgreSQL then breaks the deadlock (40P01), the workers retry as for any transient error, and
-- the retry finds the key in the inbox.
--
-- For a single notification (a quiet moment, no batch) this costs more than 0005 did: pgbench at 16 clients gave
-- 2,050-2,420 tps against 0005's 3,450-3,840, i.e. ~0.4 ms of a backend instead of ~0.26 ms per notification. One
-- statement for every batch size is kept over the faster single path: the difference matters only when idle.
--
-- 0005's function stays, unused by this version: a worker of the previous version still calls it during a rolling
-- upgrade. A later migration drops it.
--
-- Answers one row per notification: (out_position, out_outcome, out_order_no), out_position its 1-based index in
-- the arrays, out_outcome 'settled' (with the order number), 'duplicate', 'already' or 'full'. p_payer_ids: '' for
-- none. p_events: order.paid as JSON text with "order_no" to be filled in; its message id is
-- p_message_prefix || order_no.
CREATE FUNCTION payfleet_settle_payments(
    p_dedup_keys text[], p_kinds text[], p_payment_nos text[], p_channels text[], p_merchants text[],
    p_amounts bigint[], p_currencies text[], p_trade_nos text[], p_paid_ats timestamptz[], p_payer_ids text[],
    p_events text[], p_exchange text, p_routing_key text, p_message_prefix text)
RETURNS TABLE (out_position bigint, out_outcome text, out_order_no text)
LANGUAGE plpgsql
-- The statement is planned once per connection, not per call: PostgreSQL's custom plans for the first calls and
-- whenever it judges the generic plan dearer cost more than the execution for a small batch (pgbench of one
-- notification per call, 16 clients: 1,318-1,495 tps custom, 1,958 generic).
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH n AS MATERIALIZED (
        SELECT * FROM unnest(p_dedup_keys, p_kinds, p_payment_nos, p_channels, p_merchants, p_amounts, p_currencies,
                             p_trade_nos, p_paid_ats, p_payer_ids, p_events)
            WITH ORDINALITY AS u(dedup_key, kind, payment_no, channel, merchant, amount_minor, currency,
                                 channel_trade_no, paid_at, payer_id, event, pos)
    ),
    locked AS MATERIALIZED (
        SELECT p.id, p.payment_no, p.status, p.channel, p.merchant, p.amount_minor, p.currency,
               p.channel_trade_no, o.id AS order_id, o.order_no
        FROM payments p JOIN orders o ON o.id = p.order_id
        WHERE p.payment_no = ANY (p_payment_nos)
        ORDER BY p.payment_no
        FOR UPDATE OF p, o
    ),
    eligible AS MATERIALIZED (
        SELECT n.*, l.id AS payment_id, l.order_id, l.order_no, l.status
        FROM n JOIN locked l ON l.payment_no = n.payment_no
        WHERE l.channel = n.channel AND l.merchant = n.merchant AND l.currency = n.currency
          AND l.amount_minor = n.amount_minor
          AND (l.status = 'pending'
               OR (l.status IN ('paid', 'refunded', 'partially_refunded') AND l.channel_trade_no = n.channel_trade_no))
    ),
    fast AS MATERIALIZED (
        SELECT * FROM eligible e
        WHERE NOT EXISTS (
            SELECT 1 FROM eligible other
            WHERE other.payment_id = e.payment_id AND other.status = 'pending'
              AND other.channel_trade_no <> e.channel_trade_no)
    ),
    inserted AS (
        INSERT INTO inbox (dedup_key, kind)
        SELECT DISTINCT ON (dedup_key) dedup_key, kind FROM fast ORDER BY dedup_key, pos
        ON CONFLICT (dedup_key) DO NOTHING
        RETURNING dedup_key
    ),
    first_inserted AS MATERIALIZED (
        SELECT DISTINCT ON (f.dedup_key) f.*
        FROM fast f JOIN inserted i ON i.dedup_key = f.dedup_key
        ORDER BY f.dedup_key, f.pos
    ),
    settlers AS MATERIALIZED (
        SELECT DISTINCT ON (payment_id) * FROM first_inserted WHERE status = 'pending' ORDER BY payment_id, pos
    ),
    paid_payments AS (
        UPDATE payments p
        SET status = 'paid', channel_trade_no = s.channel_trade_no, paid_at = s.paid_at,
            payer_id = coalesce(nullif(s.payer_id, ''), p.payer_id)
        FROM settlers s WHERE p.id = s.payment_id
    ),
    paid_orders AS (
        UPDATE orders o SET status = 'paid', paid_at = s.paid_at FROM settlers s WHERE o.id = s.order_id
    ),
    announced AS (
        INSERT INTO outbox (exchange, routing_key, message_id, payload)
        SELECT p_exchange, p_routing_key, p_message_prefix || s.order_no,
               jsonb_set(s.event::jsonb, '{order_no}', to_jsonb(s.order_no))
        FROM settlers s
        ON CONFLICT (message_id) DO NOTHING
    )
    SELECT n.pos,
           CASE WHEN f.pos IS NULL THEN 'full'
                WHEN s.pos IS NOT NULL THEN 'settled'
                WHEN fi.pos IS NULL THEN 'duplicate'
                ELSE 'already' END,
           s.order_no
    FROM n
    LEFT JOIN fast f ON f.pos = n.pos
    LEFT JOIN first_inserted fi ON fi.pos = n.pos
    LEFT JOIN settlers s ON s.pos = n.pos
    ORDER BY n.pos;
END
$$;
