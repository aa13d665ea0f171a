package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/internal/loopback"
	"github.com/borderwatch/borderwatch/sim"
)

// benchResult is what `borderwatch bench --json` prints. The top-level figures are those of
// the default mode (group commits without fsync); Sync holds the row with --sync-commits.
type benchResult struct {
	benchRow
	AlertP50Ms     float64      `json:"alert_p50_ms"`
	AlertP99Ms     float64      `json:"alert_p99_ms"`
	AlertsMeasured int          `json:"alerts_measured"`
	RSSMB          float64      `json:"rss_mb"`
	RSSPerConnKB   float64      `json:"rss_per_idle_conn_kb"`
	IdleConns      int          `json:"idle_connections"`
	Zones          int          `json:"zones"`
	Geofence       string       `json:"geofence"`
	Store          string       `json:"store"` // sqlite, or postgres (the database's name left out)
	FramesPerWrite int          `json:"frames_per_write"`
	Items          bool         `json:"items"`
	LoadAvg        [2]string    `json:"load_avg"` // the machine's 1-minute load average at start and end
	Machine        benchMachine `json:"machine"`
	// Tile38SetPerS is bare Tile38's rate in the same run (--tile38-reference), beside the details.
	Tile38SetPerS float64   `json:"tile38_set_per_s,omitempty"`
	Sync          *benchRow `json:"sync,omitempty"`
	// Tile38 is bare Tile38 measured in the same run (--tile38-reference): the yardstick.
	Tile38 *tile38Reference `json:"tile38_reference,omitempty"`
}

// benchRow is the sustained rate of one storage mode: the highest offered rate whose fixes
// were all acknowledged within the step and whose ack p99 stayed under --max-p99.
type benchRow struct {
	SyncEveryCommit bool        `json:"sync_every_commit"`
	FixesPerS       float64     `json:"fixes_per_s"`
	AckP50Ms        float64     `json:"ack_p50_ms"`
	AckP99Ms        float64     `json:"ack_p99_ms"`
	Connections     int         `json:"connections"`
	CPUPercent      float64     `json:"cpu_percent"` // the server's, of one core
	ServerUsPerFix  float64     `json:"server_cpu_us_per_fix"`
	GenCPUPercent   float64     `json:"generator_cpu_percent"`
	GenUsPerFix     float64     `json:"generator_cpu_us_per_fix"`
	DBUsPerFix      float64     `json:"db_backend_cpu_us_per_fix,omitempty"`
	Tile38          *tile38Cost `json:"tile38,omitempty"`
	Steps           []benchStep `json:"steps"`
	profile         []byte
}

// benchMachine names what the figures were measured on, so that they can be reproduced.
type benchMachine struct {
	CPUModel string `json:"cpu_model"`
	CPUs     int    `json:"cpus"`
	GOOS     string `json:"goos"`
	GOARCH   string `json:"goarch"`
}

// benchStep is one offered rate: the median of its trials, each figure on its own, with the
// spread of the acknowledged rate and of the ack p99 over the trials.
type benchStep struct {
	OfferedPerS    float64    `json:"offered_per_s"`
	Trials         int        `json:"trials"`
	AckedRange     [2]float64 `json:"acked_per_s_range"`
	AckP99Range    [2]float64 `json:"ack_p99_ms_range"`
	AckedPerS      float64    `json:"acked_per_s"`
	AckP50Ms       float64    `json:"ack_p50_ms"`
	AckP99Ms       float64    `json:"ack_p99_ms"`
	CPUPercent     float64    `json:"cpu_percent"`
	ServerUsPerFix float64    `json:"server_cpu_us_per_fix"`
	GenCPUPercent  float64    `json:"generator_cpu_percent"`
	GenUsPerFix    float64    `json:"generator_cpu_us_per_fix"`
	// DBUsPerFix is the CPU of the PostgreSQL backends serving the server's database, on this
	// machine, per acknowledged fix (0 with SQLite, or a database server elsewhere).
	DBUsPerFix float64     `json:"db_backend_cpu_us_per_fix,omitempty"`
	Tile38     *tile38Cost `json:"tile38,omitempty"`
	KeptUp     bool        `json:"kept_up"`
	// TrialRuns are the step's trials one by one, in the order they ran: which was slow, when,
	// and in which second of it.
	TrialRuns []benchTrial `json:"trial_runs,omitempty"`
	profile   []byte
}

