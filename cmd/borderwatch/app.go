package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/borderwatch/borderwatch/cluster"
	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/ingest/gateway"
	"github.com/borderwatch/borderwatch/ingest/gt06"
	"github.com/borderwatch/borderwatch/ingest/jt600"
	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/ingest/osmand"
	"github.com/borderwatch/borderwatch/ingest/ratelimit"
	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/gangs"
	"github.com/borderwatch/borderwatch/tracker/notifier"
	"github.com/borderwatch/borderwatch/tracker/pgstore"
	"github.com/borderwatch/borderwatch/tracker/risk"
	"github.com/borderwatch/borderwatch/tracker/rules"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// defaultCheckEvery is how often the rules' timers run, on the data's clock: well within
// their shortest span (a meeting's ten minutes).
const defaultCheckEvery = 30 * time.Second

// app is one running BorderWatch server: store, geofence engine, pipeline, gateways, API.
type app struct {
	cfg      config
	log      *slog.Logger
	reg      *prometheus.Registry
	store    store
	access   *access.Service
	engine   geofence.Engine
	pipeline *tracker.Pipeline
	rules    *rules.Engine
	hub      *mapui.Hub
	risk     *risk.Scorer
	targets  *targeting.Service
	api      *mapui.Server
	notifier *notifier.Notifier

	// In a cluster (BW_NATS_URL): this process's roles, its connection, and with the tracker
	// role its tracker and the replay pipeline rebuilding state on takeovers. Alone: nil.
	roles   []string
	cluster *cluster.Conn
	tracker *cluster.Tracker
	replay  *tracker.Pipeline

	// With the embedded store: the store, its database file and the backup socket's listener
	// (nil if the socket could not be made).
	sqlite     *sqlitestore.Store
	sqlitePath string
	controlLn  net.Listener
	backupMu   sync.Mutex // one backup at a time: each stages a whole copy beside the store

	// tlsConfig is the certificate of the web app, the API and OsmAnd (BW_TLS_*); nil: plain HTTP.
	tlsConfig                         *tls.Config
	httpLn, jt808Ln, gt06Ln, osmandLn net.Listener
	jt600Ln                           net.Listener
	jt808                             *jt808.Server
	gt06                              *gt06.Server
	jt600                             *jt600.Server
	osmand                            *osmand.Server

	// AdminPassword is set when this start generated the admin's password.
	AdminPassword string
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// openStore opens the configured store, retrying while the database is unreachable so that a
// server started before its database comes up waits for it instead of failing.
func openStore(ctx context.Context, cfg config, log *slog.Logger, reg prometheus.Registerer) (store, error) {
	path := sqlitePath(cfg)
	if path == "" {
		return openPostgres(ctx, cfg, log)
	}
	if cfg.MaxUnflushedMB < 0 {
		return nil, fmt.Errorf("BW_MAX_UNFLUSHED_MB=%d: not negative (0: the default)", cfg.MaxUnflushedMB)
	}
	if cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	return sqlitestore.Open(ctx, path, sqlitestore.Options{SyncEveryCommit: cfg.SyncCommits, Logger: log, Registerer: reg,
		MaxUnflushedBytes: int64(cfg.MaxUnflushedMB) << 20})
}

func newEngine(cfg config) (geofence.Engine, error) {
	switch {
	case cfg.Geofence == "" || cfg.Geofence == "embedded":
		return geofence.NewEmbedded(geofence.Options{}), nil
	case strings.HasPrefix(cfg.Geofence, "tile38://"):
		return newTile38Engine(cfg)
	}
	return nil, fmt.Errorf("BW_GEOFENCE=%q: want embedded or tile38://host:port", cfg.Geofence)
}

// newApp builds the server and binds its listeners; run serves.
func newApp(ctx context.Context, cfg config, logw io.Writer) (*app, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	roles, err := clusterRoles(cfg)
	if err != nil {
		return nil, err
	}
	if roles != nil && !slices.Contains(roles, cluster.RoleGateway) {
		cfg.JT808Addr, cfg.GT06Addr, cfg.JT600Addr, cfg.OsmAndAddr = "", "", "", ""
	}
	a := &app{cfg: cfg, roles: roles, log: newLogger(logw, cfg.LogLevel), reg: prometheus.NewRegistry()}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ok := false
	defer func() {
		if !ok {
			a.close()
		}
	}()
	if a.tlsConfig, err = loadTLS(cfg.TLSCert, cfg.TLSKey); err != nil {
		return nil, err
	}
	cargoTol, err := cargoTolerance(cfg.CargoTolerance)
	if err != nil {
		return nil, err
	}
	if cfg.WeightTolerancePct < 0 || cfg.ScaleTolerancePct < 0 || cfg.WeighingGrace < 0 {
		return nil, fmt.Errorf("BW_WEIGHT_TOLERANCE_PCT, BW_SCALE_TOLERANCE_PCT and BW_WEIGHING_GRACE must not be negative")
	}
	if cfg.EmergencyWindow < 0 || cfg.EmergencyWindow > 12*time.Hour {
		return nil, fmt.Errorf("BW_EMERGENCY_WINDOW=%v: must be from 0 (the default, 2 h) to 12 h", cfg.EmergencyWindow)
	}
	switch {
	case cfg.CheckEvery == 0:
		a.cfg.CheckEvery = defaultCheckEvery
	case cfg.CheckEvery < time.Second || cfg.CheckEvery > time.Minute:
		return nil, fmt.Errorf("BW_CHECK_EVERY=%v: must be from 1s to 1m (the default, 30s)", cfg.CheckEvery)
	}
	if cfg.CrossingGapMax < 0 {
		return nil, fmt.Errorf("BW_CROSSING_GAP_MAX=%v: must not be negative", cfg.CrossingGapMax)
	}
	if a.store, err = openStore(ctx, cfg, a.log, a.reg); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if st, ok := a.store.(*sqlitestore.Store); ok {
		a.sqlite, a.sqlitePath = st, sqlitePath(cfg)
		if a.controlLn, err = listenControl(a.sqlitePath + ".sock"); err != nil {
			a.log.Warn("no backup socket: borderwatch backup works only with the server stopped", "err", err)
		}
	}
	if a.access, err = newAccess(ctx, cfg, a.store, a.log, true); err != nil {
		return nil, err
	}
	if a.AdminPassword, err = a.access.EnsureAdmin(ctx, cfg.AdminPassword); err != nil {
		return nil, fmt.Errorf("admin user: %w", err)
	}
	warnings := a.storeWarnings(ctx)
	if roles != nil {
		// Before the zones, declarations and vehicles are read: the change log is followed from
		// its end at the dial, so an edit committed meanwhile is applied, not missed.
		if err := a.dialCluster(ctx); err != nil {
			return nil, err
		}
	}
	zones, err := a.store.Zones(ctx)
	if err != nil {
		return nil, err
	}
	if len(zones) == 0 {
		if zones, err = a.store.PutZones(ctx, district.Zones()); err != nil {
			return nil, fmt.Errorf("default zones: %w", err)
		}
		a.log.Info("loaded the default Hohhot Customs district", "zones", len(zones))
	}
	if a.engine, err = newEngine(cfg); err != nil {
		return nil, err
	}
	if t38, ok := a.engine.(*geofence.Tile38); ok {
		registerTile38Metrics(a.reg, t38)
	}
	if err := a.engine.SetZones(ctx, zones); err != nil {
		return nil, fmt.Errorf("geofence: %w", err)
	}
	if err := a.newNotifier(); err != nil {
		return nil, err
	}
	a.hub = mapui.NewHub(a.log, a.reg)
	a.risk = risk.New(risk.Config{Now: cfg.Now})
	if err := a.risk.Load(ctx, a.store); err != nil {
		return nil, err
	}
	a.targets = targeting.New(targeting.Config{Store: a.store, Audit: a.access, Notify: a.hub, Now: cfg.Now,
		EscalateAfter: cfg.EscalateAfter, RandomShare: cfg.RandomTargetShare,
		Rand: targeting.NewRand(cfg.RandomSeed), Logger: a.log, Registerer: a.reg})
	a.targets.SetZones(zones)
	if err := a.targets.Load(ctx); err != nil {
		return nil, err
	}
	if err := a.learnRisk(ctx); err != nil {
		return nil, err
	}
	a.rules = rules.New(rules.Config{Engine: a.engine, Store: a.store, Logger: a.log, Registerer: a.reg, Now: cfg.Now,
		CrossingGapMax: cfg.CrossingGapMax, WeightTolerancePct: cfg.WeightTolerancePct, CargoTolerancePct: cargoTol,
		ScaleTolerancePct: cfg.ScaleTolerancePct, WeighingGrace: cfg.WeighingGrace, Owns: a.owns})
	// A cluster's trackers replay a partition's fixes when they take it over, not here.
	var replay func(context.Context, []tracker.Fix) error
	if a.cluster == nil {
		replay = a.replayRecent
	}
	if err := a.rules.LoadReplaying(ctx, replay); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var live tracker.Publisher = publishers{a.hub, a.risk, a.targets}
	if a.cluster != nil {
		// Every api node's hub and ranking are fed from NATS, this one's too.
		live = cluster.NewLivePublisher(a.cluster)
	}
	a.pipeline = tracker.NewPipeline(tracker.PipelineConfig{
		Store:      a.store,
		Evaluator:  a.rules,
		Publisher:  live,
		Logger:     a.log,
		Registerer: a.reg,
		Now:        cfg.Now,
	})
	latest, err := a.store.LatestFixes(ctx)
	if err != nil {
		return nil, err
	}
	a.pipeline.Seed(latest)
	// Alone, the gateways hand fixes to the pipeline; in a cluster to JetStream, and the
	// tracker owning the vehicle's partition hands them to its pipeline. Gate reads and the
	// terminals' other reports are judged and committed here alone, by the owner in a cluster.
	var sink tracker.Sink = a.pipeline
	var events judgedSink = judgedEvents{a.rules, a.pipeline}
	var ingest mapui.Ingest = a.pipeline
	var gateJudge func(context.Context, tracker.GateRead) (tracker.Event, []tracker.Alert, error)
	var weighingCommit func(context.Context, tracker.Weighing) (tracker.Weighing, []tracker.Alert, error)
	if a.cluster != nil {
		router := cluster.NewRouter(a.cluster, a.rules.GateVehicle)
		events, ingest, gateJudge, weighingCommit = router, router, router.JudgeGate, router.Weighing
		sink = cluster.NewGateway(a.cluster, cfg.Now)
		if a.hasRole(cluster.RoleTracker) {
			a.newTracker()
		}
	}

	// A remote geofence backend that does not answer makes the server unready: its fixes are
	// refused until it is back.
	ready := func(context.Context) error { return a.clusterReady() }
	if p, ok := a.engine.(interface{ Ping(context.Context) error }); ok {
		ready = func(ctx context.Context) error {
			if err := a.clusterReady(); err != nil {
				return err
			}
			if err := p.Ping(ctx); err != nil {
				// /readyz is public: the address and the error stay in the log.
				a.log.Warn("not ready: geofence backend", "err", err)
				return errors.New("geofence: tile38 not answering")
			}
			return nil
		}
	}
	proxies, err := trustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	zonesChanged, declarationsChanged, vehiclesChanged := a.changeNotices(func(ctx context.Context, zs []geofence.Zone) error {
		a.rules.ZonesChanged(zs)
		a.targets.SetZones(zs)
		return a.engine.SetZones(ctx, zs)
	})
	var clusterStatus func(context.Context) (any, error)
	if a.cluster != nil {
		clusterStatus = a.clusterStatus
	}
	a.api = mapui.NewServer(mapui.Config{
		TrustedProxies:      proxies,
		Ready:               ready,
		Warnings:            func() []string { return warnings },
		Store:               a.store,
		Access:              a.access,
		Ingest:              ingest,
		Gates:               a.rules,
		GateJudge:           gateJudge,
		Weighings:           a.rules,
		WeighingCommit:      weighingCommit,
		ScaleTolerancePct:   cfg.ScaleTolerancePct,
		EmergencyWindow:     cfg.EmergencyWindow,
		Hub:                 a.hub,
		Risk:                a.risk,
		Targets:             a.targets,
		Logger:              a.log,
		Gatherer:            a.reg,
		Now:                 cfg.Now,
		ClockSpeedup:        cfg.ClockSpeedup,
		UnitBufferM:         cfg.UnitBufferKm * 1000,
		LiveRecheck:         cfg.LiveRecheck,
		DeclarationsChanged: declarationsChanged,
		VehiclesChanged:     vehiclesChanged,
		ZonesChanged:        zonesChanged,
		Cluster:             clusterStatus,
		Webhooks:            mapui.WebhookSettings{Configured: a.notifier.Configured(), AllowPrivate: cfg.WebhookAllowPrivate, Changed: a.notifier.Reload},
	}, a.reg)

	admission := &tracker.Admission{Devices: a.store, Registrations: a.store, AcceptUnknown: cfg.AcceptUnknown}
	// One limiter for the three gateways: a device is limited once whichever port it uses.
	limits, err := ratelimit.New(ratelimit.Config{
		ConnFrames:  ratelimit.Limit{Rate: cfg.ConnFrameRate, Burst: cfg.ConnFrameBurst},
		DeviceFixes: ratelimit.Limit{Rate: cfg.DeviceFixRate, Burst: cfg.DeviceFixBurst},
	})
	if err != nil {
		return nil, err
	}
	// The TCP gateways cap the connections per address themselves; OsmAnd's HTTP server
	// gets a capped listener.
	if cfg.JT808Addr != "" {
		if a.jt808, err = jt808.NewServer(jt808.Config{Sink: sink, Events: events, Alerts: a.pipeline, Admission: admission, Logger: a.log, Registerer: a.reg,
			MaxConns: cfg.MaxConns, MaxConnsPerAddr: cfg.MaxConnsPerAddr, IdleTimeout: cfg.IdleTimeout, Limits: limits}); err != nil {
			return nil, err
		}
		if a.jt808Ln, err = net.Listen("tcp", cfg.JT808Addr); err != nil {
			return nil, fmt.Errorf("JT/T 808 listener: %w", err)
		}
	}
	if cfg.GT06Addr != "" {
		if a.gt06, err = gt06.NewServer(gt06.Config{Sink: sink, Events: events, Alerts: a.pipeline, Admission: admission, Logger: a.log, Registerer: a.reg, TrackerClock: cfg.Now,
			MaxConns: cfg.MaxConns, MaxConnsPerAddr: cfg.MaxConnsPerAddr, IdleTimeout: cfg.IdleTimeout, Limits: limits}); err != nil {
			return nil, err
		}
		if a.gt06Ln, err = net.Listen("tcp", cfg.GT06Addr); err != nil {
			return nil, fmt.Errorf("GT06 listener: %w", err)
		}
	}
	if cfg.JT600Addr != "" {
		if a.jt600, err = jt600.NewServer(jt600.Config{Sink: sink, Admission: admission, Logger: a.log, Registerer: a.reg,
			MaxConns: cfg.MaxConns, MaxConnsPerAddr: cfg.MaxConnsPerAddr, IdleTimeout: cfg.IdleTimeout, Limits: limits}); err != nil {
			return nil, err
		}
		if a.jt600Ln, err = net.Listen("tcp", cfg.JT600Addr); err != nil {
			return nil, fmt.Errorf("JT600 listener: %w", err)
		}
	}
	if cfg.OsmAndAddr != "" {
		if a.osmand, err = osmand.NewServer(osmand.Config{Sink: sink, Admission: admission, Logger: a.log, Registerer: a.reg, Limits: limits, TLS: a.tlsConfig}); err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", cfg.OsmAndAddr)
		if err != nil {
			return nil, fmt.Errorf("OsmAnd listener: %w", err)
		}
		if a.osmandLn, err = gateway.NewListener(ln, gateway.ListenerConfig{MaxConnsPerAddr: cfg.MaxConnsPerAddr,
			Protocol: tracker.ProtocolOsmAnd, Logger: a.log, Registerer: a.reg}); err != nil {
			ln.Close()
			return nil, fmt.Errorf("OsmAnd listener: %w", err)
		}
	}
	if a.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("HTTP listener: %w", err)
	}
	ok = true
	return a, nil
}

