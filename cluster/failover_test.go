package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paulmach/orb"

	"github.com/borderwatch/borderwatch/cluster/clustertest"
	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/pgstore"
	"github.com/borderwatch/borderwatch/tracker/rules"
)

// testZone is a control zone the test vehicles drive through: one enter and one exit each.
var testZone = geofence.Zone{ID: "cz-test", Name: "test control zone", Kind: geofence.KindControlZone,
	Geometry: orb.Polygon{{{111.90, 43.60}, {112.00, 43.60}, {112.00, 43.70}, {111.90, 43.70}, {111.90, 43.60}}}}

// testBorder is crossed by the test vehicles at their 31st fix, outside every port: one alert
// each (border_crossing_outside_port), raised around the moment the first tracker is cut off.
var testBorder = geofence.Zone{ID: "border-test", Name: "test border", Kind: geofence.KindBorder,
	Geometry: orb.LineString{{111.911, 43.55}, {111.911, 43.70}}}

// trackerNode is one tracker process of the test: its own NATS connection, geofence engine,
// rules, pipeline and tracker, over the shared PostgreSQL store.
type trackerNode struct {
	name   string
	conn   *Conn
	pipe   *tracker.Pipeline
	replay *tracker.Pipeline
	rules  *rules.Engine
	tr     *Tracker
	cancel context.CancelFunc
	done   chan struct{}
	// slowEmit is how long the next judged commit waits first: a slow store (0: none).
	slowEmit atomic.Int64
}

