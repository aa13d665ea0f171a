package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt600"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// config is every setting of the server; each has a flag and a BW_… environment variable,
// the flag winning over the variable.
type config struct {
	HTTPAddr      string
	JT808Addr     string
	GT06Addr      string
	JT600Addr     string
	OsmAndAddr    string
	DataDir       string
	DatabaseURL   string
	Geofence      string
	AdminPassword string
	AcceptUnknown bool
	TLSCert       string
	TLSKey        string
	SyncCommits   bool
	// MaxUnflushedMB bounds the embedded store's fixes waiting in memory for a flush.
	MaxUnflushedMB int
	// PGWriters is how many PostgreSQL connections a large group commit is spread over.
	PGWriters   int
	LogLevel    string
	MaxConns    int
	IdleTimeout time.Duration
	PprofAddr   string
	// TrustedProxies: comma-separated addresses and CIDRs whose forwarded headers the API believes.
	TrustedProxies string

	// Rate limits (package ratelimit); a rate of 0 is no limit.
	ConnFrameRate  float64
	ConnFrameBurst int
	DeviceFixRate  float64
	DeviceFixBurst int
	// Connections of one address (package gateway); 0 is no cap.
	MaxConnsPerAddr int

	// The audit chain's key and anchors (see audit.go).
	AuditKey         string
	AuditKeyFile     string
	AuditAnchorFile  string
	AuditAnchorEvery time.Duration

	// PasswordMaxAge: a password older than this logs in only to be changed; negative: never.
	PasswordMaxAge time.Duration
	// RequireTOTPAdmins: administrators log in only to enrol a second factor until they have one.
	RequireTOTPAdmins bool
	// Port units (mapui.Config.UnitBufferM) and live sockets (mapui.Config.LiveRecheck).
	UnitBufferKm float64
	LiveRecheck  time.Duration
	// Targeting (package tracker/targeting).
	RandomTargetShare float64
	EscalateAfter     time.Duration
	// RandomSeed repeats the random inspections' draws (tests, simulations); 0: crypto/rand.
	RandomSeed uint64

	// CrossingGapMax: a border crossing between fixes farther apart is unverified (package rules).
	CrossingGapMax time.Duration
	// Weighbridges (package rules): the declared weight's tolerance, per cargo, and the scales'.
	WeightTolerancePct float64
	CargoTolerance     string
	ScaleTolerancePct  float64
	WeighingGrace      time.Duration
	// EmergencyWindow: an emergency declaration's validity when it gives none (package mapui).
	EmergencyWindow time.Duration
	// CheckEvery is how often the rules' timers run, on the data's clock; 0: defaultCheckEvery.
	CheckEvery time.Duration

	// Webhooks (package notifier).
	WebhookURLs    string
	WebhookSecret  string
	WebhooksFile   string
	WebhookTimeout time.Duration
	// WebhookAllowPrivate lets receivers added from the screens be on private addresses.
	WebhookAllowPrivate bool

	// Cluster (package cluster): NATS servers, this process's roles and name, partitions.
	NATSURL    string
	Roles      string
	NodeName   string
	Partitions int

	// Now is the server's clock; nil is the wall clock. The demo runs on the simulator's, which
	// runs ClockSpeedup times real time (0: the wall clock).
	Now          func() time.Time
	ClockSpeedup float64
}

