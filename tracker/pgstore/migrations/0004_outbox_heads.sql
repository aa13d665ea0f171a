-- The webhook outbox's pending deliveries in seq order, so a claim walks to the first due heads
-- and stops instead of sorting a hook's whole backlog.
CREATE INDEX webhook_deliveries_heads ON webhook_deliveries (hook, seq) WHERE status = 'pending';