func startTracker(t testing.TB, urls, name string, st *pgstore.Store, opts ...func(*Config, *TrackerConfig)) *trackerNode {
	t.Helper()
	n, err := launchTracker(t, urls, name, st, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// launchTracker is startTracker for a goroutine other than the test's (a drive tick): it
// returns its failure for the test's goroutine to report. eng is the tracker's geofence
// engine, given the zones here; nil: an embedded one of its own.
func launchTracker(t testing.TB, urls, name string, st *pgstore.Store, eng geofence.Engine, opts ...func(*Config, *TrackerConfig)) (*trackerNode, error) {
	ctx := context.Background()
	var out io.Writer = logsOf(t)
	if testing.Verbose() {
		out = testWriter{t}
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", name)
	ccfg := Config{URLs: urls, Node: name, Roles: []string{RoleTracker}, Logger: log}
	var tcfg TrackerConfig
	for _, o := range opts {
		o(&ccfg, &tcfg)
	}
	conn, err := Dial(ctx, ccfg)
	if err != nil {
		return nil, err
	}
	if eng == nil {
		eng = geofence.NewEmbedded(geofence.Options{})
	}
	zones, err := st.Zones(ctx) // testZone and testBorder (startCluster), and those a test adds
	if err == nil {
		err = eng.SetZones(ctx, zones)
	}
	n := &trackerNode{name: name, conn: conn, done: make(chan struct{})}
	var rl *rules.Engine
	if err == nil {
		rl = rules.New(rules.Config{Engine: eng, Store: st, Logger: log, Owns: func(id string) bool { return n.tr.Owns(id) }})
		err = rl.Load(ctx)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("tracker %s: %w", name, err)
	}
	n.pipe = tracker.NewPipeline(tracker.PipelineConfig{Store: st, Evaluator: rl, Publisher: NewLivePublisher(conn), Logger: log})
	n.replay = NewReplay(rl, nil, log)
	n.rules = rl
	tcfg.Pipeline, tcfg.Replay = n.pipe, n.replay
	if tcfg.Store == nil {
		tcfg.Store = st
	}
	if cs, ok := tcfg.State.(*countingState); ok {
		cs.State = RulesState{Rules: rl, Pipeline: n.pipe}
	} else {
		tcfg.State = RulesState{Rules: rl, Pipeline: n.pipe}
	}
	tcfg.Judge = testJudge{rl, n.pipe, n, st}
	n.tr = NewTracker(conn, tcfg)
	runCtx, cancel := context.WithCancel(ctx)
	n.cancel = cancel
	go conn.Heartbeat(runCtx, n.tr)
	go func() {
		defer close(n.done)
		n.tr.Run(runCtx)
	}()
	t.Cleanup(n.stop)
	return n, nil
}

// crash cuts the node off as kill -9 would: its NATS connection drops without a word (no lease
// freed, no batch acknowledged) and its pipeline stops taking fixes.
func (n *trackerNode) crash() {
	n.conn.nc.Close()
	n.pipe.Close()
}

func (n *trackerNode) stop() {
	n.cancel()
	<-n.done
	n.pipe.Close()
	n.replay.Close()
	n.conn.Close()
}

// trackerLogs keeps what a test's trackers logged (testing.TB → *lineLog) when the test does
// not print it (-v), for a failure to show what its partition went through.
var trackerLogs sync.Map

type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(b))
	return len(b), nil
}

func logsOf(t testing.TB) *lineLog {
	v, loaded := trackerLogs.LoadOrStore(t, &lineLog{})
	if !loaded {
		t.Cleanup(func() { trackerLogs.Delete(t) })
	}
	return v.(*lineLog)
}

// logPartition prints the last lines the test's trackers logged about partition p and their
// NATS connections (nothing under -v, which printed them all).
func logPartition(t testing.TB, p int) {
	t.Helper()
	l := logsOf(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	var picked []string
	for _, line := range l.lines {
		if strings.Contains(line, fmt.Sprintf(" partition=%d ", p)) || strings.Contains(line, "NATS") {
			picked = append(picked, line)
		}
	}
	t.Logf("what the trackers logged about partition %d (last %d of %d lines):\n%s", p, min(len(picked), 60), len(picked),
		strings.Join(picked[max(0, len(picked)-60):], ""))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

// waitOwned waits until every partition is held by one of names, and returns how long it took.
func waitOwned(t *testing.T, c *Conn, names ...string) time.Duration {
	t.Helper()
	took, err := ownedWithin(c, names...)
	if err != nil {
		t.Fatal(err)
	}
	return took
}

// ownedWithin is waitOwned for any goroutine: it returns its failure instead.
func ownedWithin(c *Conn, names ...string) (time.Duration, error) {
	start := time.Now()
	for {
		o := map[int]string{}
		for p := range c.cfg.Partitions {
			if e, err := c.leases.Get(context.Background(), leaseKey(p)); err == nil {
				o[p] = string(e.Value())
			}
		}
		ok := len(o) == c.cfg.Partitions
		for _, v := range o {
			ok = ok && slices.Contains(names, v)
		}
		if ok {
			return time.Since(start), nil
		}
		if time.Since(start) > 2*time.Minute {
			return 0, fmt.Errorf("partitions not owned by %v after 2 min: %v", names, o)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// drive sends each vehicle's fixes through the gateway as a terminal would: one at a time, the
// next only once the previous is acknowledged; an unacknowledged fix is resent. It returns the
// acknowledged fixes. tick runs on a vehicle's goroutine once every vehicle has sent a step: its
// error stops every vehicle and is returned, for the test's goroutine to report (a test may
// only fail itself for good from its own goroutine).
func drive(ctx context.Context, gw *Gateway, vehicles, steps int, t0 time.Time, tick func(step int) error) ([][]tracker.Fix, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	acked := make([][]tracker.Fix, vehicles)
	var wg sync.WaitGroup
	var stepMu sync.Mutex
	stepDone := make([]int, steps)
	for v := range vehicles {
		wg.Go(func() {
			for i := range steps {
				f := tracker.Fix{
					VehicleID: fmt.Sprintf("veh-%03d", v), DeviceID: fmt.Sprintf("dev-%03d", v), Protocol: "jt808",
					Time: t0.Add(time.Duration(i) * 10 * time.Second),
					Lat:  43.61 + float64(v)*0.001, Lon: 111.85 + float64(i)*0.002, SpeedKmh: 60, Valid: true,
				}
				for {
					err := gw.Submit(ctx, []tracker.Fix{f})
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				acked[v] = append(acked[v], f)
				stepMu.Lock()
				stepDone[i]++
				last := stepDone[i] == vehicles
				stepMu.Unlock()
				if last && tick != nil {
					if err := tick(i); err != nil {
						cancel(fmt.Errorf("step %d: %w", i, err))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return acked, context.Cause(ctx)
	}
	return acked, nil
}

// checkStored checks that every acknowledged fix is stored exactly once, in each vehicle's time
// order, none marked late, and that each vehicle entered and left the zone once.
func checkStored(t *testing.T, dbURL string, acked [][]tracker.Fix) {
	t.Helper()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	total := 0
	for _, fs := range acked {
		total += len(fs)
	}
	// Long enough for a take-over on two cores at the suite's load (a minute and more).
	deadline := time.Now().Add(2 * time.Minute)
	var stored int
	for {
		if err := db.QueryRow(ctx, `SELECT count(*) FROM fixes`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if stored != total {
		t.Errorf("%d fixes stored, %d acknowledged", stored, total)
	}
	var dups int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM (SELECT device_id, device_time FROM fixes GROUP BY 1, 2 HAVING count(*) > 1) d`).Scan(&dups); err != nil {
		t.Fatal(err)
	}
	if dups != 0 {
		t.Errorf("%d fixes stored more than once", dups)
	}
	for _, fs := range acked {
		if len(fs) == 0 {
			continue
		}
		rows, err := db.Query(ctx, `SELECT device_time, late FROM fixes WHERE vehicle_id = $1 ORDER BY id`, fs[0].VehicleID)
		if err != nil {
			t.Fatal(err)
		}
		var times []time.Time
		var late int
		for rows.Next() {
			var ts time.Time
			var l bool
			if err := rows.Scan(&ts, &l); err != nil {
				t.Fatal(err)
			}
			times = append(times, ts)
			if l {
				late++
			}
		}
		rows.Close()
		if len(times) != len(fs) {
			t.Errorf("%s: %d fixes stored, %d acknowledged", fs[0].VehicleID, len(times), len(fs))
		}
		for i := 1; i < len(times); i++ {
			if !times[i].After(times[i-1]) {
				t.Errorf("%s: stored out of order: %v after %v", fs[0].VehicleID, times[i], times[i-1])
				break
			}
		}
		if late > 0 {
			t.Errorf("%s: %d fixes marked late although sent in order", fs[0].VehicleID, late)
		}
		var enters, exits int
		if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE type = 'zone_enter'), count(*) FILTER (WHERE type = 'zone_exit')
			FROM events WHERE vehicle_id = $1 AND zone_id = $2`, fs[0].VehicleID, testZone.ID).Scan(&enters, &exits); err != nil {
			t.Fatal(err)
		}
		var raised, changes int
		if err := db.QueryRow(ctx, `SELECT count(DISTINCT alert_id), count(*) FROM alert_outbox WHERE vehicle_id = $1 AND type = $2`,
			fs[0].VehicleID, tracker.AlertBorderCrossingOutsidePort).Scan(&raised, &changes); err != nil {
			t.Fatal(err)
		}
		if raised != 1 || changes != 1 {
			t.Errorf("%s: border crossing raised as %d alerts with %d changes sent to webhooks, want one raised once", fs[0].VehicleID, raised, changes)
		}
		if enters != 1 || exits != 1 {
			var evs []string
			rows, _ := db.Query(ctx, `SELECT e.type || ' ' || e.time::text || ' fix ' || coalesce(e.fix_id::text, '-') FROM events e WHERE vehicle_id = $1 ORDER BY id`, fs[0].VehicleID)
			for rows.Next() {
				var e string
				rows.Scan(&e)
				evs = append(evs, e)
			}
			rows.Close()
			t.Errorf("%s (partition %d): %d zone_enter and %d zone_exit events, want one each: %v", fs[0].VehicleID, Partition(fs[0].VehicleID, 64), enters, exits, evs)
		}
		if len(times) != len(fs) {
			logPartition(t, Partition(fs[0].VehicleID, 64))
		}
	}
}

// waitServed waits until the nodes serve every partition between them (taken over), and
// returns how long it took.
func waitServed(t *testing.T, nodes ...*trackerNode) time.Duration {
	t.Helper()
	took, err := servedWithin(nodes...)
	if err != nil {
		t.Fatal(err)
	}
	return took
}

// servedWithin is waitServed for any goroutine: it returns its failure instead.
func servedWithin(nodes ...*trackerNode) (time.Duration, error) {
	start := time.Now()
	for {
		n := 0
		for _, nd := range nodes {
			n += nd.tr.serving()
		}
		if n == nodes[0].conn.cfg.Partitions {
			return time.Since(start), nil
		}
		if time.Since(start) > 60*time.Second {
			return 0, fmt.Errorf("%d partitions served after 60 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startCluster starts three NATS servers and opens a new PostgreSQL database holding testZone.
func startCluster(tb testing.TB) (*clustertest.NATS, *pgstore.Store, string) {
	tb.Helper()
	nats := clustertest.StartNATS(tb, 3)
	st, dbURL := openStore(tb)
	return nats, st, dbURL
}

// openStore opens a new PostgreSQL database holding testZone and testBorder.
func openStore(tb testing.TB) (*pgstore.Store, string) {
	tb.Helper()
	dbURL := clustertest.PostgresURL(tb)
	st, err := pgstore.Open(context.Background(), dbURL, pgstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.PutZones(context.Background(), []geofence.Zone{testZone, testBorder}); err != nil {
		tb.Fatal(err)
	}
	return st, dbURL
}

func TestTrackerFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, dbURL := startCluster(t)
	ctx := context.Background()
	a := startTracker(t, nats.URLs(), "A", st)
	b := startTracker(t, nats.URLs(), "B", st)
	c := startTracker(t, nats.URLs(), "C", st)
	gwConn, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer gwConn.Close()
	took := waitOwned(t, gwConn, "A", "B", "C")
	t.Logf("64 partitions owned in %v", took)

	const vehicles, steps = 24, 90 // each drives through the zone (lon 111.90–112.00) at step 25–75
	gw := NewGateway(gwConn, nil)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	// Leased is until the survivors hold every lease, served until they have taken every
	// partition over (consuming it again).
	var leasedC, leasedB, servedC, servedB time.Duration
	acked, err := drive(ctx, gw, vehicles, steps, t0, func(step int) error {
		switch step {
		case 30: // mid-zone: the vehicles inside are C's state
			c.crash()
			return survive(gwConn, &leasedC, &servedC, a, b)
		case 60:
			b.crash()
			return survive(gwConn, &leasedB, &servedB, a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("C's partitions leased by the others in %v, served in %v; B's in %v, served in %v", leasedC, servedC, leasedB, servedB)
	checkStored(t, dbURL, acked)
	if ps, _ := a.tr.Owned(); len(ps) != 64 {
		t.Errorf("A owns %d partitions, want all 64", len(ps))
	}
}

// survive waits until the survivors lease every partition, then serve them all, and records
// how long each took from now.
func survive(gw *Conn, leased, served *time.Duration, survivors ...*trackerNode) error {
	var names []string
	for _, n := range survivors {
		names = append(names, n.name)
	}
	var err error
	if *leased, err = ownedWithin(gw, names...); err != nil {
		return err
	}
	took, err := servedWithin(survivors...)
	*served = *leased + took
	return err
}

// TestNATSNodeLoss kills one NATS server of three while terminals stream: the gateway's
// publications in flight fail (nothing acknowledged), the terminals resend, and every
// acknowledged fix is stored once, in order.
func TestNATSNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, dbURL := startCluster(t)
	ctx := context.Background()
	startTracker(t, nats.URLs(), "A", st)
	startTracker(t, nats.URLs(), "B", st)
	// The gateway is connected to the server that dies: its reconnection is part of the test.
	gwConn, err := Dial(ctx, Config{URLs: strings.Split(nats.URLs(), ",")[0], Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer gwConn.Close()
	waitOwned(t, gwConn, "A", "B")
	acked, err := drive(ctx, NewGateway(gwConn, nil), 24, 90, time.Now().Add(-time.Hour).Truncate(time.Second), func(step int) error {
		if step == 30 {
			nats.Kill(0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, dbURL, acked)
}

// TestTakeOverReplayOnSlowServer hands every partition over while the vehicles are inside the
// zone, to a tracker whose replay fetches wait so briefly that the server answers the first
// ones empty (as a loaded server does within the normal wait): the replay must still rebuild
// every vehicle's zones, so that none enters the zone a second time.
func TestTakeOverReplayOnSlowServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, dbURL := startCluster(t)
	ctx := context.Background()
	a := startTracker(t, nats.URLs(), "A", st)
	gwConn, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer gwConn.Close()
	waitOwned(t, gwConn, "A")
	acked, err := drive(ctx, NewGateway(gwConn, nil), 24, 90, time.Now().Add(-time.Hour).Truncate(time.Second), func(step int) error {
		if step != 40 { // inside the zone (steps 25–75)
			return nil
		}
		a.stop()
		if _, err := launchTracker(t, nats.URLs(), "B", st, nil, func(_ *Config, c *TrackerConfig) { c.replayWait = time.Microsecond }); err != nil {
			return err
		}
		_, err := ownedWithin(gwConn, "B")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, dbURL, acked)
}

// testJudge is what cmd/borderwatch gives a tracker: the rules judge, the pipeline commits.
type testJudge struct {
	*rules.Engine
	pipe *tracker.Pipeline
	node *trackerNode
	st   *pgstore.Store
}

func (j testJudge) CommitWeighing(ctx context.Context, w tracker.Weighing) (tracker.Weighing, []tracker.Alert, error) {
	time.Sleep(time.Duration(j.node.slowEmit.Swap(0)))
	return mapui.CommitWeighing(ctx, j.Engine, j.st, j.pipe, w)
}

func (j testJudge) Emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error {
	time.Sleep(time.Duration(j.node.slowEmit.Swap(0)))
	var out tracker.Outcome
	for _, ev := range events {
		o := j.Event(ctx, ev)
		out.Events = append(out.Events, o.Events...)
		out.Alerts = append(out.Alerts, o.Alerts...)
	}
	return j.pipe.Emit(ctx, out.Events, append(out.Alerts, alerts...))
}

// TestDriveTickFailure: a tick that fails (a failover a test waited for in vain) stops the
// vehicles and its error reaches the test's goroutine, instead of failing the test from the
// tick's goroutine, which testing does not allow.
func TestDriveTickFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	nats := clustertest.StartNATS(t, 1)
	ctx := context.Background()
	gwConn, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer gwConn.Close()
	failed := errors.New("partitions not taken over")
	const steps = 5000
	acked, err := drive(ctx, NewGateway(gwConn, nil), 4, steps, time.Now().Add(-time.Hour), func(step int) error {
		if step == 2 {
			return failed
		}
		return nil
	})
	if !errors.Is(err, failed) {
		t.Fatalf("drive with a tick failing at step 2 returned %v, want its error", err)
	}
	for v, fs := range acked {
		if len(fs) == steps {
			t.Errorf("vehicle %d sent all its %d fixes although the tick failed at step 2, want the vehicles stopped", v, len(fs))
		}
	}
}

// startOneTracker starts one NATS server, a store, tracker A and a gateway connection, and
// waits until A serves every partition.
func startOneTracker(t *testing.T) (*trackerNode, *Conn, string) {
	t.Helper()
	nats := clustertest.StartNATS(t, 1)
	st, dbURL := openStore(t)
	a := startTracker(t, nats.URLs(), "A", st)
	gwConn, err := Dial(context.Background(), Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gwConn.Close)
	waitOwned(t, gwConn, "A")
	for start := time.Now(); len(a.tr.Ready()) < gwConn.cfg.Partitions; time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("%d partitions ready after a minute", len(a.tr.Ready()))
		}
	}
	return a, gwConn, dbURL
}

// TestPartitionConsumersLost deletes every partition's consumer under the trackers serving them
// (what an operator's `nats consumer rm`, or a NATS server lost with the consumer's state, does):
// each partition must start its consumer again after what it stored and store every fix
// acknowledged, instead of polling a consumer that no longer exists while renewing its lease.
func TestPartitionConsumersLost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	_, gwConn, dbURL := startOneTracker(t)
	ctx := context.Background()
	acked, err := drive(ctx, NewGateway(gwConn, nil), 8, 90, time.Now().Add(-time.Hour).Truncate(time.Second), func(step int) error {
		if step != 20 {
			return nil
		}
		names := gwConn.stream.ConsumerNames(ctx)
		deleted := 0
		for n := range names.Name() {
			if err := gwConn.stream.DeleteConsumer(ctx, n); err != nil {
				return err
			}
			deleted++
		}
		if deleted < gwConn.cfg.Partitions {
			return fmt.Errorf("%d consumers deleted, want one a partition", deleted)
		}
		return names.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, dbURL, acked)
}

// TestPartitionDeliveriesLost takes a partition's deliveries away from its tracker, unread and
// unacknowledged (what a NATS server that dies with a batch on its way to the tracker does): the
// tracker must notice that its consumer delivered what it never received and start it again
// after what it stored, instead of waiting for the redelivery after AckWait (5 min).
func TestPartitionDeliveriesLost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	_, gwConn, dbURL := startOneTracker(t)
	ctx := context.Background()
	const vehicle = "veh-lost"
	p := Partition(vehicle, gwConn.cfg.Partitions)
	var name string
	names := gwConn.stream.ConsumerNames(ctx)
	for n := range names.Name() {
		if strings.HasPrefix(n, consumerPrefix(p)) {
			name = n
		}
	}
	cons, err := gwConn.stream.Consumer(ctx, name)
	if err != nil {
		t.Fatalf("partition %d's consumer %q: %v", p, name, err)
	}
	gw := NewGateway(gwConn, nil)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	sent, stolen := 0, 0
	for try := 0; try < 10 && stolen == 0; try++ {
		// A pull waiting on the partition's consumer is served before the tracker's next one.
		got := make(chan int, 1)
		go func() {
			batch, err := cons.Fetch(256, jetstream.FetchMaxWait(3*time.Second))
			n := 0
			if err == nil {
				for range batch.Messages() {
					n++
				}
			}
			got <- n
		}()
		time.Sleep(300 * time.Millisecond)
		var fixes []tracker.Fix
		for range 5 {
			fixes = append(fixes, tracker.Fix{VehicleID: vehicle, DeviceID: "dev-lost", Protocol: "jt808",
				Time: t0.Add(time.Duration(sent) * 10 * time.Second), Lat: 43.61, Lon: 111.85 + float64(sent)*0.002, Valid: true})
			sent++
		}
		if err := gw.Submit(ctx, fixes); err != nil {
			t.Fatal(err)
		}
		stolen = <-got
	}
	if stolen == 0 {
		t.Fatal("the tracker got every batch before the test's pull: nothing was taken from it")
	}
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var stored int
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err := db.QueryRow(ctx, `SELECT count(*) FROM fixes WHERE vehicle_id = $1`, vehicle).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == sent || time.Now().After(deadline) {
			break
		}
	}
	if stored != sent {
		t.Errorf("%d of %d fixes stored 45 s after %d of their deliveries were lost", stored, sent, stolen)
		logPartition(t, p)
	}
}