// benchTrial is one trial of a step on its own.
type benchTrial struct {
	At            string    `json:"at"` // when measuring began, UTC
	AckedPerS     float64   `json:"acked_per_s"`
	AckP50Ms      float64   `json:"ack_p50_ms"`
	AckP99Ms      float64   `json:"ack_p99_ms"`
	AckMaxMs      float64   `json:"ack_max_ms"`
	CPUPercent    float64   `json:"cpu_percent"`
	GenCPUPercent float64   `json:"generator_cpu_percent"`
	SecondP99Ms   []float64 `json:"second_p99_ms"` // of the frames sent in each second of the trial
	SecondMaxMs   []float64 `json:"second_max_ms"`
}

type benchOptions struct {
	duration       time.Duration
	warmup         time.Duration
	conns          int
	start, maxRate int
	refine         int
	trials         int
	maxP99         time.Duration
	framesPerWrite int
	items          bool
	profile        bool
	alertProbes    int
	say            func(string, ...any)
}

// benchBackends are the server's store and geofence engine in a bench: store is "sqlite" (a
// fresh data directory) or a postgres:// URL, in whose server a fresh database is created for
// each server started and dropped after; geofence is BW_GEOFENCE's value.
type benchBackends struct {
	store, geofence string
}

// benchCommand starts a server in a child process (embedded backends, the district plus
// synthetic zones, a temporary data directory) and drives it from this process over real
// JT/T 808 TCP connections: the rate rises by half until acknowledgements fall behind, then
// is bisected between the last rate that kept up and the first that did not.
func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOptions
	fs.DurationVar(&o.duration, "duration", 8*time.Second, "length of each rate step")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "sending at each step's rate before measuring it (each step's terminals are new devices to the server)")
	fs.IntVar(&o.conns, "connections", 2000, "terminal connections driving the load")
	idle := fs.Int("idle", 5000, "idle connections opened to measure memory per connection")
	zones := fs.Int("zones", 300, "synthetic polygon zones added to the district")
	fs.IntVar(&o.start, "start-rate", 20000, "first offered rate, fixes/s")
	fs.IntVar(&o.maxRate, "max-rate", 400000, "stop raising the rate here")
	fs.IntVar(&o.refine, "refine", 3, "bisection steps between the last rate that kept up and the first that did not")
	fs.IntVar(&o.trials, "trials", 3, "times each rate is offered; a step's figures are the medians, so one stall does not decide it")
	fs.DurationVar(&o.maxP99, "max-p99", 50*time.Millisecond, "a step keeps up only with its ack p99 under this (the target: 50 ms)")
	fs.IntVar(&o.alertProbes, "alert-probes", 40, "vehicles crossing the border, one after the other, to measure fix → alert latency (its p99 is the slowest of fewer than 100)")
	fs.IntVar(&o.framesPerWrite, "frames-per-write", 16, "0x0200 frames a terminal pipelines in one write")
	fs.BoolVar(&o.items, "items", true, "frames carry mileage, signal and satellite items, as most terminals send")
	syncCommits := fs.Bool("sync-commits", false, "also measure with an fsync every group commit (survives power loss), as a second row")
	profile := fs.String("profile", "", "write the server's CPU profile of the highest rate that kept up to this file")
	asJSON := fs.Bool("json", false, "print one JSON object")
	var be benchBackends
	fs.StringVar(&be.store, "store", "sqlite", "the server's store: sqlite, or postgres://… (a fresh database is created beside the one named, and dropped after)")
	fs.StringVar(&be.geofence, "geofence", envOr("BW_GEOFENCE", "embedded"), "the server's geofence engine: embedded or tile38://host:port")
	reference := fs.String("tile38-reference", "", "also measure bare Tile38 at this address (host:port) with the same polygons, the border and 10,000 vehicles")
	var fo fleetOptions
	fs.IntVar(&fo.vehicles, "fleet", 0, "measure memory instead: this many vehicles connected, each sending at one pace for --fleet-for; prints the server's RSS empty, with the fleet, and per 10,000 vehicles")
	fs.IntVar(&fo.rate, "fleet-rate", 0, "with --fleet: fixes/s over the fleet (0: one a vehicle every 10 s, a field rate)")
	fs.DurationVar(&fo.run, "fleet-for", 6*time.Minute, "with --fleet: how long the fleet sends (at 10 s a fix, the rules' history of recent fixes fills in 6 min, and the store flushes a head within 3 min)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fo.vehicles > 0 {
		return benchFleetCommand(ctx, fo, be, *zones, *asJSON, o.items, o.framesPerWrite, stdout, stderr)
	}
	if o.trials < 1 {
		return errors.New("bench: --trials must be at least 1")
	}
	if o.alertProbes < 1 || o.alertProbes > 1000 {
		return errors.New("bench: --alert-probes must be 1 to 1000")
	}
	if *reference != "" {
		// Checked first: the reference is measured last, after minutes of load.
		c, err := net.DialTimeout("tcp", *reference, 2*time.Second)
		if err != nil {
			return fmt.Errorf("bench: --tile38-reference: %w", err)
		}
		c.Close()
	}
	o.profile = *profile != ""
	o.say = func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stdout, format+"\n", a...)
		}
	}
	if be.store != "sqlite" && !strings.HasPrefix(be.store, "postgres://") && !strings.HasPrefix(be.store, "postgresql://") {
		return fmt.Errorf("bench: --store %q: want sqlite or postgres://…", be.store)
	}
	res := benchResult{Geofence: be.geofence, Store: "sqlite", FramesPerWrite: o.framesPerWrite, Items: o.items}
	if be.store != "sqlite" {
		res.Store = "postgres"
	}
	res.LoadAvg[0] = loadAvg()
	res.Machine = benchMachine{CPUModel: cpuModel(), CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	o.say("machine: %s, %d CPUs, load average %s; %d connections, %d frames per write, items %v, %d trials per rate",
		res.Machine.CPUModel, res.Machine.CPUs, res.LoadAvg[0], o.conns, o.framesPerWrite, o.items, o.trials)

	srv, err := startBenchServer(ctx, false, be, stderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	if res.Zones, err = srv.importSynthetic(ctx, *zones); err != nil {
		return err
	}
	o.say("server pid %d, store %s, %d zones, geofence %s, profiles at http://%s/debug/pprof/", srv.cmd.Process.Pid, res.Store, res.Zones, res.Geofence, srv.pprof)
	phone := uint64(14000000000)
	// Memory per idle connection, on the server before any load: later its heap has free
	// space that new connections fill without raising RSS, and background flushes move it.
	srv.settle()
	rssBefore := srv.collectedRSSKB(ctx)
	held, err := openIdle(ctx, srv.jt808, *idle, phone)
	if err != nil {
		return err
	}
	phone += uint64(*idle)
	time.Sleep(2 * time.Second)
	rssIdle := srv.collectedRSSKB(ctx)
	for _, c := range held {
		c.Close()
	}
	res.IdleConns = len(held)
	if len(held) > 0 {
		res.RSSPerConnKB = float64(rssIdle-rssBefore) / float64(len(held))
	}
	row, err := benchRamp(ctx, srv, o, &phone)
	if err != nil {
		return err
	}
	res.benchRow = row

	// Fix-to-alert latency at half the sustained rate: probe vehicles cross the border far from
	// any port while the load runs, and the alert is awaited on the live WebSocket.
	half := max(int(row.FixesPerS/2), 1000)
	o.say("alert latency at %d fixes/s…", half)
	lats, err := srv.alertLatencies(ctx, half, o, phone)
	if err != nil {
		return err
	}
	phone += uint64(o.conns)
	if len(lats) > 0 {
		slices.Sort(lats)
		res.AlertP50Ms, res.AlertP99Ms, res.AlertsMeasured = ms(lats[len(lats)/2]), ms(lats[len(lats)*99/100]), len(lats)
	}

	res.RSSMB = float64(srv.rssKB()) / 1024
	srv.stop()

	if *syncCommits {
		o.say("again with an fsync every group commit…")
		ssrv, err := startBenchServer(ctx, true, be, stderr)
		if err != nil {
			return err
		}
		defer ssrv.stop()
		if _, err := ssrv.importSynthetic(ctx, *zones); err != nil {
			return err
		}
		srow, err := benchRamp(ctx, ssrv, o, &phone)
		if err != nil {
			return err
		}
		res.Sync = &srow
		ssrv.stop()
	}
	if *reference != "" {
		o.say("bare Tile38 at %s: %d fences, 10000 vehicles, pipelined SET…", *reference, *zones+1)
		ref, err := runTile38Reference(ctx, *reference, *zones, 10000, 4, 2*o.duration)
		if err != nil {
			return err
		}
		res.Tile38, res.Tile38SetPerS = &ref, ref.SetsPerS
	}
	res.LoadAvg[1] = loadAvg()
	if *profile != "" && res.profile != nil {
		if err := os.WriteFile(*profile, res.profile, 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	o.say("")
	o.say("%-12s %10s %9s %9s %11s %10s %9s %9s %7s %9s", "commits", "fixes/s", "ack p50", "ack p99", "server CPU", "server/fix", "gen CPU", "gen/fix", "conns", "db/fix")
	for _, r := range []*benchRow{&res.benchRow, res.Sync} {
		if r == nil {
			continue
		}
		mode := "no fsync"
		if r.SyncEveryCommit {
			mode = "fsync each"
		}
		o.say("%-12s %10.0f %6.1f ms %6.1f ms %10.0f%% %7.1f µs %8.0f%% %6.1f µs %7d %6.1f µs", mode, r.FixesPerS, r.AckP50Ms, r.AckP99Ms,
			r.CPUPercent, r.ServerUsPerFix, r.GenCPUPercent, r.GenUsPerFix, r.Connections, r.DBUsPerFix)
	}
	if res.Tile38 != nil {
		o.say("%-12s %10.0f   (SET/s: no protocol, no rules, nothing durable; %d fences, %d vehicles)", "bare Tile38",
			res.Tile38.SetsPerS, res.Tile38.Fences, res.Tile38.Vehicles)
	}
	o.say("every fix stored and acknowledged; CPU in %% of one core, per acknowledged fix; load average %s → %s", res.LoadAvg[0], res.LoadAvg[1])
	o.say("fix → alert on the WebSocket at %d fixes/s: p50 %.1f ms p99 %.1f ms (%d alerts)", half, res.AlertP50Ms, res.AlertP99Ms, res.AlertsMeasured)
	o.say("%.1f KB RSS per idle connection (%d connections, before the load); server RSS after the run %.0f MB", res.RSSPerConnKB, res.IdleConns, res.RSSMB)
	if *profile != "" {
		o.say("server CPU profile at %.0f fixes/s: %s", res.FixesPerS, *profile)
	}
	return nil
}

// benchRamp raises the offered rate by half while acknowledgements keep up, then bisects
// between the last rate that kept up and the first that did not.
func benchRamp(ctx context.Context, srv *benchServer, o benchOptions, phone *uint64) (benchRow, error) {
	row := benchRow{SyncEveryCommit: srv.syncCommits, Connections: o.conns}
	best := -1 // in row.Steps
	good, bad := 0, 0
	step := func(rate int) (bool, error) {
		trials := make([]benchStep, 0, o.trials)
		for range o.trials {
			st, err := benchOne(ctx, srv, o, rate, *phone)
			*phone += uint64(o.conns)
			if err != nil {
				return false, err
			}
			trials = append(trials, st)
			srv.settle()
		}
		st := medianStep(trials, o.maxP99)
		row.Steps = append(row.Steps, st)
		for i, t := range st.TrialRuns {
			o.say("    trial %d at %s  acked %7.0f/s  ack p50 %5.1f ms  p99 %6.1f ms  max %6.1f ms  server CPU %4.0f%%  generator CPU %4.0f%%  p99 by second %v ms",
				i+1, t.At, t.AckedPerS, t.AckP50Ms, t.AckP99Ms, t.AckMaxMs, t.CPUPercent, t.GenCPUPercent, t.SecondP99Ms)
		}
		o.say("offered %7d/s  acked %7.0f/s (%.0f–%.0f)  ack p50 %6.1f ms  p99 %7.1f ms (%.1f–%.1f)  server CPU %4.0f%% %5.1f µs/fix  generator CPU %4.0f%% %4.1f µs/fix  db %4.1f µs/fix  %s",
			rate, st.AckedPerS, st.AckedRange[0], st.AckedRange[1], st.AckP50Ms, st.AckP99Ms, st.AckP99Range[0], st.AckP99Range[1],
			st.CPUPercent, st.ServerUsPerFix, st.GenCPUPercent, st.GenUsPerFix, st.DBUsPerFix,
			map[bool]string{true: "kept up", false: "fell behind"}[st.KeptUp])
		if c := st.Tile38; c != nil {
			o.say("               Tile38 a fix: %.3f commands (%.3f seen by Tile38), %.1f bytes, %.4f round trips, CPU %.1f µs",
				c.CommandsPerFix, c.ServerCommandsPerFix, c.BytesPerFix, c.RoundTripsPerFix, c.CPUUsPerFix)
		}
		if st.KeptUp && (best < 0 || st.AckedPerS > row.Steps[best].AckedPerS) {
			best = len(row.Steps) - 1
		}
		return st.KeptUp, nil
	}
	for rate := o.start; rate <= o.maxRate; rate = rate * 3 / 2 {
		ok, err := step(rate)
		if err != nil {
			return row, err
		}
		if !ok {
			bad = rate
			break
		}
		good = rate
	}
	for range o.refine {
		if bad == 0 || bad-good < max(bad/50, 100) {
			break
		}
		mid := (good + bad) / 2
		ok, err := step(mid)
		if err != nil {
			return row, err
		}
		if ok {
			good = mid
		} else {
			bad = mid
		}
	}
	if best < 0 && len(row.Steps) > 0 {
		best = 0 // nothing kept up: the first step's figures, marked by its kept_up
	}
	if best >= 0 {
		best := row.Steps[best]
		row.FixesPerS, row.AckP50Ms, row.AckP99Ms = best.AckedPerS, best.AckP50Ms, best.AckP99Ms
		row.CPUPercent, row.ServerUsPerFix = best.CPUPercent, best.ServerUsPerFix
		row.GenCPUPercent, row.GenUsPerFix, row.DBUsPerFix = best.GenCPUPercent, best.GenUsPerFix, best.DBUsPerFix
		row.Tile38 = best.Tile38
		row.profile = best.profile
	}
	return row, nil
}

// benchOne offers rate for one step and measures both processes' CPU time over it.
func benchOne(ctx context.Context, srv *benchServer, o benchOptions, rate int, phone uint64) (benchStep, error) {
	var prof chan []byte
	if o.profile {
		prof = make(chan []byte, 1)
		go func() {
			prof <- srv.cpuProfile(ctx, o.warmup+time.Second, max(o.duration-2*time.Second, time.Second))
		}()
	}
	// CPU is counted from the end of the warm-up until the load stops.
	var cpu0, gen0 float64
	var t0 time.Time
	var t38 tile38Counters
	var db0 map[int]float64
	measuring := func() {
		cpu0, gen0, t0 = srv.cpuSeconds(), selfCPUSeconds(), time.Now()
		t38 = srv.tile38Counters(ctx)
		db0 = srv.dbBackendCPU(ctx)
	}
	lr, err := sim.Load(ctx, sim.LoadConfig{Addr: srv.jt808, Terminals: o.conns, RatePerSecond: rate, Duration: o.duration,
		Warmup: o.warmup, Measuring: measuring, FramesPerWrite: o.framesPerWrite, Items: o.items, PhoneBase: phone})
	if err != nil {
		return benchStep{}, err
	}
	if t0.IsZero() {
		return benchStep{}, errors.New("bench: the load ended before its warm-up")
	}
	wall := time.Since(t0).Seconds()
	cpu, gen := srv.cpuSeconds()-cpu0, selfCPUSeconds()-gen0
	var db float64
	for pid, c := range srv.dbBackendCPU(ctx) {
		db += c - db0[pid] // a backend started since counts whole
	}
	st := benchStep{OfferedPerS: float64(rate), AckedPerS: lr.AckedPerSecond, AckP50Ms: ms(lr.P50), AckP99Ms: ms(lr.P99),
		CPUPercent: 100 * cpu / wall, GenCPUPercent: 100 * gen / wall}
	if lr.AckedInTime > 0 {
		st.ServerUsPerFix, st.GenUsPerFix = 1e6*cpu/float64(lr.AckedInTime), 1e6*gen/float64(lr.AckedInTime)
		st.DBUsPerFix = 1e6 * db / float64(lr.AckedInTime)
		st.Tile38 = srv.tile38Counters(ctx).costSince(t38, lr.AckedInTime)
	}
	st.KeptUp = lr.AckedPerSecond >= 0.97*float64(rate) && lr.P99 < o.maxP99
	tr := benchTrial{At: lr.MeasureStart.UTC().Format("15:04:05.000"), AckedPerS: st.AckedPerS, AckP50Ms: st.AckP50Ms, AckP99Ms: st.AckP99Ms,
		AckMaxMs: ms(lr.Max), CPUPercent: st.CPUPercent, GenCPUPercent: st.GenCPUPercent}
	for i := range lr.SecondP99 {
		tr.SecondP99Ms, tr.SecondMaxMs = append(tr.SecondP99Ms, ms(lr.SecondP99[i])), append(tr.SecondMaxMs, ms(lr.SecondMax[i]))
	}
	st.TrialRuns = []benchTrial{tr}
	if prof != nil {
		st.profile = <-prof
	}
	return st, nil
}

// medianStep joins the trials of one rate: each figure is the median of the trials' (the lower
// middle one of an even count), and the step keeps up when the medians do.
func medianStep(trials []benchStep, maxP99 time.Duration) benchStep {
	median := func(f func(benchStep) float64) (mid, lo, hi float64) {
		v := make([]float64, len(trials))
		for i, t := range trials {
			v[i] = f(t)
		}
		slices.Sort(v)
		return v[(len(v)-1)/2], v[0], v[len(v)-1]
	}
	st := benchStep{OfferedPerS: trials[0].OfferedPerS, Trials: len(trials), profile: trials[0].profile}
	for _, t := range trials {
		st.TrialRuns = append(st.TrialRuns, t.TrialRuns...)
	}
	st.AckedPerS, st.AckedRange[0], st.AckedRange[1] = median(func(t benchStep) float64 { return t.AckedPerS })
	st.AckP99Ms, st.AckP99Range[0], st.AckP99Range[1] = median(func(t benchStep) float64 { return t.AckP99Ms })
	st.AckP50Ms, _, _ = median(func(t benchStep) float64 { return t.AckP50Ms })
	st.CPUPercent, _, _ = median(func(t benchStep) float64 { return t.CPUPercent })
	st.ServerUsPerFix, _, _ = median(func(t benchStep) float64 { return t.ServerUsPerFix })
	st.GenCPUPercent, _, _ = median(func(t benchStep) float64 { return t.GenCPUPercent })
	st.GenUsPerFix, _, _ = median(func(t benchStep) float64 { return t.GenUsPerFix })
	st.DBUsPerFix, _, _ = median(func(t benchStep) float64 { return t.DBUsPerFix })
	if trials[0].Tile38 != nil {
		var c tile38Cost
		c.CommandsPerFix, _, _ = median(func(t benchStep) float64 { return t.Tile38.orZero().CommandsPerFix })
		c.BytesPerFix, _, _ = median(func(t benchStep) float64 { return t.Tile38.orZero().BytesPerFix })
		c.RoundTripsPerFix, _, _ = median(func(t benchStep) float64 { return t.Tile38.orZero().RoundTripsPerFix })
		c.ServerCommandsPerFix, _, _ = median(func(t benchStep) float64 { return t.Tile38.orZero().ServerCommandsPerFix })
		c.CPUUsPerFix, _, _ = median(func(t benchStep) float64 { return t.Tile38.orZero().CPUUsPerFix })
		st.Tile38 = &c
	}
	st.KeptUp = st.AckedPerS >= 0.97*st.OfferedPerS && st.AckP99Ms < ms(maxP99)
	return st
}

// cpuModel is the processor's name as Linux reports it ("?" elsewhere).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type benchServer struct {
	cmd         *exec.Cmd
	dir         string
	http, jt808 string
	pprof       string // the child's pprof address: CPU profiles, and garbage collections before reading RSS
	token       string
	syncCommits bool
	tile38      string // host:port of the Tile38 server the server uses; "" for the embedded engine
	// dropDB drops the PostgreSQL database made for this server; nil with SQLite.
	dropDB func()
	// adminURL is --store's database, from which the backends of dbName, the server's, are found.
	adminURL, dbName string
}

// freeAddr is a free loopback address for a server this process starts (see loopback.Ports).
func freeAddr() (string, error) { return loopback.Addr() }

func startBenchServer(ctx context.Context, syncCommits bool, be benchBackends, stderr io.Writer) (*benchServer, error) {
	dir, err := os.MkdirTemp("", "borderwatch-bench-")
	if err != nil {
		return nil, err
	}
	s := &benchServer{dir: dir, syncCommits: syncCommits}
	if strings.HasPrefix(be.geofence, "tile38://") {
		addr, err := geofence.ParseTile38URL(be.geofence)
		if err != nil {
			return nil, err
		}
		s.tile38, _, _ = strings.Cut(addr, "/")
	}
	dbURL := ""
	if be.store != "sqlite" {
		if dbURL, s.dropDB, err = freshDatabase(ctx, be.store); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		u, err := neturl.Parse(dbURL)
		if err != nil {
			return nil, err
		}
		s.adminURL, s.dbName = be.store, strings.TrimPrefix(u.Path, "/")
	}
	if s.pprof, err = freeAddr(); err != nil {
		return nil, err
	}
	if s.http, err = freeAddr(); err != nil {
		return nil, err
	}
	if s.jt808, err = freeAddr(); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	const pw = "Bench-Passw0rd-1"
	s.cmd = exec.Command(exe, "serve")
	s.cmd.Env = append(os.Environ(), "BW_DATA_DIR="+dir, "BW_HTTP_ADDR="+s.http, "BW_JT808_ADDR="+s.jt808, "BW_GT06_ADDR=", "BW_JT600_ADDR=", "BW_OSMAND_ADDR=",
		"BW_ACCEPT_UNKNOWN_DEVICES=true", "BW_ADMIN_PASSWORD="+pw, "BW_REQUIRE_TOTP_ADMINS=false", "BW_LOG_LEVEL=warn", "BW_DATABASE_URL="+dbURL, "BW_GEOFENCE="+be.geofence, "BW_MAX_CONNS=20000",
		// The load generator drives thousands of terminals from one address, far above a real
		// terminal's rate: no rate limits or per-address cap.
		"BW_CONN_FRAME_RATE=0", "BW_DEVICE_FIX_RATE=0", "BW_MAX_CONNS_PER_ADDR=0",
		"BW_SYNC_COMMITS="+strconv.FormatBool(syncCommits), "BW_PPROF_ADDR="+s.pprof)
	s.cmd.Stderr = stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	// A fresh PostgreSQL database is migrated first (a WAL flush a migration): on a
	// loaded machine that took more than 30 s (TestBenchDBBackendCPU in make test).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + s.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("bench: the server did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": pw})
	resp, err := http.Post("http://"+s.http+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		s.stop()
		return nil, err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		s.stop()
		return nil, fmt.Errorf("bench: login failed (%d)", resp.StatusCode)
	}
	s.token = out.Token
	return s, nil
}

func (s *benchServer) stop() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
		}
	}
	os.RemoveAll(s.dir)
	if s.dropDB != nil {
		s.dropDB()
		s.dropDB = nil
	}
}

