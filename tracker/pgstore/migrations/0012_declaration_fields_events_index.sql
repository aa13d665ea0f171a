-- A vehicle's newest event of a type (its driver) is one index seek, and so is every
-- vehicle's (LatestEvents).
CREATE INDEX IF NOT EXISTS events_type_vehicle_time ON events (type, vehicle_id, time);
