-- Daily reconciliation (对账): one run per channel, merchant and bill day, and the differences it found between
-- the channel's bill and these books. A rerun of the same day replaces its diffs (`executions` counts the runs,
-- so two schedulers that both ran a day would show 2).
CREATE TABLE reconciliation_runs (
    id                bigserial   PRIMARY KEY,
    channel           text        NOT NULL,
    merchant          text        NOT NULL,
    bill_date         date        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('running', 'agreed', 'diffs', 'failed')),
    claimed_by        text        NOT NULL DEFAULT '',
    claimed_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    executions        integer     NOT NULL DEFAULT 1,
    bill_payments     integer     NOT NULL DEFAULT 0,
    bill_refunds      integer     NOT NULL DEFAULT 0,
    matched           integer     NOT NULL DEFAULT 0,
    diff_count        integer     NOT NULL DEFAULT 0,
    repairs_requested integer     NOT NULL DEFAULT 0,
    error             text,
    UNIQUE (channel, merchant, bill_date)
);

CREATE TABLE reconciliation_diffs (
    id                   bigserial   PRIMARY KEY,
    run_id               bigint      NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
    kind                 text        NOT NULL CHECK (kind IN (
                             'local_only', 'channel_only', 'amount_mismatch', 'status_mismatch',
                             'refund_local_only', 'refund_channel_only', 'refund_amount_mismatch',
                             'refund_status_mismatch')),
    payment_no           text        NOT NULL,
    refund_no            text,
    local_amount_minor   bigint,
    channel_amount_minor bigint,
    local_status         text,
    channel_status       text,
    repair               text        CHECK (repair IN ('payment.query', 'refund.query')),
    detail               text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconciliation_diffs_run_idx ON reconciliation_diffs (run_id);

-- A day's local books: payments paid and refunds finished in the day, per channel and merchant.
CREATE INDEX payments_paid_day_idx ON payments (channel, merchant, paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX refunds_succeeded_day_idx ON refunds (succeeded_at) WHERE succeeded_at IS NOT NULL;
CREATE INDEX refunds_failed_day_idx ON refunds (failed_at) WHERE failed_at IS NOT NULL;
