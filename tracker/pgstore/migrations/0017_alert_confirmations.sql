-- Alerts an officer confirmed as offences (tracker.Confirmation): once each; listed by time for
-- the repeat offenders.
CREATE TABLE IF NOT EXISTS alert_confirmations (
	alert_id   bigint PRIMARY KEY, -- no reference: a confirmation outlives the alerts' retention
	vehicle_id text NOT NULL,
	plate      text NOT NULL DEFAULT '',
	type       text NOT NULL,
	by_user    text NOT NULL,
	at         timestamptz NOT NULL,
	note       text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alert_confirmations_at ON alert_confirmations (at);
