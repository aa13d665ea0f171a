CREATE TABLE IF NOT EXISTS declarations (
	id               text PRIMARY KEY,
	vehicle_id       text NOT NULL,
	direction        text NOT NULL,
	port_zone_id     text NOT NULL DEFAULT '',
	corridor_zone_id text NOT NULL DEFAULT '',
	yard_zone_id     text NOT NULL DEFAULT '',
	valid_from       timestamptz NOT NULL,
	valid_to         timestamptz NOT NULL,
	status           text NOT NULL,
	status_reason    text NOT NULL DEFAULT '',
	created_at       timestamptz NOT NULL,
	closed_at        timestamptz
);
CREATE INDEX IF NOT EXISTS declarations_vehicle ON declarations (vehicle_id, valid_from);
CREATE INDEX IF NOT EXISTS declarations_status ON declarations (status);
