-- PayFleet schema 2: what the retry path (DESIGN §6) needs beyond the tables of schema 1.
--
-- * message_type: the AMQP `type` property of the parked message, so a republished or
--   replayed message is the one that was received (payment-worker dispatches on it).
-- * A statement-level trigger that NOTIFYs payfleet_retries whenever rows are inserted, so
--   an idle retry-worker wakes at once (NOTIFY is delivered at commit and collapsed per
--   transaction) instead of polling hard.
-- * retries is a queue table: every row is inserted once and deleted once. Vacuum it
--   eagerly so dead tuples do not pile up in front of the run_at index the claim walks.

ALTER TABLE retries ADD COLUMN message_type text;
ALTER TABLE dead_letters ADD COLUMN message_type text;

CREATE FUNCTION payfleet_notify_retries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('payfleet_retries', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER retries_notify
    AFTER INSERT ON retries
    FOR EACH STATEMENT EXECUTE FUNCTION payfleet_notify_retries();

ALTER TABLE retries SET (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0
);

-- `payfleet dead-letters show|replay` by message id.
CREATE INDEX dead_letters_message_id_idx ON dead_letters (message_id);
