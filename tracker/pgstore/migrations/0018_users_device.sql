-- A patrol user's device: the OsmAnd id their tablet reports its position under.
ALTER TABLE users ADD COLUMN IF NOT EXISTS device_id text NOT NULL DEFAULT '';