// run serves until ctx ends, then shuts down in order: stop accepting, let gateways finish
// what they have (each acknowledged fix is already stored), flush the pipeline, close the store.
func (a *app) run(ctx context.Context) error {
	defer a.close()
	hubCtx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	go a.hub.Run(hubCtx)
	// The audit chain is anchored from the start until the API has stopped: its last anchor
	// holds every record of this run.
	anchorCtx, stopAnchors := context.WithCancel(context.Background())
	defer stopAnchors()
	anchorsDone := make(chan struct{})
	go func() {
		defer close(anchorsDone)
		every := a.cfg.AuditAnchorEvery
		if every <= 0 {
			every = defaultAnchorEvery
		}
		a.access.RunAnchors(anchorCtx, every)
	}()
	rulesCtx, stopRules := context.WithCancel(context.Background())
	defer stopRules()
	rulesDone := make(chan struct{})
	go func() {
		defer close(rulesDone)
		if a.hasRole(cluster.RoleTracker) {
			a.pipeline.RunChecks(rulesCtx, a.rules, a.cfg.CheckEvery)
		}
	}()
	targetsDone := make(chan struct{})
	go func() {
		defer close(targetsDone)
		a.targets.Run(rulesCtx)
	}()
	go a.keepLearning(rulesCtx)
	clusterCtx, stopCluster := context.WithCancel(context.Background())
	defer stopCluster()
	var trackerDone <-chan struct{}
	if a.cluster != nil {
		var err error
		if trackerDone, err = a.runCluster(clusterCtx); err != nil {
			return err
		}
	}

	gwCtx, stopGateways := context.WithCancel(context.Background())
	defer stopGateways()
	var wg sync.WaitGroup
	errc := make(chan error, 5)
	serve := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	if a.jt808 != nil {
		serve("jt808", func() error { return a.jt808.Serve(gwCtx, a.jt808Ln) })
	}
	if a.gt06 != nil {
		serve("gt06", func() error { return a.gt06.Serve(gwCtx, a.gt06Ln) })
	}
	if a.jt600 != nil {
		serve("jt600", func() error { return a.jt600.Serve(gwCtx, a.jt600Ln) })
	}
	if a.osmand != nil {
		serve("osmand", func() error { return a.osmand.Serve(gwCtx, a.osmandLn) })
	}
	if a.cfg.PprofAddr != "" {
		// Profiles on a listener of their own, never on the public API port. Blocking and
		// contended locks are sampled too (one event per 100 µs blocked, one contention in
		// 100): that is where a stall shows that the CPU profile cannot see.
		runtime.SetBlockProfileRate(int(100 * time.Microsecond))
		runtime.SetMutexProfileFraction(100)
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		pp := &http.Server{Addr: a.cfg.PprofAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go pp.ListenAndServe()
		defer pp.Close()
	}
	httpSrv := newHTTPServer(a.api.Handler(), a.tlsConfig, apiTimeouts)
	controlSrv := a.controlServer()
	if a.controlLn != nil {
		serve("backup socket", func() error { return controlSrv.Serve(a.controlLn) })
	}
	if a.tlsConfig != nil {
		serve("https", func() error { return httpSrv.ServeTLS(a.httpLn, "", "") })
	} else {
		serve("http", func() error { return httpSrv.Serve(a.httpLn) })
	}
	if pg, ok := a.store.(*pgstore.Store); ok {
		go a.maintainPostgres(rulesCtx, pg)
	}
	// The notifier stops after the pipeline, before the store closes; what it has not sent waits
	// in the outbox for the next start.
	notifyCtx, stopNotifier := context.WithCancel(context.Background())
	defer stopNotifier()
	notifierDone := make(chan struct{})
	go func() {
		defer close(notifierDone)
		a.notifier.Run(notifyCtx)
	}()
	a.log.Info("BorderWatch serving", "http", a.httpLn.Addr().String(), "jt808", addrOf(a.jt808Ln), "gt06", addrOf(a.gt06Ln), "jt600", addrOf(a.jt600Ln), "osmand", addrOf(a.osmandLn))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	httpSrv.Shutdown(shutCtx)
	stopAnchors()
	<-anchorsDone
	controlSrv.Shutdown(shutCtx) // a backup under way finishes first
	stopGateways()
	wg.Wait()
	stopRules()
	<-rulesDone
	<-targetsDone
	if a.cluster != nil {
		// The tracker acknowledges its batches under way and frees its leases: the other
		// trackers take its partitions at once.
		stopCluster()
		<-trackerDone
	}
	a.pipeline.Close()
	stopNotifier()
	<-notifierDone
	a.log.Info("stopped")
	return runErr
}

// storeWarnings reports, and audits, what the store found damaged when it opened. The server
// stays ready: what was lost is lost, and leaving the load balancer would only stop new fixes
// too; the warning stays on /readyz until the next start, beside the log line and the metric.
func (a *app) storeWarnings(ctx context.Context) []string {
	if a.sqlite == nil {
		return nil
	}
	d := a.sqlite.LogDamage()
	if d.Records == 0 && d.Bytes == 0 {
		return nil
	}
	a.access.Record(ctx, "system", "store.fixlog_damaged", "fix log", "lost", d)
	return []string{fmt.Sprintf("fix log damaged at startup: %d records lost (%d bytes skipped in %d segments; copies kept beside them as .damaged)",
		d.Records, d.Bytes, len(d.Segments))}
}

// httpTimeouts bound how long one client may hold the API's connections.
type httpTimeouts struct {
	// Header is the time to send a request's headers, however slowly they trickle in
	// (slowloris); Read the time for the whole request, body included (a zone import of
	// megabytes over a slow link).
	Header, Read time.Duration
	// Write bounds writing an answer, so a client that stops reading does not hold its
	// connection forever; a month's track export must fit. The live WebSocket is not bound by
	// it: the upgrade clears the connection's deadlines and the hub sets its own per message.
	Write time.Duration
	// Idle closes a kept-alive connection with no request.
	Idle time.Duration
}

var apiTimeouts = httpTimeouts{Header: 10 * time.Second, Read: 2 * time.Minute, Write: 10 * time.Minute, Idle: 2 * time.Minute}

// newHTTPServer is the API's server: bounded in time and header size, HTTPS when tc is set.
func newHTTPServer(h http.Handler, tc *tls.Config, t httpTimeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tc,
		ReadHeaderTimeout: t.Header,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
	}
}

