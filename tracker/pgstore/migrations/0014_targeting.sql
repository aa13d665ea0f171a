-- Targeting (tracker.TargetOrder, Assignment, Photo): the columns lists select on, and the
-- whole object as JSON; version makes an update fail when another came first.
CREATE TABLE targets (
    id         text        PRIMARY KEY,
    vehicle_id text        NOT NULL,
    plate      text        NOT NULL,
    port_id    text        NOT NULL,
    status     text        NOT NULL,
    created_at timestamptz NOT NULL,
    version    integer     NOT NULL,
    data       jsonb       NOT NULL
);
CREATE INDEX targets_created ON targets (created_at);
CREATE INDEX targets_status ON targets (status);
CREATE TABLE assignments (
    id          text        PRIMARY KEY,
    order_id    text        NOT NULL,
    status      text        NOT NULL,
    assigned_at timestamptz NOT NULL,
    version     integer     NOT NULL,
    data        jsonb       NOT NULL
);
CREATE INDEX assignments_order ON assignments (order_id);
CREATE INDEX assignments_status ON assignments (status);
CREATE TABLE target_photos (
    order_id     text        NOT NULL,
    sha256       text        NOT NULL,
    content_type text        NOT NULL,
    size         integer     NOT NULL,
    by_user      text        NOT NULL,
    at           timestamptz NOT NULL,
    data         bytea       NOT NULL,
    PRIMARY KEY (order_id, sha256)
);