// freshDatabase creates an empty database on the PostgreSQL server of url and returns its
// URL and a function that drops it: each bench server starts from nothing, as with SQLite.
func freshDatabase(ctx context.Context, url string) (string, func(), error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", nil, fmt.Errorf("bench: --store: %w", err)
	}
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", nil, fmt.Errorf("bench: --store: %w", err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("bw_bench_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("bench: --store: %w", err)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		return "", nil, fmt.Errorf("bench: --store: %w", err)
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.ConnectConfig(ctx, cfg); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	}
	return u.String(), drop, nil
}

// importSynthetic adds n square polygons scattered over the district and returns the zone count.
func (s *benchServer) importSynthetic(ctx context.Context, n int) (int, error) {
	feats := make([]map[string]any, 0, n)
	for i := range n {
		lon, lat, d := syntheticSquare(i)
		feats = append(feats, map[string]any{"type": "Feature",
			"geometry":   map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat}}}},
			"properties": map[string]any{"id": fmt.Sprintf("synthetic-%d", i), "name": fmt.Sprintf("synthetic %d", i), "kind": "restricted"}})
	}
	body, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": feats})
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+s.http+"/api/v1/zones/import", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("bench: zone import answered %d", resp.StatusCode)
	}
	return n + len(district.Zones()), nil
}

