package sqlitestore

// migrations are applied in order; a database remembers how many it has had in
// PRAGMA user_version, so each runs exactly once. Append, never edit.
var migrations = []string{
	// 1: the first schema.
	`
-- Fixes are clustered by vehicle and time: a track is one range scan, and an insert touches
-- one B-tree. The key also deduplicates retransmissions (same device, same device time). IDs
-- come from meta.next_fix_id, assigned by the one writer.
CREATE TABLE fixes (
	vehicle_id  TEXT    NOT NULL,
	time_us     INTEGER NOT NULL,
	device_id   TEXT    NOT NULL,
	id          INTEGER NOT NULL,
	lat         REAL    NOT NULL,
	lon         REAL    NOT NULL,
	data        BLOB    NOT NULL, -- the rest of the fix: see fixcodec.go
	PRIMARY KEY (vehicle_id, time_us, device_id)
) WITHOUT ROWID;

-- Where each vehicle was, coarsely: one row per vehicle, 10-minute bucket and 0.1° tile.
-- An area search finds its vehicles and periods here, then reads their tracks.
CREATE TABLE fix_tiles (
	bucket     INTEGER NOT NULL,
	tile       INTEGER NOT NULL,
	vehicle_id TEXT    NOT NULL,
	PRIMARY KEY (bucket, tile, vehicle_id)
) WITHOUT ROWID;

CREATE TABLE latest_fixes (
	vehicle_id TEXT PRIMARY KEY,
	time_us    INTEGER NOT NULL,
	device_id  TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('next_fix_id', 1);

CREATE TABLE vehicles (
	id         TEXT PRIMARY KEY,
	plate      TEXT NOT NULL DEFAULT '',
	kind       TEXT NOT NULL DEFAULT '',
	card_id    TEXT NOT NULL DEFAULT '',
	name       TEXT NOT NULL DEFAULT '',
	attrs      TEXT NOT NULL DEFAULT '',
	created_us INTEGER NOT NULL
);
CREATE INDEX vehicles_plate ON vehicles(plate);
CREATE INDEX vehicles_card ON vehicles(card_id);

CREATE TABLE devices (
	id         TEXT PRIMARY KEY,
	protocol   TEXT NOT NULL,
	vehicle_id TEXT NOT NULL DEFAULT '',
	auth_code  TEXT NOT NULL DEFAULT '',
	created_us INTEGER NOT NULL
);

CREATE TABLE zones (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	feature    TEXT NOT NULL,
	version    INTEGER NOT NULL,
	updated_us INTEGER NOT NULL
);

CREATE TABLE events (
	id         INTEGER PRIMARY KEY,
	type       TEXT NOT NULL,
	time_us    INTEGER NOT NULL,
	vehicle_id TEXT NOT NULL,
	zone_id    TEXT NOT NULL DEFAULT '',
	lat        REAL NOT NULL DEFAULT 0,
	lon        REAL NOT NULL DEFAULT 0,
	fix_id     INTEGER NOT NULL DEFAULT 0,
	late       INTEGER NOT NULL DEFAULT 0,
	attrs      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_vehicle_time ON events(vehicle_id, time_us);
CREATE INDEX events_time ON events(time_us);

CREATE TABLE alerts (
	id             INTEGER PRIMARY KEY,
	type           TEXT NOT NULL,
	severity       TEXT NOT NULL,
	status         TEXT NOT NULL,
	vehicle_id     TEXT NOT NULL,
	time_us        INTEGER NOT NULL,
	updated_us     INTEGER NOT NULL,
	zone_id        TEXT,
	declaration_id TEXT,
	late           INTEGER NOT NULL DEFAULT 0,
	lat            REAL NOT NULL DEFAULT 0,
	lon            REAL NOT NULL DEFAULT 0,
	message        TEXT NOT NULL DEFAULT '',
	dedup_key      TEXT NOT NULL,
	active         INTEGER NOT NULL DEFAULT 0,
	evidence       TEXT NOT NULL DEFAULT 'null',
	acked_by       TEXT NOT NULL DEFAULT '',
	acked_us       INTEGER,
	resolved_by    TEXT NOT NULL DEFAULT '',
	resolved_us    INTEGER,
	note           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_dedup ON alerts(dedup_key, status);
CREATE INDEX alerts_vehicle ON alerts(vehicle_id, time_us);
CREATE INDEX alerts_status ON alerts(status, time_us);

CREATE TABLE users (
	username   TEXT PRIMARY KEY,
	role       TEXT NOT NULL,
	hash       TEXT NOT NULL,
	disabled   INTEGER NOT NULL DEFAULT 0,
	created_us INTEGER NOT NULL
);

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	username   TEXT NOT NULL,
	role       TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	expires_us INTEGER NOT NULL,
	seen_us    INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(username);

CREATE TABLE audit (
	seq       INTEGER PRIMARY KEY,
	time_us   INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	object    TEXT NOT NULL,
	result    TEXT NOT NULL,
	detail    TEXT NOT NULL DEFAULT '',
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
-- The audit log is append-only, even for someone with a SQL shell on the store.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
`,
	// 2: declarations.
	`
CREATE TABLE declarations (
	id               TEXT PRIMARY KEY,
	vehicle_id       TEXT NOT NULL,
	direction        TEXT NOT NULL,
	port_zone_id     TEXT NOT NULL DEFAULT '',
	corridor_zone_id TEXT NOT NULL DEFAULT '',
	yard_zone_id     TEXT NOT NULL DEFAULT '',
	valid_from_us    INTEGER NOT NULL,
	valid_to_us      INTEGER NOT NULL,
	status           TEXT NOT NULL,
	status_reason    TEXT NOT NULL DEFAULT '',
	created_us       INTEGER NOT NULL,
	closed_us        INTEGER
);
CREATE INDEX declarations_vehicle ON declarations(vehicle_id, valid_from_us);
CREATE INDEX declarations_status ON declarations(status);
`,
	// 3: the webhook outbox (see outbox.go). Triggers write it, so an alert change and its outbox
	// entry commit in one transaction whichever statement made the change.
	`
CREATE TABLE alert_outbox (
	seq            INTEGER PRIMARY KEY,
	change         TEXT    NOT NULL,
	created_us     INTEGER NOT NULL,
	routed_us      INTEGER, -- NULL until its deliveries exist
	alert_id       INTEGER NOT NULL,
	type           TEXT    NOT NULL,
	severity       TEXT    NOT NULL,
	status         TEXT    NOT NULL,
	vehicle_id     TEXT    NOT NULL,
	time_us        INTEGER NOT NULL,
	updated_us     INTEGER NOT NULL,
	zone_id        TEXT,
	declaration_id TEXT,
	late           INTEGER NOT NULL,
	lat            REAL    NOT NULL,
	lon            REAL    NOT NULL,
	message        TEXT    NOT NULL,
	dedup_key      TEXT    NOT NULL,
	active         INTEGER NOT NULL,
	evidence       TEXT    NOT NULL,
	acked_by       TEXT    NOT NULL,
	acked_us       INTEGER,
	resolved_by    TEXT    NOT NULL,
	resolved_us    INTEGER,
	note           TEXT    NOT NULL
);
CREATE INDEX alert_outbox_unrouted ON alert_outbox(seq) WHERE routed_us IS NULL;

-- Only changes a receiver acts on: a new alert, a status change, a new severity, the condition
-- ending or returning. Evidence refreshed while a detour lasts is not one.
CREATE TRIGGER alerts_outbox_insert AFTER INSERT ON alerts BEGIN
	INSERT INTO alert_outbox(change, created_us, alert_id, type, severity, status, vehicle_id, time_us, updated_us, zone_id, declaration_id, late, lat, lon, message, dedup_key, active, evidence, acked_by, acked_us, resolved_by, resolved_us, note)
	VALUES('opened', CAST(unixepoch('subsec') * 1000000 AS INTEGER), NEW.id, NEW.type, NEW.severity, NEW.status, NEW.vehicle_id, NEW.time_us, NEW.updated_us, NEW.zone_id, NEW.declaration_id, NEW.late, NEW.lat, NEW.lon, NEW.message, NEW.dedup_key, NEW.active, NEW.evidence, NEW.acked_by, NEW.acked_us, NEW.resolved_by, NEW.resolved_us, NEW.note);
END;
CREATE TRIGGER alerts_outbox_update AFTER UPDATE ON alerts
WHEN NEW.status IS NOT OLD.status OR NEW.severity IS NOT OLD.severity OR NEW.active IS NOT OLD.active BEGIN
	INSERT INTO alert_outbox(change, created_us, alert_id, type, severity, status, vehicle_id, time_us, updated_us, zone_id, declaration_id, late, lat, lon, message, dedup_key, active, evidence, acked_by, acked_us, resolved_by, resolved_us, note)
	VALUES(CASE WHEN NEW.status IS NOT OLD.status THEN NEW.status ELSE 'updated' END,
		CAST(unixepoch('subsec') * 1000000 AS INTEGER), NEW.id, NEW.type, NEW.severity, NEW.status, NEW.vehicle_id, NEW.time_us, NEW.updated_us, NEW.zone_id, NEW.declaration_id, NEW.late, NEW.lat, NEW.lon, NEW.message, NEW.dedup_key, NEW.active, NEW.evidence, NEW.acked_by, NEW.acked_us, NEW.resolved_by, NEW.resolved_us, NEW.note);
END;

CREATE TABLE webhook_deliveries (
	id          TEXT    PRIMARY KEY, -- random: receivers deduplicate on it
	hook        TEXT    NOT NULL,
	seq         INTEGER NOT NULL,    -- the alert_outbox entry
	alert_id    INTEGER NOT NULL,
	status      TEXT    NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_us     INTEGER NOT NULL,
	lease_owner TEXT    NOT NULL DEFAULT '',
	lease_us    INTEGER NOT NULL DEFAULT 0,
	last_code   INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT    NOT NULL DEFAULT '',
	created_us  INTEGER NOT NULL,
	done_us     INTEGER,
	UNIQUE (hook, seq)
);
-- A hook's pending deliveries by alert, oldest first: the head of each alert's queue is due.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(hook, alert_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_seq ON webhook_deliveries(seq);
CREATE INDEX webhook_deliveries_done ON webhook_deliveries(done_us) WHERE done_us IS NOT NULL;
`,
	// 4: fixes in chunks (see fixes.go). Open then moves the rows of fixes into chunks and drops
	// fixes and latest_fixes (convertLegacyFixes).
	`
-- A run of one vehicle's fixes in time order, binary-encoded (record.go). Chunks of a vehicle
-- may overlap in time (late fixes); a chunk spans at most 6 hours, so that a time range finds its
-- chunks by start_us alone.
CREATE TABLE IF NOT EXISTS fix_chunks (
	id         INTEGER PRIMARY KEY,
	vehicle_id TEXT    NOT NULL,
	start_us   INTEGER NOT NULL,
	end_us     INTEGER NOT NULL,
	n          INTEGER NOT NULL,
	data       BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS fix_chunks_vehicle ON fix_chunks(vehicle_id, start_us, end_us);

-- Per vehicle: every fix of it in log records up to flushed_lsn is in chunks; max_us is its
-- newest time in chunks, latest its newest fix in chunks (a log record's fix encoding).
CREATE TABLE IF NOT EXISTS fix_series (
	vehicle_id  TEXT    PRIMARY KEY,
	flushed_lsn INTEGER NOT NULL,
	max_us      INTEGER NOT NULL,
	latest_us   INTEGER NOT NULL,
	latest      BLOB    NOT NULL
) WITHOUT ROWID;

-- Records of batches that had events or alerts: they commit with them instead of going to the
-- log files. Deleted once flushed.
CREATE TABLE IF NOT EXISTS fix_log (
	lsn    INTEGER PRIMARY KEY,
	record BLOB NOT NULL
);

-- The fix log is needed from this LSN on; everything before it is in chunks.
INSERT OR IGNORE INTO meta(key, value) VALUES('flushed_lsn', 0);
`,
	// 5: the webhook outbox's pending deliveries in seq order, so a claim walks to the first due
	// heads and stops instead of sorting a hook's whole backlog.
	`CREATE INDEX webhook_deliveries_heads ON webhook_deliveries(hook, seq) WHERE status = 'pending';`,
	// 6: audit: the keyed chain (tracker.AuditKey) and the client's address. Old records keep
	// alg '' (plain SHA-256). Records are appended only at the end and linked to the last one:
	// INSERT OR REPLACE would otherwise overwrite a record without firing the delete trigger.
	`
ALTER TABLE audit ADD COLUMN addr   TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN alg    TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
CREATE TRIGGER audit_append_at_end BEFORE INSERT ON audit
WHEN NEW.seq <> coalesce((SELECT max(seq) FROM audit), 0) + 1
  OR NEW.prev_hash <> coalesce((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1), '')
BEGIN SELECT RAISE(ABORT, 'audit is append-only: a record goes at the end, linked to the last'); END;
`,
	// 7: device registration (tracker.Device): the pre-registered terminal a JT/T 808
	// registration must match, and when the terminal registered (0: not yet).
	`
ALTER TABLE devices ADD COLUMN terminal_id   TEXT    NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN maker         TEXT    NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN model         TEXT    NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN registered_us INTEGER NOT NULL DEFAULT 0;
`,
	// 8: login lockouts (tracker.LoginFailures): failed logins per user name and address, and
	// per address over all names ('' as username), in the store so that a restart forgets none.
	`
CREATE TABLE login_lockouts (
	username TEXT    NOT NULL,
	addr     TEXT    NOT NULL,
	failures INTEGER NOT NULL,
	since_us INTEGER NOT NULL,
	PRIMARY KEY (username, addr)
) WITHOUT ROWID;
CREATE INDEX login_lockouts_since ON login_lockouts(since_us);
`,
	// 9: user names unique without regard to case (the index refuses to build, and the store
	// to open, while two names differ only in case: rename one first); passwords that must be
	// changed, their age (existing ones count from this upgrade), sessions limited to a change.
	`
CREATE UNIQUE INDEX users_username_nocase ON users(lower(username));
ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_us INTEGER NOT NULL DEFAULT 0;
UPDATE users SET password_changed_us = CAST(strftime('%s', 'now') AS INTEGER) * 1000000;
ALTER TABLE sessions ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
`,
	// 10: users' unit: "district" or a port zone's id, which scopes command and patrol users to
	// that port's area. Existing users see the district, as before.
	`ALTER TABLE users ADD COLUMN unit TEXT NOT NULL DEFAULT 'district';`,
	// 11: declaration_fields: the type, cargo, grade, declared net weight, the driver's card and
	// the e-seal (tracker.Declaration). Existing declarations are normal.
	`
ALTER TABLE declarations ADD COLUMN type            TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE declarations ADD COLUMN cargo           TEXT NOT NULL DEFAULT '';
ALTER TABLE declarations ADD COLUMN grade           TEXT NOT NULL DEFAULT '';
ALTER TABLE declarations ADD COLUMN declared_net_kg REAL;
ALTER TABLE declarations ADD COLUMN driver_card     TEXT NOT NULL DEFAULT '';
ALTER TABLE declarations ADD COLUMN seal_id         TEXT NOT NULL DEFAULT '';
`,
	// 12: declaration_fields, continued: a vehicle's newest event of a type (its driver) is one
	// index seek, and so is every vehicle's (LatestEvents).
	`CREATE INDEX events_type_vehicle_time ON events(type, vehicle_id, time_us);`,
	// 13: users' second factor (TOTP): its secret, whether enrolment is confirmed, the last
	// step used, the recovery codes' hashes (newline-separated); sessions limited to enrolment.
	`
ALTER TABLE users ADD COLUMN totp_secret    TEXT    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_confirmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_recovery  TEXT    NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN totp_enrol  INTEGER NOT NULL DEFAULT 0;
`,
	// 14: targeting (tracker.TargetOrder, Assignment, Photo): the columns lists select on,
	// and the whole object as JSON; version makes an update fail when another came first.
	`
CREATE TABLE targets (
	id         TEXT    PRIMARY KEY,
	vehicle_id TEXT    NOT NULL,
	plate      TEXT    NOT NULL,
	port_id    TEXT    NOT NULL,
	status     TEXT    NOT NULL,
	created_us INTEGER NOT NULL,
	version    INTEGER NOT NULL,
	data       TEXT    NOT NULL
);
CREATE INDEX targets_created ON targets(created_us);
CREATE INDEX targets_status ON targets(status);
CREATE TABLE assignments (
	id          TEXT    PRIMARY KEY,
	order_id    TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	assigned_us INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	data        TEXT    NOT NULL
);
CREATE INDEX assignments_order ON assignments(order_id);
CREATE INDEX assignments_status ON assignments(status);
CREATE TABLE target_photos (
	order_id     TEXT    NOT NULL,
	sha256       TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	by_user      TEXT    NOT NULL,
	at_us        INTEGER NOT NULL,
	data         BLOB    NOT NULL,
	PRIMARY KEY (order_id, sha256)
) WITHOUT ROWID;
`,
	// 15: weighings: weighbridge readings (tracker.Weighing), matched to a vehicle and a
	// declaration; listed by vehicle, by declaration and by time (the scales' drift).
	`
CREATE TABLE weighings (
	id             INTEGER PRIMARY KEY,
	scale_id       TEXT    NOT NULL,
	zone_id        TEXT    NOT NULL DEFAULT '',
	time_us        INTEGER NOT NULL,
	plate          TEXT    NOT NULL DEFAULT '',
	card_id        TEXT    NOT NULL DEFAULT '',
	gross_kg       REAL    NOT NULL,
	tare_kg        REAL    NOT NULL,
	net_kg         REAL    NOT NULL,
	operator       TEXT    NOT NULL DEFAULT '',
	vehicle_id     TEXT    NOT NULL DEFAULT '',
	declaration_id TEXT    NOT NULL DEFAULT '',
	received_us    INTEGER NOT NULL
);
CREATE INDEX weighings_vehicle ON weighings(vehicle_id, time_us);
CREATE INDEX weighings_declaration ON weighings(declaration_id, time_us);
CREATE INDEX weighings_time ON weighings(time_us);
`,
	// 16: alert_confirmations: alerts an officer confirmed as offences (tracker.Confirmation),
	// once each; listed by time for the repeat offenders.
	`
CREATE TABLE alert_confirmations (
	alert_id   INTEGER PRIMARY KEY,
	vehicle_id TEXT    NOT NULL,
	plate      TEXT    NOT NULL DEFAULT '',
	type       TEXT    NOT NULL,
	by_user    TEXT    NOT NULL,
	at_us      INTEGER NOT NULL,
	note       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alert_confirmations_at ON alert_confirmations(at_us);
`,
	// 17: a patrol user's device: the OsmAnd id their tablet reports its position under.
	`ALTER TABLE users ADD COLUMN device_id TEXT NOT NULL DEFAULT '';`,
	// 18: webhook receivers added from the screens (tracker.WebhookReceiver); types and ports
	// are JSON arrays.
	`
CREATE TABLE webhook_receivers (
	name         TEXT    PRIMARY KEY,
	url          TEXT    NOT NULL,
	secret       TEXT    NOT NULL,
	min_severity TEXT    NOT NULL DEFAULT '',
	types        TEXT    NOT NULL DEFAULT '[]',
	ports        TEXT    NOT NULL DEFAULT '[]',
	enabled      INTEGER NOT NULL,
	created_by   TEXT    NOT NULL,
	created_us   INTEGER NOT NULL,
	updated_us   INTEGER NOT NULL
) WITHOUT ROWID;
`,
}