// loadTLS reads the certificate and key of BW_TLS_CERT and BW_TLS_KEY: nil when neither is set.
// A renewed certificate is read at the next start.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("BW_TLS_CERT and BW_TLS_KEY go together: set both or neither")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// maintainPostgres follows zone edits made by other servers and keeps the fix partitions ahead
// of time and within retention.
func (a *app) maintainPostgres(ctx context.Context, pg *pgstore.Store) {
	go pg.WatchZones(ctx, func(string) {
		zs, err := a.store.Zones(ctx)
		if err == nil {
			a.rules.ZonesChanged(zs)
			a.targets.SetZones(zs)
			err = a.engine.SetZones(ctx, zs)
		}
		if err != nil && ctx.Err() == nil {
			a.log.Error("reloading zones after a change on another server", "err", err)
		}
	})
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := pg.Maintain(ctx, time.Now()); err != nil {
				a.log.Warn("PostgreSQL partition maintenance", "err", err)
			}
		}
	}
}

// newNotifier sets up webhooks from the settings. It runs without hooks too: it then marks the
// outbox's changes as routed to nobody and prunes them, so the outbox does not grow.
func (a *app) newNotifier() error {
	hooks, err := notifier.ParseHooks(a.cfg.WebhookURLs, a.cfg.WebhookSecret, a.cfg.WebhooksFile)
	if err != nil {
		return err
	}
	a.notifier, err = notifier.New(notifier.Config{Outbox: a.store, Hooks: hooks, Timeout: a.cfg.WebhookTimeout, Logger: a.log, Registerer: a.reg,
		Source: a.screenHooks, AllowPrivate: a.cfg.WebhookAllowPrivate})
	for _, h := range hooks {
		a.log.Info("webhook", "name", h.Name, "signed", h.Secret != "")
	}
	return err
}

