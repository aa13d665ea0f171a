-- Webhook receivers added from the screens (tracker.WebhookReceiver).
CREATE TABLE IF NOT EXISTS webhook_receivers (
	name         text PRIMARY KEY,
	url          text NOT NULL,
	secret       text NOT NULL,
	min_severity text NOT NULL DEFAULT '',
	types        text[] NOT NULL DEFAULT '{}',
	ports        text[] NOT NULL DEFAULT '{}',
	enabled      boolean NOT NULL,
	created_by   text NOT NULL,
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL
);
