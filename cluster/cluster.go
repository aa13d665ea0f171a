// Package cluster runs BorderWatch on several processes over NATS JetStream: gateways publish
// fixes to a replicated stream partitioned by vehicle and acknowledge devices once JetStream
// has stored them; trackers take leases on partitions in a JetStream key-value bucket (one
// owner per partition), evaluate and store each partition's fixes in order and acknowledge
// the stream; live positions, alerts and the registry's changes travel on NATS subjects.
//
// The consensus is JetStream's (RAFT per stream and bucket); this package only follows it.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Names in NATS.
const (
	StreamName  = "BW_FIXES"
	fixSubjects = "bw.fix.*"
	// ChangeStream keeps the change notices for an hour: a node that was cut off from NATS
	// reads those it missed when it is back (at least once; applying one again is harmless).
	ChangeStream = "BW_CHANGES"
	leaseBucket  = "bw_partitions"
	nodeBucket   = "bw_nodes"
	liveSubject  = "bw.live"
	changePrefix = "bw.change."
)

// Roles a process may take.
const (
	RoleGateway = "gateway"
	RoleTracker = "tracker"
	RoleAPI     = "api"
)

// Config configures a connection to the cluster.
type Config struct {
	// URLs are the NATS servers, comma-separated nats:// URLs.
	URLs string
	// Node names this process (BW_NODE_NAME); unique in the cluster.
	Node  string
	Roles []string
	// Partitions is how many partitions the fixes are spread over (default 64). Every process of
	// a cluster must agree: it is fixed when the stream is made.
	Partitions int
	// Replicas of the stream and the buckets; 0: 3 when NATS has three servers or more, else 1.
	Replicas int
	// LeaseTTL is how long a tracker's partition lease lives without renewal: a dead tracker's
	// partitions are taken over after at most this plus a renewal period (default 6 s).
	LeaseTTL time.Duration
	// ReplayWindow is how far back a tracker taking over a partition replays its fixes to
	// rebuild the vehicles' rule state (default 30 min).
	ReplayWindow time.Duration
	// Retention is how long the stream keeps fixes (default 24 h); at least ReplayWindow.
	Retention  time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// ChangeLog is the store's log of edits, which SubscribeChanges follows besides the notices;
	// nil: the notices alone.
	ChangeLog ChangeLog
	// onlyListed keeps the client to the URLs given, ignoring the servers NATS announces
	// (tests: a node stays cut off while its server is down).
	onlyListed bool
}

func (c *Config) defaults() {
	if c.Partitions == 0 {
		c.Partitions = 64
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 6 * time.Second
	}
	if c.ReplayWindow == 0 {
		c.ReplayWindow = 30 * time.Minute
	}
	if c.Retention == 0 {
		c.Retention = 24 * time.Hour
	}
	c.Retention = max(c.Retention, c.ReplayWindow)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Conn is a process's connection to the cluster.
type Conn struct {
	cfg    Config
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	leases jetstream.KeyValue
	nodes  jetstream.KeyValue
	m      *metrics
	// dialed: the change notices from then on are applied, whatever this node loaded before.
	dialed time.Time
	// notices waiting to be published (announce), closed by Close (noticeMu guards the sends
	// and closed); announced is closed when announce has ended.
	notices   chan *nats.Msg
	noticeMu  sync.Mutex
	closed    bool
	announced chan struct{}
	// logSeq is the change log's end when this node dialled; reconnected is signalled when the
	// NATS connection comes back (the change log is read then).
	logSeq      int64
	reconnected chan struct{}
}

// Dial connects to NATS and makes (or checks) the stream and the buckets.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	cfg.defaults()
	if cfg.Node == "" {
		return nil, errors.New("cluster: a node needs a name (BW_NODE_NAME)")
	}
	if cfg.Partitions < 1 || cfg.Partitions > 4096 {
		return nil, fmt.Errorf("cluster: %d partitions: want 1 to 4096", cfg.Partitions)
	}
	reconnected := make(chan struct{}, 1)
	opts := []nats.Option{
		nats.Name("borderwatch " + cfg.Node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				cfg.Logger.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			cfg.Logger.Info("NATS reconnected", "server", nc.ConnectedUrlRedacted())
			select {
			case reconnected <- struct{}{}:
			default:
			}
		}),
	}
	if cfg.onlyListed {
		opts = append(opts, nats.IgnoreDiscoveredServers())
	}
	var logSeq int64
	if cfg.ChangeLog != nil {
		var err error
		if logSeq, err = cfg.ChangeLog.LastChange(ctx); err != nil {
			return nil, fmt.Errorf("cluster: reading the change log: %w", err)
		}
	}
	nc, err := nats.Connect(cfg.URLs, opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: NATS %s: %w", cfg.URLs, err)
	}
	c := &Conn{cfg: cfg, log: cfg.Logger, nc: nc, m: newMetrics(cfg.Registerer), dialed: time.Now(),
		notices: make(chan *nats.Msg, 1024), announced: make(chan struct{}), logSeq: logSeq, reconnected: reconnected}
	if err := c.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	go c.announce()
	return c, nil
}