// screenHooks are the enabled webhook receivers added from the screens as the notifier sends
// to them: guarded (public addresses only, unless allowed), their ports turned into those ports'
// zones, read again so a zone added to a port later counts.
func (a *app) screenHooks(ctx context.Context) ([]notifier.Hook, error) {
	rs, err := a.store.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	var zones []geofence.Zone
	var hooks []notifier.Hook
	for _, r := range rs {
		if !r.Enabled {
			continue
		}
		h := notifier.Hook{Name: r.Name, URL: r.URL, Secret: r.Secret, MinSeverity: r.MinSeverity, Types: r.Types, Guarded: true}
		if len(r.Ports) > 0 {
			if zones == nil {
				if zones, err = a.store.Zones(ctx); err != nil {
					return nil, err
				}
			}
			// The ports themselves first, so a port whose zones are gone still filters.
			h.Zones = slices.Clone(r.Ports)
			for _, z := range zones {
				if p, ok := z.Properties["port_id"].(string); ok && slices.Contains(r.Ports, p) {
					h.Zones = append(h.Zones, z.ID)
				}
			}
		}
		hooks = append(hooks, h)
	}
	return hooks, nil
}

// learnEvery is how often the risk weights learn again from the inspections' hit rates.
const learnEvery = 10 * time.Minute