// cpuSeconds is the server process's user+system CPU time.
func (s *benchServer) cpuSeconds() float64 {
	return procCPUSeconds(s.cmd.Process.Pid)
}

// dbBackendCPU is the CPU time of each PostgreSQL backend serving the server's database, by
// PID: nil with SQLite, and for backends not on this machine.
func (s *benchServer) dbBackendCPU(ctx context.Context) map[int]float64 {
	if s.dbName == "" {
		return nil
	}
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return nil
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1", s.dbName)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil
	}
	out := make(map[int]float64, len(pids))
	for _, pid := range pids {
		out[int(pid)] = singleThreadCPUSeconds(int(pid))
	}
	return out
}

// singleThreadCPUSeconds is the CPU time of a process of one thread (a PostgreSQL backend):
// from schedstat, in nanoseconds, where the kernel keeps it (stat's times are counted in 10 ms
// ticks by sampling, and a backend's share of a short step could read 0), else from stat.
// schedstat is the main thread's alone, hence not for the server.
func singleThreadCPUSeconds(pid int) float64 {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid)); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseFloat(f[0], 64); err == nil {
				return ns / 1e9
			}
		}
	}
	return procCPUSeconds(pid)
}

// procCPUSeconds is a process's user+system CPU time, 0 if it cannot be read.
func procCPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// settle waits until the server has worked off what the last step left (its CPU use drops
// under a fifth of a core), at most 30 s: a step after an overloaded one must not inherit its backlog.
func (s *benchServer) settle() {
	time.Sleep(500 * time.Millisecond)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		c0 := s.cpuSeconds()
		time.Sleep(500 * time.Millisecond)
		if s.cpuSeconds()-c0 < 0.1 {
			return
		}
	}
}

