-- Device registration (tracker.Device): the pre-registered terminal a JT/T 808 registration
-- must match, and when the terminal registered (NULL: not yet).
ALTER TABLE devices ADD COLUMN terminal_id   text NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN maker         text NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN model         text NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN registered_at timestamptz;