// learnRisk weighs the risk ranking's alert types by their orders' hit rates of the last 90
// days of the data's clock, and gives it the patterns of findPatterns.
func (a *app) learnRisk(ctx context.Context) error {
	now := a.cfg.Now()
	st, err := a.targets.Stats(ctx, targeting.Actor{Username: "system", Unit: tracker.UnitDistrict}, now.AddDate(0, 0, -risk.LearnWindow), time.Time{})
	if err != nil {
		return fmt.Errorf("risk: hit rates: %w", err)
	}
	hits := map[string]risk.Hits{}
	for _, r := range st.Rows {
		h := hits[r.Source]
		h.Inspected += r.Inspected
		h.Found += r.Found
		hits[r.Source] = h
	}
	a.risk.Learn(hits)
	return a.findPatterns(ctx, now)
}

// findPatterns gives the risk ranking the co-travel groups of the 30 days to now, the repeat
// offenders and the resident cars moving goods like ants.
func (a *app) findPatterns(ctx context.Context, now time.Time) error {
	cfg := gangs.Config{}.Defaults()
	events, err := a.store.Events(ctx, tracker.EventQuery{Type: tracker.EventBorderCross, From: now.Add(-cfg.Window), To: now.Add(time.Minute)})
	if err != nil {
		return fmt.Errorf("risk: co-travel groups: %w", err)
	}
	meetings, err := a.store.Alerts(ctx, tracker.AlertQuery{Type: tracker.AlertMeeting, From: now.Add(-cfg.Window), To: now.Add(time.Minute)})
	if err != nil {
		return fmt.Errorf("risk: meetings: %w", err)
	}
	members := map[string]risk.Membership{}
	for _, g := range gangs.Find(events, meetings, now, cfg) {
		for _, id := range g.Members {
			members[id] = risk.Membership{GroupID: g.ID, Others: slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == id }), Trips: len(g.Trips),
				Meetings: len(g.Meetings)}
		}
	}
	a.risk.SetGroups(members)
	orders, err := a.store.Targets(ctx, tracker.TargetQuery{Status: tracker.TargetClosed, From: now.Add(-risk.FindingsWindow)})
	if err != nil {
		return fmt.Errorf("risk: earlier findings: %w", err)
	}
	drivers, err := a.store.Events(ctx, tracker.EventQuery{Type: tracker.EventDriverIdentity, From: now.Add(-risk.CardWindow)})
	if err != nil {
		return fmt.Errorf("risk: driver cards: %w", err)
	}
	confirmed, err := a.store.Confirmations(ctx, now.Add(-risk.FindingsWindow))
	if err != nil {
		return fmt.Errorf("risk: confirmed alerts: %w", err)
	}
	vehicles, err := a.store.Vehicles(ctx)
	if err != nil {
		return fmt.Errorf("risk: vehicles: %w", err)
	}
	a.risk.SetOffenders(risk.Offenders(orders, confirmed, drivers, vehicles))
	residents := map[string]bool{}
	for _, v := range vehicles {
		if v.Kind == tracker.KindResidentCar {
			residents[v.ID] = true
		}
	}
	// The groups' 30 days of crossings cover the ant-moving pattern's four weeks.
	a.risk.SetAnts(risk.FindAnts(events, residents, now))
	return a.findGradeOrigins(ctx, now)
}

