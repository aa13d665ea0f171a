-- The webhook outbox (package notifier). A trigger writes it, so an alert change and its outbox
-- entry commit in one transaction whichever statement made the change.
CREATE TABLE alert_outbox (
    seq            bigserial        PRIMARY KEY,
    change         text             NOT NULL,
    created_at     timestamptz      NOT NULL DEFAULT clock_timestamp(),
    routed_at      timestamptz, -- NULL until its deliveries exist
    alert_id       bigint           NOT NULL,
    type           text             NOT NULL,
    severity       text             NOT NULL,
    status         text             NOT NULL,
    vehicle_id     text             NOT NULL,
    time           timestamptz      NOT NULL,
    updated_at     timestamptz      NOT NULL,
    zone_id        text,
    declaration_id text,
    late           boolean          NOT NULL,
    lat            double precision NOT NULL,
    lon            double precision NOT NULL,
    message        text             NOT NULL,
    dedup_key      text             NOT NULL,
    active         boolean          NOT NULL,
    evidence       jsonb,
    acked_by       text             NOT NULL,
    acked_at       timestamptz,
    resolved_by    text             NOT NULL,
    resolved_at    timestamptz,
    note           text             NOT NULL
);
CREATE INDEX alert_outbox_unrouted ON alert_outbox (seq) WHERE routed_at IS NULL;

-- Only changes a receiver acts on: a new alert, a status change, a new severity, the condition
-- ending or returning. Evidence refreshed while a detour lasts is not one. Changes to one alert
-- take their seq in commit order: the alert's row lock serializes them.
CREATE FUNCTION alerts_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        c := 'opened';
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        c := NEW.status;
    ELSIF NEW.severity IS DISTINCT FROM OLD.severity OR NEW.active IS DISTINCT FROM OLD.active THEN
        c := 'updated';
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO alert_outbox (change, alert_id, type, severity, status, vehicle_id, time, updated_at, zone_id, declaration_id, late, lat, lon, message, dedup_key, active, evidence, acked_by, acked_at, resolved_by, resolved_at, note)
    VALUES (c, NEW.id, NEW.type, NEW.severity, NEW.status, NEW.vehicle_id, NEW.time, NEW.updated_at, NEW.zone_id, NEW.declaration_id, NEW.late, NEW.lat, NEW.lon, NEW.message, NEW.dedup_key, NEW.active, NEW.evidence, NEW.acked_by, NEW.acked_at, NEW.resolved_by, NEW.resolved_at, NEW.note);
    RETURN NULL;
END
$$;
CREATE TRIGGER alerts_outbox AFTER INSERT OR UPDATE ON alerts FOR EACH ROW EXECUTE FUNCTION alerts_outbox();

CREATE TABLE webhook_deliveries (
    id          text        PRIMARY KEY, -- random: receivers deduplicate on it
    hook        text        NOT NULL,
    seq         bigint      NOT NULL,    -- the alert_outbox entry
    alert_id    bigint      NOT NULL,
    status      text        NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,
    lease_owner text        NOT NULL DEFAULT '',
    lease_until timestamptz NOT NULL DEFAULT '-infinity',
    last_code   integer     NOT NULL DEFAULT 0,
    last_error  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    done_at     timestamptz,
    UNIQUE (hook, seq)
);
-- A hook's pending deliveries by alert, oldest first: the head of each alert's queue is due.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (hook, alert_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_seq ON webhook_deliveries (seq);
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (done_at) WHERE done_at IS NOT NULL;
