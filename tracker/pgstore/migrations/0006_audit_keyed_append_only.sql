-- The audit log: the keyed chain (tracker.AuditKey) and the client's address; old records keep
-- alg '' (plain SHA-256).
ALTER TABLE audit
    ADD COLUMN addr   text NOT NULL DEFAULT '',
    ADD COLUMN alg    text NOT NULL DEFAULT '',
    ADD COLUMN key_id text NOT NULL DEFAULT '';

-- Append-only, even for someone with a SQL shell as the store's user: no UPDATE, DELETE or
-- TRUNCATE, and an INSERT goes at the end, linked to the last record. (The table's owner can
-- still drop the triggers; the keyed chain and the anchors catch what is done then.)
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION audit_append_at_end() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq  bigint;
    last_hash text;
BEGIN
    SELECT seq, hash INTO last_seq, last_hash FROM audit ORDER BY seq DESC LIMIT 1;
    IF NEW.seq <> coalesce(last_seq, 0) + 1 OR NEW.prev_hash <> coalesce(last_hash, '') THEN
        RAISE EXCEPTION 'audit is append-only: a record goes at the end, linked to the last'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_append_at_end BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_at_end();