// gradeDeclarations bounds the declarations, newest first, read for grade_origin: far more
// than a district clears in the day it judges.
const gradeDeclarations = 20000

// findGradeOrigins gives the risk ranking the graded declarations whose trucks loaded at a mine
// of another grade: the stops of their vehicles only, each read on its own.
func (a *app) findGradeOrigins(ctx context.Context, now time.Time) error {
	zones, err := a.store.Zones(ctx)
	if err != nil {
		return fmt.Errorf("risk: mines: %w", err)
	}
	mines := risk.Mines(zones)
	decls, err := a.store.Declarations(ctx, tracker.DeclarationQuery{Limit: gradeDeclarations})
	if err != nil {
		return fmt.Errorf("risk: declared grades: %w", err)
	}
	var stops []tracker.Event
	if len(mines) > 0 {
		for _, id := range risk.GradedVehicles(decls, now) {
			es, err := a.store.Events(ctx, tracker.EventQuery{VehicleID: id, Type: tracker.EventStopEnd, From: now.Add(-risk.GradeHistory), To: now.Add(time.Minute)})
			if err != nil {
				return fmt.Errorf("risk: loadings: %w", err)
			}
			stops = append(stops, es...)
		}
	}
	a.risk.SetGradeOrigins(risk.GradeOrigins(decls, stops, mines, now))
	return nil
}