// cpuProfile waits for after, then takes the server's CPU profile over d (nil on failure).
func (s *benchServer) cpuProfile(ctx context.Context, after, d time.Duration) []byte {
	select {
	case <-time.After(after):
	case <-ctx.Done():
		return nil
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.pprof, int(d.Seconds())), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return nil
	}
	return b
}

// selfCPUSeconds is this process's user+system CPU time: the load generator's.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// loadAvg is the machine's 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// collectedRSSKB is the server's RSS after two garbage collections: admitting a device leaves
// garbage and a deep goroutine stack that a connection idle for hours does not keep.
func (s *benchServer) collectedRSSKB(ctx context.Context) int64 {
	for range 2 {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.pprof+"/debug/pprof/heap?gc=1", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	time.Sleep(time.Second)
	return s.rssKB()
}

func (s *benchServer) rssKB() int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// borderPoint finds where the district's border line crosses a meridian, far from any port.
func borderPoint(lon float64) (lat float64, ok bool) {
	b := district.Border()
	for i := 1; i < len(b); i++ {
		a, c := b[i-1], b[i]
		if (a[0]-lon)*(c[0]-lon) <= 0 && a[0] != c[0] {
			return a[1] + (c[1]-a[1])*(lon-a[0])/(c[0]-a[0]), true
		}
	}
	return 0, false
}

// alertLatencies runs load at rate while probe terminals cross the border outside every port,
// and measures from the crossing fix's send to its alert arriving on the live WebSocket.
func (s *benchServer) alertLatencies(ctx context.Context, rate int, o benchOptions, phone uint64) ([]time.Duration, error) {
	d := o.duration
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+s.http+"/api/v1/live?token="+s.token, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: live WebSocket: %w", err)
	}
	defer ws.Close()
	ws.WriteJSON(map[string]any{"type": "subscribe", "min_severity": "critical"})
	got := make(chan string, 1024)
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				close(got)
				return
			}
			var m struct {
				Type  string
				Alert struct {
					VehicleID string `json:"vehicle_id"`
				}
				Messages []json.RawMessage
			}
			if json.Unmarshal(b, &m) != nil {
				continue
			}
			msgs := m.Messages
			if m.Type != "batch" {
				msgs = []json.RawMessage{b}
			}
			for _, raw := range msgs {
				var one struct {
					Type  string
					Alert struct {
						VehicleID string `json:"vehicle_id"`
					}
				}
				if json.Unmarshal(raw, &one) == nil && one.Type == "alert" {
					got <- one.Alert.VehicleID
				}
			}
		}
	}()
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	loadDone := make(chan struct{})
	go func() {
		sim.Load(loadCtx, sim.LoadConfig{Addr: s.jt808, Terminals: o.conns, RatePerSecond: rate, Duration: d + 5*time.Second,
			Warmup: o.warmup, FramesPerWrite: o.framesPerWrite, Items: o.items, PhoneBase: phone})
		close(loadDone)
	}()
	time.Sleep(max(o.warmup, time.Second))
	var lats []time.Duration
	probes := o.alertProbes
	for i := range probes {
		// The border wanders: each probe crosses it where it is at the probe's longitude.
		// 104.0–104.4°E, far from every port, however many probes.
		lon := 104.0 + float64(i%400)*0.001
		lat, ok := borderPoint(lon)
		if !ok {
			return nil, fmt.Errorf("bench: no border at %.2f°E", lon)
		}
		id := fmt.Sprint(19000000000 + uint64(i))
		t, err := probeCrossing(ctx, s.jt808, id, lat, lon, got)
		if err != nil {
			return lats, err
		}
		if t > 0 {
			lats = append(lats, t)
		}
		time.Sleep(d / time.Duration(probes))
	}
	cancel()
	<-loadDone
	return lats, nil
}

