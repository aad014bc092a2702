-- PayFleet schema 3: what payment-worker's channel calls record.
--
-- pay_parameters: what the channel's prepay returned for the payer's client (also carried by the
--   payment.created event, which is written only once the prepay succeeded).
-- prepaid_at: when that prepay succeeded; NULL while the payment was never opened at its channel.
-- close_requested_at: when the expiry sweep last asked for a payment.close job, so copies of the sweep
--   running side by side ask once, and ask again only after a pause if the close did not happen.

ALTER TABLE payments
    ADD COLUMN pay_parameters     jsonb,
    ADD COLUMN prepaid_at         timestamptz,
    ADD COLUMN close_requested_at timestamptz;

-- The expiry sweep: pending payments in expires_at order.
CREATE INDEX payments_pending_expires_at_idx ON payments (expires_at) WHERE status = 'pending';