func (a *app) keepLearning(ctx context.Context) {
	t := time.NewTicker(learnEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.learnRisk(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("learning risk weights", "err", err)
			}
		}
	}
}

// publishers hands the pipeline's commits to each of its publishers in turn.
type publishers []tracker.Publisher

func (ps publishers) Publish(fixes []tracker.Fix, events []tracker.Event, alerts []tracker.Alert) {
	for _, p := range ps {
		p.Publish(fixes, events, alerts)
	}
}

// judgedSink is where the gateways send what terminals report besides positions.
type judgedSink interface {
	Emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error
}

// judgedEvents commits what terminals report besides positions (driver identity, waybills,
// alarms without a position) after the rules have judged it: a driver's card may raise
// driver_mismatch, an alarm sos. The rules return what to commit, as for gate reads.
type judgedEvents struct {
	rules    *rules.Engine
	pipeline *tracker.Pipeline
}

func (j judgedEvents) Emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error {
	var out tracker.Outcome
	for _, ev := range events {
		o := j.rules.Event(ctx, ev)
		out.Events = append(out.Events, o.Events...)
		out.Alerts = append(out.Alerts, o.Alerts...)
	}
	return j.pipeline.Emit(ctx, out.Events, append(out.Alerts, alerts...))
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}

func (a *app) close() {
	for _, ln := range []net.Listener{a.httpLn, a.jt808Ln, a.gt06Ln, a.jt600Ln, a.osmandLn, a.controlLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if a.pipeline != nil {
		a.pipeline.Close()
	}
	if a.replay != nil {
		a.replay.Close()
	}
	if a.cluster != nil {
		a.cluster.Close()
	}
	if a.engine != nil {
		a.engine.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
}
