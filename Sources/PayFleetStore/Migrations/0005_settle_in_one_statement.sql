-- 0005: fulfilment's common case in one statement (issue 9).
--
-- A payment notification that settles a pending payment, or repeats one already applied, used to take seven round
-- trips (BEGIN, inbox insert, SELECT … FOR UPDATE, two UPDATEs, outbox insert, COMMIT). This function does the same
-- work as one statement and so one transaction. It decides only the cases without an anomaly; for every other case
-- it writes nothing and answers 'full', and PayFleetStore runs the full unit of work (anomalies, closes, late money
-- for a closed payment), which checks everything again under its own locks.
--
-- It locks the payment and its order before it inserts the inbox key; the full unit of work inserts the key first.
-- The two can only wait on each other for the same notification when the payment became eligible between a 'full'
-- answer and a second delivery's call; PostgreSQL then breaks the deadlock (40P01), which the workers retry as any
-- transient error, and the retry finds the key in the inbox.
--
-- Answers (outcome, order_no):
--   ('settled', order_no)   the payment and its order are paid, the payer kept, order.paid written to the outbox
--                           (p_event with order_no filled in, message id p_message_prefix || order_no);
--   ('duplicate', NULL)     the notification's dedup key is already in the inbox: nothing changed;
--   ('already', NULL)       a new notification for a payment already paid under the same channel trade number:
--                           its key is kept in the inbox, nothing else changed;
--   ('full', NULL)          none of the above: nothing written.
CREATE FUNCTION payfleet_settle_payment(
    p_dedup_key text, p_kind text, p_payment_no text, p_channel text, p_merchant text, p_amount_minor bigint,
    p_currency text, p_channel_trade_no text, p_paid_at timestamptz, p_payer_id text,
    p_exchange text, p_routing_key text, p_message_prefix text, p_event jsonb,
    OUT outcome text, OUT order_no text)
LANGUAGE plpgsql AS $$
DECLARE
    v_payment_id bigint;
    v_status text;
    v_channel text;
    v_merchant text;
    v_amount bigint;
    v_currency text;
    v_trade_no text;
    v_order_id bigint;
    v_order_no text;
BEGIN
    SELECT p.id, p.status, p.channel, p.merchant, p.amount_minor, p.currency, p.channel_trade_no, o.id, o.order_no
    INTO v_payment_id, v_status, v_channel, v_merchant, v_amount, v_currency, v_trade_no, v_order_id, v_order_no
    FROM payments p JOIN orders o ON o.id = p.order_id
    WHERE p.payment_no = p_payment_no
    FOR UPDATE OF p, o;

    IF NOT FOUND OR v_channel <> p_channel OR v_merchant <> p_merchant OR v_currency <> p_currency
        OR v_amount <> p_amount_minor
        OR NOT (v_status = 'pending' OR (v_status IN ('paid', 'refunded', 'partially_refunded')
                                         AND v_trade_no = p_channel_trade_no)) THEN
        outcome := 'full';
        RETURN;
    END IF;

    INSERT INTO inbox (dedup_key, kind) VALUES (p_dedup_key, p_kind) ON CONFLICT (dedup_key) DO NOTHING;
    IF NOT FOUND THEN
        outcome := 'duplicate';
        RETURN;
    END IF;
    IF v_status <> 'pending' THEN
        outcome := 'already';
        RETURN;
    END IF;

    UPDATE payments SET status = 'paid', channel_trade_no = p_channel_trade_no, paid_at = p_paid_at,
                        payer_id = coalesce(p_payer_id, payer_id)
    WHERE id = v_payment_id;
    UPDATE orders SET status = 'paid', paid_at = p_paid_at WHERE id = v_order_id;
    INSERT INTO outbox (exchange, routing_key, message_id, payload)
    VALUES (p_exchange, p_routing_key, p_message_prefix || v_order_no,
            jsonb_set(p_event, '{order_no}', to_jsonb(v_order_no)))
    ON CONFLICT (message_id) DO NOTHING;
    outcome := 'settled';
    order_no := v_order_no;
END
$$;