func (c *Conn) setup(ctx context.Context) error {
	js, err := jetstream.New(c.nc, jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.js = js
	replicas := c.cfg.Replicas
	if replicas == 0 {
		replicas = 1
		if len(c.nc.Servers()) >= 3 {
			replicas = 3
		}
	}
	c.cfg.Replicas = replicas
	// The stream, the buckets and their leaders may still be electing right after NATS starts:
	// retry until ctx ends.
	for {
		err = c.ensure(ctx, replicas)
		if err == nil {
			return nil
		}
		c.log.Warn("JetStream not ready; retrying", "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: JetStream: %w", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *Conn) ensure(ctx context.Context, replicas int) error {
	var err error
	c.stream, err = c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: fmt.Sprintf("BorderWatch fixes, %d partitions by vehicle", c.cfg.Partitions),
		Subjects:    []string{fixSubjects},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxAge:      c.cfg.Retention,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
	})
	if err != nil {
		return fmt.Errorf("stream %s: %w", StreamName, err)
	}
	if _, err = c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        ChangeStream,
		Description: "BorderWatch zone, declaration and registry changes",
		Subjects:    []string{changePrefix + "*"},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxAge:      time.Hour,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
	}); err != nil {
		return fmt.Errorf("stream %s: %w", ChangeStream, err)
	}
	if c.leases, err = c.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: leaseBucket, Description: "tracker leases on partitions", TTL: c.cfg.LeaseTTL, History: 1,
		Storage: jetstream.FileStorage, Replicas: replicas,
	}); err != nil {
		return fmt.Errorf("bucket %s: %w", leaseBucket, err)
	}
	if c.nodes, err = c.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: nodeBucket, Description: "BorderWatch nodes alive", TTL: 3 * heartbeatEvery, History: 1,
		Storage: jetstream.MemoryStorage, Replicas: replicas,
	}); err != nil {
		return fmt.Errorf("bucket %s: %w", nodeBucket, err)
	}
	return nil
}

// Close publishes the change notices still queued (for up to 5 s) and drains the connection.
func (c *Conn) Close() {
	c.noticeMu.Lock()
	already := c.closed
	if !already {
		c.closed = true
		close(c.notices)
	}
	c.noticeMu.Unlock()
	if already {
		return
	}
	select {
	case <-c.announced:
	case <-time.After(5 * time.Second):
		c.log.Warn("closing with change notices not announced", "waiting", len(c.notices))
	}
	if err := c.nc.Drain(); err != nil {
		c.nc.Close()
	}
}

// Node is this process's name.
func (c *Conn) Node() string { return c.cfg.Node }

// Partitions is how many partitions the fixes are spread over.
func (c *Conn) Partitions() int { return c.cfg.Partitions }

// Connected reports whether NATS is reachable, for /readyz.
func (c *Conn) Connected() error {
	if !c.nc.IsConnected() {
		return errors.New("NATS not connected")
	}
	return nil
}

// Partition is the vehicle's partition of n: FNV-1a of its id. Every process computes the same.
func Partition(vehicleID string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(vehicleID))
	return int(h.Sum32() % uint32(n))
}

func fixSubject(p int) string { return fmt.Sprintf("bw.fix.%d", p) }

func leaseKey(p int) string { return fmt.Sprintf("p%d", p) }

// leasePartition is the partition of a lease key, if it is one of n.
func leasePartition(key string, n int) (int, bool) {
	var p int
	if _, err := fmt.Sscanf(key, "p%d", &p); err != nil || p < 0 || p >= n || leaseKey(p) != key {
		return 0, false
	}
	return p, true
}

// ParseURLs checks BW_NATS_URL: comma-separated nats:// (or tls://) URLs.
func ParseURLs(v string) (string, error) {
	var urls []string
	for _, u := range strings.Split(v, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return "", fmt.Errorf("BW_NATS_URL: %q is not a nats:// or tls:// URL", u)
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		return "", errors.New("BW_NATS_URL: no URL")
	}
	return strings.Join(urls, ","), nil
}

// ParseRoles checks BW_ROLES: a comma-separated subset of gateway, tracker, api; empty: all.
func ParseRoles(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return []string{RoleGateway, RoleTracker, RoleAPI}, nil
	}
	seen := map[string]bool{}
	var roles []string
	for _, r := range strings.Split(v, ",") {
		r = strings.TrimSpace(strings.ToLower(r))
		switch r {
		case RoleGateway, RoleTracker, RoleAPI:
		default:
			return nil, fmt.Errorf("BW_ROLES: unknown role %q (want gateway, tracker, api)", r)
		}
		if !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	return roles, nil
}
