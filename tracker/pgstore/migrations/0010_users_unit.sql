-- A user's unit: "district" or a port zone's id, which scopes command and patrol users to that
-- port's area. Existing users see the district, as before.
ALTER TABLE users ADD COLUMN unit text NOT NULL DEFAULT 'district';
