-- The outbox and delivery log of outbound webhooks (docs/webhooks.md).
CREATE TABLE IF NOT EXISTS curtain_webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type varchar(64) NOT NULL,
    payload text NOT NULL,
    created_at timestamp NOT NULL,
    status varchar(16) NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamp NOT NULL,
    last_attempt_at timestamp,
    last_status integer NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX IF NOT EXISTS curtain_webhook_deliveries_due ON curtain_webhook_deliveries (status, next_attempt_at);
