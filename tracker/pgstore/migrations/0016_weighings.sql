-- Weighbridge readings (tracker.Weighing), matched to a vehicle and a declaration; listed by
-- vehicle, by declaration and by time (the scales' drift).
CREATE TABLE IF NOT EXISTS weighings (
	id             bigserial PRIMARY KEY,
	scale_id       text NOT NULL,
	zone_id        text NOT NULL DEFAULT '',
	time           timestamptz NOT NULL,
	plate          text NOT NULL DEFAULT '',
	card_id        text NOT NULL DEFAULT '',
	gross_kg       double precision NOT NULL,
	tare_kg        double precision NOT NULL,
	net_kg         double precision NOT NULL,
	operator       text NOT NULL DEFAULT '',
	vehicle_id     text NOT NULL DEFAULT '',
	declaration_id text NOT NULL DEFAULT '',
	received_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS weighings_vehicle ON weighings (vehicle_id, time);
CREATE INDEX IF NOT EXISTS weighings_declaration ON weighings (declaration_id, time);
CREATE INDEX IF NOT EXISTS weighings_time ON weighings (time);
