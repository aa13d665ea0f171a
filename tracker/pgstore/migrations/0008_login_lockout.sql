-- Login lockouts (tracker.LoginFailures): failed logins per user name and address, and per
-- address over all names ('' as username), shared by every server on this database and kept
-- over restarts.
CREATE TABLE login_lockouts (
    username text        NOT NULL,
    addr     text        NOT NULL,
    failures integer     NOT NULL,
    since    timestamptz NOT NULL,
    PRIMARY KEY (username, addr)
);
CREATE INDEX login_lockouts_since ON login_lockouts (since);
