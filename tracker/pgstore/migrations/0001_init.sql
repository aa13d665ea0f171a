-- Fixes are partitioned by device time, one partition per UTC day, created by the store
-- before it writes a day for the first time; dropping a partition is how retention works.
CREATE SEQUENCE fixes_id_seq AS bigint;

CREATE TABLE fixes (
    id          bigint           NOT NULL DEFAULT nextval('fixes_id_seq'),
    vehicle_id  text             NOT NULL,
    device_id   text             NOT NULL,
    protocol    text             NOT NULL,
    device_time timestamptz      NOT NULL,
    received_at timestamptz      NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    speed_kmh   double precision NOT NULL,
    heading     double precision NOT NULL,
    altitude_m  double precision NOT NULL,
    valid       boolean          NOT NULL,
    late        boolean          NOT NULL,
    flags       text[],
    attrs       jsonb
) PARTITION BY RANGE (device_time);

-- A resent fix (same device, same device time) is a duplicate.
CREATE UNIQUE INDEX fixes_device_time ON fixes (device_id, device_time);
-- One vehicle over a period, already in the order Track returns (id breaks ties).
CREATE INDEX fixes_vehicle_time ON fixes (vehicle_id, device_time, id);
-- An area over a period: the day partitions narrow the period, the R-tree the area.
CREATE INDEX fixes_area ON fixes USING gist (point(lon, lat));

-- The newest fix of every vehicle, kept by Commit so that the wall map's first load does not
-- scan history.
CREATE TABLE latest_fixes (LIKE fixes INCLUDING CONSTRAINTS, PRIMARY KEY (vehicle_id)) WITH (fillfactor = 70);

CREATE TABLE events (
    id         bigserial        PRIMARY KEY,
    type       text             NOT NULL,
    time       timestamptz      NOT NULL,
    vehicle_id text             NOT NULL,
    zone_id    text             NOT NULL,
    lat        double precision NOT NULL,
    lon        double precision NOT NULL,
    fix_id     bigint           NOT NULL,
    late       boolean          NOT NULL,
    attrs      jsonb
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_vehicle_time ON events (vehicle_id, time);

CREATE TABLE alerts (
    id             bigserial        PRIMARY KEY,
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
    acked_by       text             NOT NULL DEFAULT '',
    acked_at       timestamptz,
    resolved_by    text             NOT NULL DEFAULT '',
    resolved_at    timestamptz,
    note           text             NOT NULL DEFAULT ''
);
-- One unresolved alert per incident.
CREATE UNIQUE INDEX alerts_open_dedup ON alerts (dedup_key) WHERE status <> 'resolved' AND dedup_key <> '';
CREATE INDEX alerts_time ON alerts (time);
CREATE INDEX alerts_vehicle_time ON alerts (vehicle_id, time);

CREATE TABLE devices (
    id         text        PRIMARY KEY,
    protocol   text        NOT NULL,
    vehicle_id text        NOT NULL,
    auth_code  text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE vehicles (
    id         text        PRIMARY KEY,
    plate      text        NOT NULL,
    kind       text        NOT NULL,
    card_id    text        NOT NULL,
    name       text        NOT NULL,
    attrs      jsonb,
    created_at timestamptz NOT NULL
);

CREATE TABLE zones (
    id            text             PRIMARY KEY,
    name          text             NOT NULL,
    kind          text             NOT NULL,
    geometry      jsonb            NOT NULL,
    width_m       double precision NOT NULL,
    domestic_side text             NOT NULL,
    properties    jsonb,
    version       bigint           NOT NULL,
    updated_at    timestamptz      NOT NULL
);

-- Every server caches zones; a change made through any of them reaches the others.
CREATE FUNCTION zones_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('bw_zones', OLD.id);
    ELSE
        PERFORM pg_notify('bw_zones', NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER zones_notify AFTER INSERT OR UPDATE OR DELETE ON zones
    FOR EACH ROW EXECUTE FUNCTION zones_notify();

CREATE TABLE users (
    username   text        PRIMARY KEY,
    role       text        NOT NULL,
    hash       text        NOT NULL,
    created_at timestamptz NOT NULL,
    disabled   boolean     NOT NULL
);

CREATE TABLE sessions (
    token_hash text        PRIMARY KEY,
    username   text        NOT NULL,
    role       text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);

-- Append-only: detail is json, not jsonb, so it reads back byte for byte as hashed.
CREATE TABLE audit (
    seq       bigint      PRIMARY KEY,
    time      timestamptz NOT NULL,
    actor     text        NOT NULL,
    action    text        NOT NULL,
    object    text        NOT NULL,
    result    text        NOT NULL,
    detail    json,
    prev_hash text        NOT NULL,
    hash      text        NOT NULL
);