// bindConfig registers the flags with defaults taken from the environment that lookupEnv reads
// (os.LookupEnv for a command). demo changes the defaults of accept-unknown-devices and
// require-totp-admins.
func bindConfig(fs *flag.FlagSet, c *config, demo bool, lookupEnv func(string) (string, bool)) error {
	var errs []error
	str := func(p *string, name, env, def, help string) {
		if v, ok := lookupEnv(env); ok {
			def = v
		}
		fs.StringVar(p, name, def, help+" ($"+env+")")
	}
	boolean := func(p *bool, name, env string, def bool, help string) {
		if v, ok := lookupEnv(env); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a boolean", env, v))
			}
			def = b
		}
		fs.BoolVar(p, name, def, help+" ($"+env+")")
	}
	integer := func(p *int, name, env string, def int, help string) {
		if v, ok := lookupEnv(env); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a number", env, v))
			}
			def = n
		}
		fs.IntVar(p, name, def, help+" ($"+env+")")
	}
	unsigned := func(p *uint64, name, env string, def uint64, help string) {
		if v, ok := lookupEnv(env); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a number ≥ 0", env, v))
			}
			def = n
		}
		fs.Uint64Var(p, name, def, help+" ($"+env+")")
	}
	float := func(p *float64, name, env string, def float64, help string) {
		if v, ok := lookupEnv(env); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a number", env, v))
			}
			def = f
		}
		fs.Float64Var(p, name, def, help+" ($"+env+")")
	}
	duration := func(p *time.Duration, name, env string, def time.Duration, help string) {
		if v, ok := lookupEnv(env); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a duration", env, v))
			}
			def = d
		}
		fs.DurationVar(p, name, def, help+" ($"+env+")")
	}
	str(&c.HTTPAddr, "http-addr", "BW_HTTP_ADDR", ":8080", "web app, API, WebSocket, metrics")
	str(&c.JT808Addr, "jt808-addr", "BW_JT808_ADDR", ":6808", "JT/T 808 terminals (TCP); empty disables")
	str(&c.GT06Addr, "gt06-addr", "BW_GT06_ADDR", ":6023", "GT06 trackers (TCP); empty disables")
	str(&c.JT600Addr, "jt600-addr", "BW_JT600_ADDR", jt600.DefaultAddr, "Jointech JT600 trackers and JT701 e-seals (TCP); empty disables")
	str(&c.OsmAndAddr, "osmand-addr", "BW_OSMAND_ADDR", ":5055", "OsmAnd / Traccar Client (HTTP); empty disables")
	str(&c.DataDir, "data-dir", "BW_DATA_DIR", "./data", "embedded database and other state")
	str(&c.DatabaseURL, "database-url", "BW_DATABASE_URL", "", "postgres://… for PostgreSQL; empty: SQLite file in the data directory")
	str(&c.Geofence, "geofence", "BW_GEOFENCE", "embedded", "geofence engine: embedded or tile38://host:port")
	str(&c.AdminPassword, "admin-password", "BW_ADMIN_PASSWORD", "", "password of the user admin on first start; empty: generated, printed once and kept in the data directory's initial-admin-password")
	boolean(&c.AcceptUnknown, "accept-unknown-devices", "BW_ACCEPT_UNKNOWN_DEVICES", demo, "store fixes of devices nobody registered")
	str(&c.TLSCert, "tls-cert", "BW_TLS_CERT", "", "certificate file (PEM, chain included): the web app, API and OsmAnd serve HTTPS (TLS 1.2 or later); needs --tls-key")
	str(&c.TLSKey, "tls-key", "BW_TLS_KEY", "", "private key file (PEM) of --tls-cert")
	boolean(&c.SyncCommits, "sync-commits", "BW_SYNC_COMMITS", false, "fsync every group commit: acknowledged fixes survive power loss, not only a crash")
	integer(&c.MaxUnflushedMB, "max-unflushed-mb", "BW_MAX_UNFLUSHED_MB", sqlitestore.DefaultMaxUnflushedBytes>>20, "embedded store: MiB of fixes kept in memory until flushed into chunks; at this, new fixes wait for a flush")
	integer(&c.PGWriters, "pg-writers", "BW_PG_WRITERS", 1, "PostgreSQL store: connections a group commit of 512 fixes or more is spread over, by vehicle (all or nothing); more than 1 only for a database server with cores to spare")
	str(&c.LogLevel, "log-level", "BW_LOG_LEVEL", "info", "debug, info, warn or error")
	integer(&c.MaxConns, "max-conns", "BW_MAX_CONNS", 20000, "device connections per TCP gateway at most")
	duration(&c.IdleTimeout, "idle-timeout", "BW_IDLE_TIMEOUT", 5*time.Minute, "close device connections silent this long")
	float(&c.ConnFrameRate, "conn-frame-rate", "BW_CONN_FRAME_RATE", 20, "device frames (OsmAnd: requests) per second one connection may send, sustained; 0: no limit")
	integer(&c.ConnFrameBurst, "conn-frame-burst", "BW_CONN_FRAME_BURST", 1000, "device frames one connection may send at once, e.g. its backlog after a reconnect")
	float(&c.DeviceFixRate, "device-fix-rate", "BW_DEVICE_FIX_RATE", 10, "fixes per second one device may send over all its connections, sustained; 0: no limit")
	integer(&c.DeviceFixBurst, "device-fix-burst", "BW_DEVICE_FIX_BURST", 1000, "fixes one device may send at once: several 255-fix JT/T 808 blind-area batches, a GT06 backlog")
	integer(&c.MaxConnsPerAddr, "max-conns-per-addr", "BW_MAX_CONNS_PER_ADDR", 5000, "device connections per gateway from one IP address; terminals behind one carrier NAT share one; 0: no cap")
	str(&c.TrustedProxies, "trusted-proxies", "BW_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed; empty: none, the client is the connection's address")
	str(&c.PprofAddr, "pprof-addr", "BW_PPROF_ADDR", "", "serve Go profiles (net/http/pprof) here, e.g. 127.0.0.1:6060; empty: off")
	str(&c.AuditKey, "audit-key", "BW_AUDIT_KEY", "", "the audit chain's HMAC-SM3 key in hex (32 bytes or more); empty: --audit-key-file")
	str(&c.AuditKeyFile, "audit-key-file", "BW_AUDIT_KEY_FILE", "", "file holding the audit key in hex, created 0600 on first start; keep it off the database's volume; empty: <data-dir>/audit.key")
	str(&c.AuditAnchorFile, "audit-anchor-file", "BW_AUDIT_ANCHOR_FILE", "", "append-only file of the audit chain's heads, checked by audit verify; empty: <data-dir>/audit-anchors.log")
	duration(&c.AuditAnchorEvery, "audit-anchor-every", "BW_AUDIT_ANCHOR_EVERY", defaultAnchorEvery, "how often the audit chain's head is anchored (also at start and shutdown)")
	duration(&c.PasswordMaxAge, "password-max-age", "BW_PASSWORD_MAX_AGE", 90*24*time.Hour, "passwords expire after this; an expired one logs in only to be changed; negative: never")
	boolean(&c.RequireTOTPAdmins, "require-totp-admins", "BW_REQUIRE_TOTP_ADMINS", !demo, "the administrators (admin, security, auditor) must log in with a second factor (TOTP); one without it may only enrol it")
	float(&c.UnitBufferKm, "unit-buffer-km", "BW_UNIT_BUFFER_KM", 30, "command and patrol users of a port unit see this far around the port's zones (its control zone, yards, corridors)")
	duration(&c.LiveRecheck, "live-recheck", "BW_LIVE_RECHECK", 5*time.Second, "how often a live WebSocket re-reads its session, to close when another server on the same database ended it")
	float(&c.WeightTolerancePct, "weight-tolerance-pct", "BW_WEIGHT_TOLERANCE_PCT", 2, "a weighed net weight further than this percentage from the declared one is weight_mismatch")
	str(&c.CargoTolerance, "cargo-tolerance", "BW_CARGO_TOLERANCE", "", "per-cargo weight tolerances, e.g. 煤=3,铜精矿=1.5: a declaration whose cargo contains the word (the longest found) takes its percentage")
	float(&c.ScaleTolerancePct, "scale-tolerance-pct", "BW_SCALE_TOLERANCE_PCT", 1, "two scales' gross readings of one truck on one trip further apart than this percentage are double_weighing; a scale biased more than this against the others drifts")
	duration(&c.WeighingGrace, "weighing-grace", "BW_WEIGHING_GRACE", 30*time.Minute, "a declared truck not weighed by this long after it arrived in its yard is weighing_skipped")
	duration(&c.EmergencyWindow, "emergency-window", "BW_EMERGENCY_WINDOW", 2*time.Hour, "an emergency declaration without valid_to is valid this long (at most 12 h); its corridor and stop rules are suspended meanwhile")
	duration(&c.CheckEvery, "check-every", "BW_CHECK_EVERY", defaultCheckEvery, "how often the rules' timers run (signal loss, meetings, declarations ending, overstay), on the data's clock: a meeting or a lost signal is told at most this late; 1s to 1m")
	duration(&c.CrossingGapMax, "crossing-gap-max", "BW_CROSSING_GAP_MAX", 30*time.Minute, "a border crossing between two fixes farther apart (or far enough apart to drive through a port) is border_crossing_unverified, its port unknown, not a crossing outside every port")
	float(&c.RandomTargetShare, "random-target-share", "BW_RANDOM_TARGET_SHARE", 0.02, "share of matched gate reads at a port drawn for a random inspection, the hit rate's baseline; 0: none")
	unsigned(&c.RandomSeed, "random-seed", "BW_RANDOM_SEED", 0, "seed of the random inspections' draws, to repeat a test or a simulation; 0: unpredictable, from crypto/rand (production)")
	duration(&c.EscalateAfter, "escalate-after", "BW_ESCALATE_AFTER", 5*time.Minute, "an assignment unaccepted this long goes to its port's command, and as long again to the district")
	str(&c.WebhookURLs, "webhook-urls", "BW_WEBHOOK_URLS", "", "comma-separated URLs that receive every alert change as a JSON POST")
	str(&c.WebhookSecret, "webhook-secret", "BW_WEBHOOK_SECRET", "", "HMAC-SHA256 key signing requests to --webhook-urls; empty: unsigned")
	str(&c.WebhooksFile, "webhooks-file", "BW_WEBHOOKS_FILE", "", "JSON file of webhooks with their own names, secrets and filters")
	duration(&c.WebhookTimeout, "webhook-timeout", "BW_WEBHOOK_TIMEOUT", 10*time.Second, "one webhook request at most; slower counts as failed and is retried")
	boolean(&c.WebhookAllowPrivate, "webhook-allow-private", "BW_WEBHOOK_ALLOW_PRIVATE", false, "receivers added from the screens may be on loopback and private addresses (never link-local, e.g. 169.254.169.254)")
	str(&c.NATSURL, "nats-url", "BW_NATS_URL", "", "comma-separated nats:// URLs: join a cluster over NATS JetStream (needs a PostgreSQL --database-url); empty: one process holds everything")
	str(&c.Roles, "roles", "BW_ROLES", "gateway,tracker,api", "in a cluster, what this process runs: a comma-separated subset of gateway, tracker, api")
	str(&c.NodeName, "node-name", "BW_NODE_NAME", "", "in a cluster, this process's name, unique among the nodes; empty: the host name")
	integer(&c.Partitions, "partitions", "BW_PARTITIONS", 64, "in a cluster, the partitions the fixes are spread over by vehicle; the same on every node, fixed when the stream is made")
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// trustedProxies splits and checks --trusted-proxies: each an IP address or a CIDR.
func trustedProxies(v string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return nil, fmt.Errorf("BW_TRUSTED_PROXIES: %q is neither an address nor a CIDR", p)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// cargoTolerance parses --cargo-tolerance: comma-separated word=percentage pairs.
func cargoTolerance(v string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		word, pct, ok := strings.Cut(p, "=")
		n, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if word = strings.TrimSpace(word); !ok || word == "" || err != nil || !(n > 0 && n <= 100) {
			return nil, fmt.Errorf("BW_CARGO_TOLERANCE: %q is not word=percentage (above 0, at most 100)", p)
		}
		out[word] = n
	}
	return out, nil
}
