-- The zone, declaration and vehicle edits, one row each, written by triggers in the edit's own
-- transaction: a cluster node catches up from it (at its start, when its NATS connection comes
-- back, and every 2 s), so that an edit whose change notice died with the node that made it
-- still reaches the others. Zones are logged once per statement (every node reloads them all).
CREATE TABLE IF NOT EXISTS change_log (
	seq  bigserial   PRIMARY KEY,
	kind text        NOT NULL,
	ref  text        NOT NULL DEFAULT '',
	at   timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION change_log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO change_log (kind, ref) VALUES (TG_ARGV[0], OLD.id);
	ELSE
		INSERT INTO change_log (kind, ref) VALUES (TG_ARGV[0], NEW.id);
	END IF;
	RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION change_log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO change_log (kind) VALUES (TG_ARGV[0]);
	RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS declarations_change_log ON declarations;
CREATE TRIGGER declarations_change_log AFTER INSERT OR UPDATE OR DELETE ON declarations
	FOR EACH ROW EXECUTE FUNCTION change_log_row('declaration');
DROP TRIGGER IF EXISTS vehicles_change_log ON vehicles;
CREATE TRIGGER vehicles_change_log AFTER INSERT OR UPDATE OR DELETE ON vehicles
	FOR EACH ROW EXECUTE FUNCTION change_log_row('vehicle');
DROP TRIGGER IF EXISTS zones_change_log ON zones;
CREATE TRIGGER zones_change_log AFTER INSERT OR UPDATE OR DELETE ON zones
	FOR EACH STATEMENT EXECUTE FUNCTION change_log_statement('zones');
