-- PayFleet schema 1: orders and their stock reservations, payments, the inbox and outbox of
-- the units of work, anomalies, and the retry / dead-letter tables of the retry path.
--
-- Applied by `payfleet migrate` in one transaction and recorded with its checksum in
-- schema_migrations. Never edit a released migration: add the next numbered file.
-- Amounts are bigint minor units (fen, cents); never numeric or floating point.

CREATE TABLE orders (
    id           bigserial   PRIMARY KEY,
    order_no     text        NOT NULL UNIQUE CHECK (length(order_no) BETWEEN 1 AND 64),
    user_id      text        NOT NULL,
    status       text        NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'paid', 'closed', 'cancelled')),
    amount_minor bigint      NOT NULL CHECK (amount_minor > 0),
    currency     char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    description  text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    paid_at      timestamptz,
    CONSTRAINT orders_paid_has_paid_at CHECK (status <> 'paid' OR paid_at IS NOT NULL)
);

CREATE TABLE order_items (
    id       bigserial PRIMARY KEY,
    order_id bigint    NOT NULL REFERENCES orders (id),
    sku      text      NOT NULL,
    quantity integer   NOT NULL CHECK (quantity > 0)
);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);

-- Stock rows are always locked in sku order (SELECT ... ORDER BY sku FOR UPDATE) so that two
-- transactions never wait on each other in a cycle. The "C" collation makes that order the
-- byte order, the same whatever the database's locale.
CREATE TABLE stock (
    sku        text COLLATE "C" PRIMARY KEY,
    on_hand    bigint      NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved   bigint      NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_reserved_within_on_hand CHECK (reserved <= on_hand)
);

CREATE TABLE payments (
    id               bigserial   PRIMARY KEY,
    payment_no       text        NOT NULL UNIQUE CHECK (payment_no ~ '^[A-Za-z0-9]{1,32}$'),
    order_id         bigint      NOT NULL REFERENCES orders (id),
    channel          text        NOT NULL,
    merchant         text        NOT NULL,
    amount_minor     bigint      NOT NULL CHECK (amount_minor > 0),
    currency         char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'paid', 'closed', 'refunded', 'partially_refunded')),
    channel_trade_no text,
    refunded_minor   bigint      NOT NULL DEFAULT 0
                                 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    created_at       timestamptz NOT NULL DEFAULT now(),
    paid_at          timestamptz,
    expires_at       timestamptz,
    closed_at        timestamptz,
    CONSTRAINT payments_channel_trade_no_key UNIQUE (channel, channel_trade_no),
    -- Money arrived: we know the channel's trade number and when.
    CONSTRAINT payments_settled_has_trade_no CHECK (
        status NOT IN ('paid', 'refunded', 'partially_refunded')
        OR (channel_trade_no IS NOT NULL AND paid_at IS NOT NULL)
    )
);
CREATE INDEX payments_order_id_idx ON payments (order_id);
-- `payfleet status`: the oldest pending payment; the expiry sweep.
CREATE INDEX payments_pending_created_at_idx ON payments (created_at) WHERE status = 'pending';

-- What has already been applied, keyed by the message's dedup key.
CREATE TABLE inbox (
    dedup_key   text        PRIMARY KEY,
    kind        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Events written in the same transaction as the change they announce; the events-worker
-- publishes them (FOR UPDATE SKIP LOCKED) and sets published_at.
CREATE TABLE outbox (
    id           bigserial   PRIMARY KEY,
    exchange     text        NOT NULL DEFAULT 'payfleet.events',
    routing_key  text        NOT NULL,
    message_id   text        NOT NULL UNIQUE,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- Notifications that must not be settled; an operator looks at each one.
CREATE TABLE anomalies (
    id              bigserial   PRIMARY KEY,
    kind            text        NOT NULL,
    payment_no      text        NOT NULL,
    channel         text        NOT NULL,
    notification_id text        NOT NULL,
    detail          jsonb       NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    CONSTRAINT anomalies_notification_kind_key UNIQUE (channel, notification_id, kind)
);
CREATE INDEX anomalies_payment_no_idx ON anomalies (payment_no);

-- Messages whose unit of work failed transiently, to be republished at run_at
-- (DESIGN §6). payload is the AMQP body as received; headers the AMQP headers as JSON.
CREATE TABLE retries (
    id          bigserial   PRIMARY KEY,
    exchange    text        NOT NULL,
    routing_key text        NOT NULL,
    message_id  text        NOT NULL,
    payload     bytea       NOT NULL,
    headers     jsonb       NOT NULL DEFAULT '{}',
    attempt     integer     NOT NULL CHECK (attempt >= 1),
    run_at      timestamptz NOT NULL,
    last_error  text,
    -- The error of every attempt so far, carried into dead_letters.
    errors      jsonb       NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX retries_run_at_idx ON retries (run_at);

-- Messages past their last attempt; `payfleet dead-letters replay` sends one back.
CREATE TABLE dead_letters (
    id          bigserial   PRIMARY KEY,
    exchange    text        NOT NULL,
    routing_key text        NOT NULL,
    message_id  text        NOT NULL,
    payload     bytea       NOT NULL,
    headers     jsonb       NOT NULL DEFAULT '{}',
    attempt     integer     NOT NULL,
    errors      jsonb       NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_created_at_idx ON dead_letters (created_at);
