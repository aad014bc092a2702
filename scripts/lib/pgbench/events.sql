-- pgbench script of scripts/bench: events-worker's own SQL for one claim — up to 100 unpublished outbox rows,
-- oldest first, FOR UPDATE SKIP LOCKED, read and marked published in one transaction (PayFleetStore.relayOutbox),
-- here as one statement since pgbench cannot carry the ids between statements.
WITH claimed AS (
    SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)
UPDATE outbox o SET published_at = now() FROM claimed WHERE o.id = claimed.id
RETURNING o.id, o.exchange, o.routing_key, o.message_id, o.payload::text, o.created_at;
