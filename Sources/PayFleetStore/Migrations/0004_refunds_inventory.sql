-- PayFleet schema 4: refunds (DESIGN §5 "Refund and stock accounting") and inventory confirmation.
--
-- payments
--   refund_pending_minor: refunds requested or processing at the channel, reserved so that two refunds racing
--     can never give back more than was paid: refunded_minor + refund_pending_minor <= amount_minor, checked
--     here and under the payment's row lock by every unit of work that touches either.
--   payer_id: the payer's id at the channel where its refund API needs it (Baidu's userId).
-- orders
--   inventory_status: where the order's stock is. reserved (payment.create reserved it), released (the payment
--     closed or was rejected and gave it back), confirmed (inventory-worker turned it into a deduction, or took
--     it from free stock when the money came after the release), oversold (the money came after the release and
--     the free stock could not cover it: nothing deducted, the payment refunded automatically).
-- refunds
--   One row per refund_no: ours from refund.create (origin requested), or one made in a channel's merchant
--   console and learnt from its notification (origin channel). processing_at: when the channel accepted it (the
--   refund.query sweep asks about refunds processing too long); query_requested_at: when the sweep last asked.

ALTER TABLE payments
    ADD COLUMN refund_pending_minor bigint NOT NULL DEFAULT 0 CHECK (refund_pending_minor >= 0),
    ADD COLUMN payer_id text,
    ADD CONSTRAINT payments_refunds_within_amount CHECK (refunded_minor + refund_pending_minor <= amount_minor);

ALTER TABLE orders
    ADD COLUMN inventory_status text NOT NULL DEFAULT 'reserved'
        CHECK (inventory_status IN ('reserved', 'released', 'confirmed', 'oversold')),
    ADD COLUMN inventory_confirmed_at timestamptz;

-- Orders closed or cancelled before this migration gave their reservation back already.
UPDATE orders SET inventory_status = 'released' WHERE status IN ('closed', 'cancelled');

CREATE TABLE refunds (
    id                 bigserial   PRIMARY KEY,
    refund_no          text        NOT NULL UNIQUE CHECK (length(refund_no) BETWEEN 1 AND 64),
    payment_id         bigint      NOT NULL REFERENCES payments (id),
    amount_minor       bigint      NOT NULL CHECK (amount_minor > 0),
    currency           char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status             text        NOT NULL CHECK (status IN ('requested', 'processing', 'succeeded', 'failed')),
    origin             text        NOT NULL DEFAULT 'requested' CHECK (origin IN ('requested', 'channel')),
    reason             text        NOT NULL DEFAULT '',
    channel_refund_no  text,
    last_error         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    processing_at      timestamptz,
    succeeded_at       timestamptz,
    failed_at          timestamptz,
    query_requested_at timestamptz,
    CONSTRAINT refunds_succeeded_has_time CHECK (status <> 'succeeded' OR succeeded_at IS NOT NULL)
);
CREATE INDEX refunds_payment_id_idx ON refunds (payment_id);
CREATE INDEX refunds_channel_refund_no_idx ON refunds (channel_refund_no) WHERE channel_refund_no IS NOT NULL;
-- The refund.query sweep: refunds processing, oldest first.
CREATE INDEX refunds_processing_idx ON refunds (processing_at) WHERE status = 'processing';