// probeCrossing sends a fix north of the border and one south of it; it returns the time from
// the second send to the vehicle's alert (0 if none arrived within 5 s).
func probeCrossing(ctx context.Context, addr, id string, borderLat, lon float64, alerts <-chan string) (time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ph, _ := jt808.ParsePhone(id, false)
	h := jt808.Header{MsgID: jt808.MsgLocation, Phone: ph}
	// Ten minutes between the two fixes: 6.6 km at 40 km/h, a plausible drive, not a GPS jump.
	at := time.Now().Add(-15 * time.Minute).Truncate(time.Second)
	sc := jt808.NewScanner(c, 4096)
	send := func(lat float64, t time.Time) error {
		h.Serial++
		body := jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned | jt808.StatusACC, Lat: lat, Lon: lon, SpeedKmh: 60, Time: t})
		fr, _ := jt808.AppendFrame(nil, &h, body)
		_, err := c.Write(fr)
		return err
	}
	if err := send(borderLat+0.03, at); err != nil {
		return 0, err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := sc.Next(); err != nil {
		return 0, fmt.Errorf("probe %s: no ack: %w", id, err)
	}
	sent := time.Now()
	if err := send(borderLat-0.03, at.Add(10*time.Minute)); err != nil {
		return 0, err
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case v, ok := <-alerts:
			if !ok {
				return 0, errors.New("bench: live WebSocket closed")
			}
			if v == id {
				return time.Since(sent), nil
			}
		case <-timeout:
			return 0, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// openIdle opens n terminal connections that each send one heartbeat and then stay silent.
func openIdle(ctx context.Context, addr string, n int, phone uint64) ([]net.Conn, error) {
	var out []net.Conn
	var d net.Dialer
	for i := range n {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return out, nil // the file limit: measure what opened
		}
		ph, _ := jt808.ParsePhone(fmt.Sprint(phone+uint64(i)), false)
		fr, _ := jt808.AppendFrame(nil, &jt808.Header{MsgID: jt808.MsgHeartbeat, Phone: ph}, nil)
		c.Write(fr)
		out = append(out, c)
	}
	return out, nil
}
