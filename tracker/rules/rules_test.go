package rules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/rules"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"
)

// The test district: a border along 42°N drawn west to east (China south of it), two ports
// straddling it, a control zone around port A, a corridor from port A south to a yard.
func testZones() []geofence.Zone {
	box := func(lat0, lon0, lat1, lon1 float64) orb.Polygon {
		return orb.Polygon{{{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}}}
	}
	return []geofence.Zone{
		{ID: "border", Kind: geofence.KindBorder, Geometry: orb.LineString{{109, 42}, {111, 42}}, DomesticSide: "right"},
		{ID: "port-a", Kind: geofence.KindPort, Geometry: box(41.99, 109.98, 42.01, 110.02), Properties: map[string]any{"stop_allowed": true}},
		{ID: "port-b", Kind: geofence.KindPort, Geometry: box(41.99, 110.48, 42.01, 110.52), Properties: map[string]any{"stop_allowed": true}},
		{ID: "control-a", Kind: geofence.KindControlZone, Geometry: box(41.95, 109.9, 42.05, 110.1), Properties: map[string]any{"port_id": "port-a"}},
		{ID: "yard-a", Kind: geofence.KindYard, Geometry: box(41.79, 109.99, 41.81, 110.01), Properties: map[string]any{"stop_allowed": true}},
		{ID: "corridor-a", Kind: geofence.KindCorridor, Geometry: orb.LineString{{110, 41.995}, {110, 41.80}}, WidthM: 500},
	}
}

var t0 = time.Date(2026, 5, 4, 1, 0, 0, 0, time.UTC)

type env struct {
	t     *testing.T
	ctx   context.Context
	store *sqlitestore.Store
	path  string // the store's file, for restart
	rules *rules.Engine
	pipe  *tracker.Pipeline
	mu    sync.Mutex
	clock time.Time
}

func newEnv(t testing.TB, vehicles []tracker.Vehicle, decls []tracker.Declaration) *env {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bw.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	zones, err := st.PutZones(ctx, testZones())
	if err != nil {
		t.Fatal(err)
	}
	geo := geofence.NewEmbedded(geofence.Options{})
	if err := geo.SetZones(ctx, zones); err != nil {
		t.Fatal(err)
	}
	for _, v := range vehicles {
		if err := st.CreateVehicle(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range decls {
		if err := st.CreateDeclaration(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{ctx: ctx, store: st, path: path, clock: t0}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	reg := prometheus.NewRegistry()
	e.rules = rules.New(rules.Config{Engine: geo, Store: st, Registerer: reg, Now: e.now})
	if err := e.rules.Load(ctx); err != nil {
		t.Fatal(err)
	}
	e.pipe = tracker.NewPipeline(tracker.PipelineConfig{Store: st, Evaluator: e.rules, Registerer: reg, Now: e.now})
	t.Cleanup(e.pipe.Close)
	return e
}

// restart stops the pipeline and the store and starts them again from the store's file, with
// new rules loaded from it: all that lived only in memory is gone.
func (e *env) restart() {
	e.t.Helper()
	e.pipe.Close()
	if err := e.store.Close(); err != nil {
		e.t.Fatal(err)
	}
	st, err := sqlitestore.Open(e.ctx, e.path, sqlitestore.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	zones, err := st.Zones(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	geo := geofence.NewEmbedded(geofence.Options{})
	if err := geo.SetZones(e.ctx, zones); err != nil {
		e.t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	e.store = st
	e.rules = rules.New(rules.Config{Engine: geo, Store: st, Registerer: reg, Now: e.now})
	if err := e.rules.Load(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.pipe = tracker.NewPipeline(tracker.PipelineConfig{Store: st, Evaluator: e.rules, Registerer: reg, Now: e.now})
	e.t.Cleanup(e.pipe.Close)
	latest, err := st.LatestFixes(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.pipe.Seed(latest) // as the server does
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *env) setClock(t time.Time) {
	e.mu.Lock()
	if t.After(e.clock) {
		e.clock = t
	}
	e.mu.Unlock()
}

// submit sends fixes as they happen: one at a time, the clock at each fix's time.
func (e *env) submit(fixes ...tracker.Fix) {
	e.t.Helper()
	for _, f := range fixes {
		e.setClock(f.Time)
		if err := e.pipe.Submit(e.ctx, []tracker.Fix{f}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// backfill sends fixes in one upload, the way a terminal empties its blind-area buffer.
func (e *env) backfill(fixes []tracker.Fix) {
	e.t.Helper()
	if err := e.pipe.Submit(e.ctx, fixes); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) check(at time.Time) {
	e.t.Helper()
	e.setClock(at)
	out, err := e.rules.Check(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.emit(out.Events, out.Alerts)
}

// emit commits what the rules raised outside a fix, as the server does.
func (e *env) emit(events []tracker.Event, alerts []tracker.Alert) {
	e.t.Helper()
	if err := e.pipe.Emit(e.ctx, events, alerts); err != nil {
		e.t.Fatal(err)
	}
}

// gateRead reads a gate and commits what the rules made of it, as the server does.
func (e *env) gateRead(g tracker.GateRead) {
	e.t.Helper()
	ev, alerts := e.rules.GateRead(e.ctx, g)
	e.emit([]tracker.Event{ev}, alerts)
}

func (e *env) alerts(vehicleID string) []tracker.Alert {
	e.t.Helper()
	as, err := e.store.Alerts(e.ctx, tracker.AlertQuery{VehicleID: vehicleID})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.SortFunc(as, func(a, b tracker.Alert) int { return a.Time.Compare(b.Time) })
	return as
}

func (e *env) events(vehicleID, typ string) []tracker.Event {
	e.t.Helper()
	evs, err := e.store.Events(e.ctx, tracker.EventQuery{VehicleID: vehicleID, Type: typ})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// expect asserts the exact alert types of a vehicle, in time order.
func (e *env) expect(vehicleID string, types ...string) []tracker.Alert {
	e.t.Helper()
	as := e.alerts(vehicleID)
	got := make([]string, len(as))
	for i, a := range as {
		got[i] = a.Type
	}
	if !slices.Equal(got, types) && !(len(got) == 0 && len(types) == 0) {
		for _, a := range as {
			e.t.Logf("%s %s %s active=%v late=%v %s %s", a.Type, a.Time.Format(time.TimeOnly), a.DedupKey, a.Active, a.Late, a.Message, a.Evidence)
		}
		e.t.Fatalf("alerts of %s: got %v, want %v", vehicleID, got, types)
	}
	return as
}

// track builds a vehicle's fixes every 10 s with GPS noise (σ 5 m unless set).
type track struct {
	vehicle  string
	sigma    float64 // GPS noise, metres
	t        time.Time
	lat, lon float64
	rnd      *rand.Rand
	fixes    []tracker.Fix
}

func newTrack(vehicle string, start time.Time, lat, lon float64, seed uint64) *track {
	tr := &track{vehicle: vehicle, sigma: 5, t: start, lat: lat, lon: lon, rnd: rand.New(rand.NewPCG(seed, 1))}
	tr.emit(0)
	return tr
}

const step = 10 * time.Second

func (tr *track) emit(kmh float64) {
	dlat := tr.rnd.NormFloat64() * tr.sigma / 111320
	dlon := tr.rnd.NormFloat64() * tr.sigma / (111320 * math.Cos(tr.lat*math.Pi/180))
	tr.fixes = append(tr.fixes, tracker.Fix{VehicleID: tr.vehicle, DeviceID: "dev-" + tr.vehicle, Protocol: tracker.ProtocolJT808,
		Time: tr.t, Lat: tr.lat + dlat, Lon: tr.lon + dlon, SpeedKmh: kmh, Valid: true})
}

// to drives straight to the point.
func (tr *track) to(lat, lon, kmh float64) *track {
	d := geofence.GreatCircleM(tr.lat, tr.lon, lat, lon)
	n := int(math.Ceil(d / (kmh / 3.6 * step.Seconds())))
	lat0, lon0 := tr.lat, tr.lon
	for i := 1; i <= n; i++ {
		f := float64(i) / float64(n)
		tr.t = tr.t.Add(step)
		tr.lat, tr.lon = lat0+(lat-lat0)*f, lon0+(lon-lon0)*f
		tr.emit(kmh)
	}
	return tr
}

// wait stands still, reporting.
func (tr *track) wait(d time.Duration) *track {
	for end := tr.t.Add(d); tr.t.Before(end); {
		tr.t = tr.t.Add(step)
		tr.emit(0)
	}
	return tr
}

func (tr *track) last() tracker.Fix { return tr.fixes[len(tr.fixes)-1] }

func truck(id string) tracker.Vehicle {
	return tracker.Vehicle{ID: id, Plate: "蒙K" + id, Kind: tracker.KindTruck}
}

func inbound(id, vehicle, port string) tracker.Declaration {
	return tracker.Declaration{ID: id, VehicleID: vehicle, Direction: tracker.Inbound, PortZoneID: port,
		CorridorZoneID: "corridor-a", YardZoneID: "yard-a", ValidFrom: t0.Add(-time.Hour), ValidTo: t0.Add(12 * time.Hour),
		Status: tracker.DeclarationActive}
}

// inboundTrip drives from Mongolia through port A down the corridor into the yard.
func inboundTrip(tr *track, queue time.Duration) *track {
	return tr.to(42.005, 110.0, 40).wait(queue).to(41.985, 110.0, 20).to(41.80, 110.0, 60).wait(30 * time.Minute)
}

func evidenceOf(t *testing.T, a tracker.Alert) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Evidence, &m); err != nil {
		t.Fatalf("evidence of %s: %v", a.DedupKey, err)
	}
	return m
}

func TestNormalInboundTrip(t *testing.T) {
	for _, sigma := range []float64{5, 20} {
		t.Run(fmt.Sprintf("noise %.0fm", sigma), func(t *testing.T) { testNormalInboundTrip(t, sigma) })
	}
}

func testNormalInboundTrip(t *testing.T, sigma float64) {
	e := newEnv(t, []tracker.Vehicle{truck("n1")}, []tracker.Declaration{inbound("d-n1", "n1", "port-a")})
	tr := newTrack("n1", t0, 42.05, 110.0, 1)
	tr.sigma = sigma
	inboundTrip(tr, 20*time.Minute)
	e.submit(tr.fixes...)
	e.check(tr.t.Add(time.Minute))
	e.expect("n1")
	d, err := e.store.Declaration(e.ctx, "d-n1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != tracker.DeclarationCompleted {
		t.Errorf("declaration %s, want completed", d.Status)
	}
	// The queue at the port and the stay in the yard are stops; the yard one has not ended.
	if n := len(e.events("n1", tracker.EventStopStart)); n != 2 {
		t.Errorf("%d stop_start events, want 2", n)
	}
	ends := e.events("n1", tracker.EventStopEnd)
	if len(ends) != 1 {
		t.Fatalf("%d stop_end events, want 1", len(ends))
	}
	if s, _ := ends[0].Attrs["duration_s"].(float64); s < 19*60 || s > 21*60 {
		t.Errorf("queue stop lasted %v s, want about 1200", s)
	}
	crosses := e.events("n1", tracker.EventBorderCross)
	if len(crosses) != 1 || crosses[0].Attrs["port_zone_id"] != "port-a" {
		t.Errorf("border crossings %+v, want one at port-a", crosses)
	}
}

func TestDetour(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("x1")}, []tracker.Declaration{inbound("d-x1", "x1", "port-a")})
	tr := newTrack("x1", t0, 42.05, 110.0, 2).to(42.005, 110.0, 40).to(41.9, 110.0, 60).
		to(41.9, 110.04, 40).to(41.85, 110.04, 40).to(41.85, 110.0, 40).to(41.80, 110.0, 60).wait(5 * time.Minute)
	e.submit(tr.fixes...)
	as := e.expect("x1", tracker.AlertDetour)
	a := as[0]
	if a.Active || a.DeclarationID == nil || *a.DeclarationID != "d-x1" || a.ZoneID == nil || *a.ZoneID != "corridor-a" {
		t.Errorf("detour %+v: want closed, on d-x1 and corridor-a", a)
	}
	if m := evidenceOf(t, a); m["max_off_m"].(float64) < 2500 {
		t.Errorf("detour evidence %v: want max_off_m about 2800", m)
	}
}

// A short excursion (2 min at most) or jitter at the corridor's edge is no detour.
func TestShortExcursionIsNoDetour(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("x2")}, []tracker.Declaration{inbound("d-x2", "x2", "port-a")})
	tr := newTrack("x2", t0, 42.05, 110.0, 3).to(42.005, 110.0, 40).to(41.9, 110.0, 60).
		to(41.9, 110.008, 30).to(41.895, 110.008, 30).to(41.895, 110.0, 30).to(41.80, 110.0, 60).wait(5 * time.Minute)
	e.submit(tr.fixes...)
	e.expect("x2")
}

func TestUnauthorizedStop(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("s1")}, []tracker.Declaration{inbound("d-s1", "s1", "port-a")})
	tr := newTrack("s1", t0, 42.05, 110.0, 4).to(42.005, 110.0, 40).to(41.9, 110.0, 60).wait(15*time.Minute).
		to(41.80, 110.0, 60).wait(5 * time.Minute)
	e.submit(tr.fixes...)
	a := e.expect("s1", tracker.AlertUnauthorizedStop)[0]
	if a.Active {
		t.Error("unauthorized_stop still active after the vehicle drove on")
	}
	if m := evidenceOf(t, a); m["duration_s"].(float64) < 14*60 {
		t.Errorf("evidence %v: want duration about 900 s", m)
	}
}

func TestBorderCrossingOutsidePort(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("b1")}, nil)
	tr := newTrack("b1", t0, 42.05, 110.3, 5).to(41.95, 110.3, 50).to(41.9, 110.3, 50)
	e.submit(tr.fixes...)
	a := e.expect("b1", tracker.AlertBorderCrossingOutsidePort)[0]
	if a.Severity != tracker.SeverityCritical || a.Late || math.Abs(a.Lat-42) > 0.001 {
		t.Errorf("alert %+v: want critical, not late, at the line", a)
	}
}

func TestCrossingMismatch(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("m1")}, []tracker.Declaration{inbound("d-m1", "m1", "port-b")})
	tr := inboundTrip(newTrack("m1", t0, 42.05, 110.0, 6), 5*time.Minute)
	e.submit(tr.fixes...)
	a := e.expect("m1", tracker.AlertCrossingMismatch)[0]
	if a.ZoneID == nil || *a.ZoneID != "port-a" || a.DeclarationID == nil || *a.DeclarationID != "d-m1" {
		t.Errorf("alert %+v: want zone port-a, declaration d-m1", a)
	}
}

// A smuggler shields the terminal near the border, crosses in the desert east of the port and
// reappears near it. Live, the direct segment across the gap passes through the port; the
// blind-area upload shows where the vehicle really crossed.
func TestLateBackfillCrossing(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("l1")}, nil)
	tr := newTrack("l1", t0, 42.08, 110.0, 7).to(42.03, 110.0, 40).
		to(42.03, 110.04, 80).to(41.97, 110.04, 80).to(41.97, 110.0, 80).to(41.9, 110.0, 40)
	var live, buffered []tracker.Fix
	gapFrom, gapTo := t0.Add(0), time.Time{}
	for _, f := range tr.fixes {
		if f.Lat > 42.03-1e-3 && f.Lon < 0.001+110 || f.Lat < 41.97+1e-3 && f.Lon < 110.001 {
			live = append(live, f)
			continue
		}
		if gapTo.IsZero() {
			gapFrom = f.Time
		}
		gapTo = f.Time
		f.Flags = []string{tracker.FlagBlindArea}
		buffered = append(buffered, f)
	}
	if gapTo.Sub(gapFrom) > 14*time.Minute {
		t.Fatalf("gap of %s: the test wants one shorter than the signal-lost limit", gapTo.Sub(gapFrom))
	}
	e.submit(live...)
	// Live, the gap looked like a crossing at the port and nothing was raised.
	crosses := e.events("l1", tracker.EventBorderCross)
	if len(crosses) != 1 || crosses[0].Attrs["port_zone_id"] != "port-a" {
		t.Fatalf("live crossings %+v, want one at port-a", crosses)
	}
	e.expect("l1")
	e.backfill(buffered)
	a := e.expect("l1", tracker.AlertBorderCrossingOutsidePort)[0]
	if !a.Late || math.Abs(a.Lon-110.04) > 0.002 || math.Abs(a.Lat-42) > 0.001 {
		t.Errorf("alert %+v: want late, at 42N 110.04E", a)
	}
	late := 0
	for _, ev := range e.events("l1", tracker.EventBorderCross) {
		if ev.Late && ev.Attrs["port_zone_id"] == nil {
			late++
		}
	}
	if late != 1 {
		t.Errorf("%d late border_cross events outside a port, want 1", late)
	}
	e.check(tr.t.Add(time.Minute))
	e.expect("l1", tracker.AlertBorderCrossingOutsidePort)
}

func TestSignalLost(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("g1")}, []tracker.Declaration{inbound("d-g1", "g1", "port-a")})
	tr := newTrack("g1", t0, 42.05, 110.0, 8).to(42.005, 110.0, 40).to(41.9, 110.0, 60)
	e.submit(tr.fixes...)
	dark := tr.last()
	e.check(dark.Time.Add(10 * time.Minute))
	e.expect("g1")
	e.check(dark.Time.Add(16 * time.Minute))
	e.check(dark.Time.Add(17 * time.Minute))
	if a := e.expect("g1", tracker.AlertSignalLost)[0]; !a.Active {
		t.Error("signal_lost not active while dark")
	}
	// 25 minutes later it reappears 5 km on.
	tr.t = tr.t.Add(25 * time.Minute)
	tr.lat = 41.855
	tr.emit(60)
	tr.to(41.80, 110.0, 60).wait(5 * time.Minute)
	e.submit(tr.fixes[indexAfter(tr.fixes, dark.Time):]...)
	a := e.expect("g1", tracker.AlertSignalLost)[0]
	m := evidenceOf(t, a)
	if a.Active || m["duration_s"].(float64) < 25*60 || m["distance_m"].(float64) < 4500 {
		t.Errorf("signal_lost %+v %v: want closed with 25 min and 5 km", a, m)
	}
}

// A terminal dark across the border uploads its buffer when the signal returns, newest fixes
// last, marked late by the gateway. The buffer continues the track: the crossing lies at the
// port, and the silence is signal loss however close together the buffered fixes are.
func TestBlindUploadInOrder(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("g2")}, []tracker.Declaration{inbound("d-g2", "g2", "port-a")})
	tr := newTrack("g2", t0, 42.06, 110.0, 25).to(42.005, 110.0, 40).to(41.80, 110.0, 40).wait(5 * time.Minute)
	var live, buffered []tracker.Fix
	for _, f := range tr.fixes {
		if f.Lat < 42.03 && f.Lat > 41.85 {
			f.Late, f.Flags = true, []string{tracker.FlagBlindArea}
			buffered = append(buffered, f)
		} else if len(buffered) == 0 {
			live = append(live, f)
		}
	}
	e.submit(live...)
	e.setClock(buffered[len(buffered)-1].Time)
	e.backfill(buffered)
	e.submit(tr.fixes[len(live)+len(buffered):]...)
	a := e.expect("g2", tracker.AlertSignalLost)[0]
	if m := evidenceOf(t, a); m["duration_s"].(float64) < 20*60 {
		t.Errorf("signal_lost evidence %v: want the 20 min without reception", m)
	}
	crosses := e.events("g2", tracker.EventBorderCross)
	if len(crosses) != 1 || crosses[0].Attrs["port_zone_id"] != "port-a" {
		t.Errorf("border crossings %+v, want one at port-a", crosses)
	}
}

// A terminal that goes dark just before its declaration starts is dark on a declaration.
func TestSignalLostAsDeclarationStarts(t *testing.T) {
	d := inbound("d-g3", "g3", "port-a")
	d.ValidFrom = t0.Add(5 * time.Minute)
	e := newEnv(t, []tracker.Vehicle{truck("g3")}, []tracker.Declaration{d})
	tr := newTrack("g3", t0, 42.3, 110.0, 26).wait(4 * time.Minute)
	e.submit(tr.fixes...)
	e.check(t0.Add(19 * time.Minute))
	e.expect("g3")
	e.check(t0.Add(21 * time.Minute))
	e.expect("g3", tracker.AlertSignalLost)
}

func indexAfter(fixes []tracker.Fix, t time.Time) int {
	for i, f := range fixes {
		if f.Time.After(t) {
			return i
		}
	}
	return len(fixes)
}

func TestOverstay(t *testing.T) {
	car := func(id string) tracker.Vehicle {
		return tracker.Vehicle{ID: id, Plate: "蒙A" + id, Kind: tracker.KindResidentCar, CardID: "card-" + id}
	}
	deadline := t0.Add(3 * time.Hour)
	decl := func(id, v string) tracker.Declaration {
		d := inbound(id, v, "port-a")
		d.ValidTo = deadline
		return d
	}
	e := newEnv(t, []tracker.Vehicle{car("r1"), car("r2")}, []tracker.Declaration{decl("d-r1", "r1"), decl("d-r2", "r2")})
	// r1 stays in the yard; r2 waits in the port and drives back out before its deadline.
	stay := inboundTrip(newTrack("r1", t0, 42.05, 110.0, 9), 5*time.Minute)
	back := newTrack("r2", t0, 42.05, 110.0, 10).to(41.995, 110.0, 40).wait(40*time.Minute).to(42.08, 110.0, 40)
	e.submit(stay.fixes...)
	e.submit(back.fixes...)
	e.check(deadline.Add(-time.Minute))
	e.expect("r1")
	e.check(deadline.Add(time.Minute))
	e.check(deadline.Add(2 * time.Minute))
	if a := e.expect("r1", tracker.AlertOverstay)[0]; a.DeclarationID == nil || *a.DeclarationID != "d-r1" {
		t.Errorf("overstay %+v: want declaration d-r1", a)
	}
	e.expect("r2")
	d, err := e.store.Declaration(e.ctx, "d-r2")
	if err != nil || d.Status != tracker.DeclarationCompleted {
		t.Errorf("d-r2: %v %v, want completed by the exit", d.Status, err)
	}
}

func TestMeeting(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("t1"), truck("t2"), truck("t3")}, nil)
	a := newTrack("t1", t0, 41.6, 110.3, 11).to(41.7, 110.3, 60).wait(15*time.Minute).to(41.8, 110.3, 60)
	b := newTrack("t2", t0.Add(2*time.Minute), 41.7, 110.4, 12).to(41.7005, 110.3, 60).wait(14*time.Minute).to(41.7, 110.4, 60)
	// t3 stops 1 km away at the same time: no meeting.
	c := newTrack("t3", t0, 41.6, 110.31, 13).to(41.7, 110.312, 60).wait(15 * time.Minute)
	all := slices.Concat(a.fixes, b.fixes, c.fixes)
	slices.SortStableFunc(all, func(x, y tracker.Fix) int { return x.Time.Compare(y.Time) })
	for _, f := range all {
		e.submit(f)
		if f.Time.Second() == 0 {
			e.check(f.Time)
		}
	}
	as := e.alerts("")
	if len(as) != 1 || as[0].Type != tracker.AlertMeeting || as[0].VehicleID != "t1" {
		t.Fatalf("alerts %+v, want one meeting of t1 and t2", as)
	}
	if vs := evidenceOf(t, as[0])["vehicles"].([]any); len(vs) != 2 || vs[1] != "t2" {
		t.Errorf("meeting evidence vehicles %v", vs)
	}
}

func TestGateMismatch(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("k1"), truck("k2")},
		[]tracker.Declaration{inbound("d-k1", "k1", "port-a"), inbound("d-k2", "k2", "port-b")})
	near := newTrack("k1", t0, 42.05, 110.0, 14).to(42.005, 110.0, 40)
	far := newTrack("k2", t0, 41.6, 110.3, 15).to(41.61, 110.3, 40)
	e.submit(near.fixes...)
	e.submit(far.fixes...)
	at := near.t.Add(time.Minute)
	for _, g := range []tracker.GateRead{
		{GateZoneID: "port-a", Time: at, Plate: "蒙Kk1", Direction: "in"},
		{GateZoneID: "port-a", Time: at, Plate: "蒙K k2", Direction: "in"},
		{GateZoneID: "port-a", Time: at, Plate: "UNKNOWN", Direction: "in"},
	} {
		e.gateRead(g)
	}
	e.expect("k1")
	// k2's last fix is minutes older than the read: its position at the read is judged when a
	// later fix comes, or on the last one once GateMaxAge has passed without one.
	e.expect("k2")
	e.check(at.Add(31 * time.Minute))
	a := e.expect("k2", tracker.AlertSignalLost, tracker.AlertGateMismatch)[1] // silent on a declaration
	if rs := evidenceOf(t, a)["reasons"].([]any); len(rs) != 2 {
		t.Errorf("reasons %v, want distance and declared port", rs)
	}
	reads := e.events("", tracker.EventGateRead)
	if len(reads) != 3 {
		t.Errorf("%d gate_read events, want 3", len(reads))
	}
}

// A vehicle whose plate was changed in the registry is no longer found by its old plate: a
// gate read of the old plate is of an unknown vehicle, not of this one.
func TestGateReadOldPlate(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("k5")}, nil)
	v := truck("k5")
	v.Plate = "蒙K 99999"
	e.rules.VehicleChanged(e.ctx, v)
	e.gateRead(tracker.GateRead{GateZoneID: "port-a", Time: t0, Plate: "蒙K k5", Direction: "in"})
	e.gateRead(tracker.GateRead{GateZoneID: "port-a", Time: t0.Add(time.Minute), Plate: "蒙K99999", Direction: "in"})
	reads := e.events("", tracker.EventGateRead)
	if len(reads) != 2 || reads[0].VehicleID != "" || reads[1].VehicleID != "k5" {
		t.Errorf("gate reads %+v: want the old plate unknown, the new one k5", reads)
	}
}

// A gate read may overtake the fixes of its time (a busy gateway, a terminal's buffer): it is
// judged on the position at its time once those fixes arrive, not on a stale one.
func TestGateReadBeforeFixes(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("k3"), truck("k4")}, nil)
	// k3 waits 6 km north of port A, then drives through it; k4 stands 40 km away.
	honest := newTrack("k3", t0, 42.06, 110.0, 23).wait(20*time.Minute).to(42.005, 110.0, 40).wait(2*time.Minute).to(41.95, 110.0, 40)
	cloned := newTrack("k4", t0, 41.6, 110.3, 24).wait(40 * time.Minute)
	e.submit(honest.fixes[:10]...)
	e.submit(cloned.fixes[:10]...)
	var at time.Time
	for _, f := range honest.fixes {
		if f.Lat < 42.006 {
			at = f.Time
			break
		}
	}
	for _, g := range []tracker.GateRead{
		{GateZoneID: "port-a", Time: at, Plate: "蒙Kk3", Direction: "in"},
		{GateZoneID: "port-a", Time: at, Plate: "蒙Kk4", Direction: "in"},
	} {
		e.gateRead(g)
	}
	e.expect("k3")
	e.expect("k4")
	e.submit(honest.fixes[10:]...)
	e.submit(cloned.fixes[10:]...)
	e.check(honest.t)
	e.expect("k3")
	a := e.expect("k4", tracker.AlertGateMismatch)[0]
	if m := evidenceOf(t, a); m["distance_m"].(float64) < 30000 {
		t.Errorf("evidence %v: want the position 40 km away", m)
	}
}

// The reverse: across the gap the direct segment crosses outside the port and raises an alert
// live; the blind-area fixes show the vehicle drove through the port. The alert is closed.
func TestLateBackfillDisprovesCrossing(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("l2")}, nil)
	tr := newTrack("l2", t0, 42.08, 110.04, 16).to(42.03, 110.04, 40).
		to(42.03, 110.0, 60).to(41.97, 110.0, 60).to(41.97, 110.04, 60).to(41.9, 110.04, 40)
	var live, buffered []tracker.Fix
	for _, f := range tr.fixes {
		if f.Lon > 110.039 {
			live = append(live, f)
		} else {
			buffered = append(buffered, f)
		}
	}
	e.submit(live...)
	// 13 min dark, long enough to drive through port A: live, where it crossed is unknown.
	if a := e.expect("l2", tracker.AlertBorderCrossingUnverified)[0]; a.Late || a.Severity != tracker.SeverityWarning {
		t.Fatalf("live alert %+v: want a warning, not late", a)
	}
	e.backfill(buffered)
	a := e.expect("l2", tracker.AlertBorderCrossingUnverified)[0]
	if a.Active || !a.Late || evidenceOf(t, a)["disproved_by_backfill"] != true {
		t.Errorf("alert %+v %s: want inactive, late, disproved", a, a.Evidence)
	}
	var ports []any
	for _, ev := range e.events("l2", tracker.EventBorderCross) {
		ports = append(ports, ev.Attrs["port_zone_id"])
	}
	if len(ports) != 2 || ports[0] != nil || ports[1] != "port-a" {
		t.Errorf("border_cross ports %v, want the live one outside and the late one at port-a", ports)
	}
}

func outbound(id, vehicle string) tracker.Declaration {
	d := inbound(id, vehicle, "port-a")
	d.Direction = tracker.Outbound
	return d
}

func TestOutbound(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("o1"), truck("o2")}, []tracker.Declaration{outbound("d-o1", "o1"), outbound("d-o2", "o2")})
	normal := newTrack("o1", t0, 41.80, 110.0, 17).wait(20*time.Minute).to(41.985, 110.0, 60).to(42.005, 110.0, 20).
		wait(30*time.Minute).to(42.08, 110.0, 40)
	detour := newTrack("o2", t0, 41.80, 110.0, 18).to(41.85, 110.0, 60).to(41.85, 110.04, 40).to(41.9, 110.04, 40).
		to(41.9, 110.0, 40).to(42.005, 110.0, 40).to(42.08, 110.0, 40)
	e.submit(normal.fixes...)
	e.submit(detour.fixes...)
	e.check(detour.t.Add(time.Minute))
	e.expect("o1")
	if a := e.expect("o2", tracker.AlertDetour)[0]; a.Active {
		t.Error("detour still active")
	}
	for _, id := range []string{"d-o1", "d-o2"} {
		if d, err := e.store.Declaration(e.ctx, id); err != nil || d.Status != tracker.DeclarationCompleted {
			t.Errorf("%s: %s %v, want completed at the exit", id, d.Status, err)
		}
	}
}

// A detour still under way when the declaration expires is closed with it.
func TestDetourEndsWithDeclaration(t *testing.T) {
	d := inbound("d-x3", "x3", "port-a")
	d.ValidTo = t0.Add(40 * time.Minute)
	e := newEnv(t, []tracker.Vehicle{truck("x3")}, []tracker.Declaration{d})
	tr := newTrack("x3", t0, 42.05, 110.0, 19).to(42.005, 110.0, 40).to(41.9, 110.0, 60).to(41.9, 110.1, 40)
	e.submit(tr.fixes...)
	if a := e.expect("x3", tracker.AlertDetour)[0]; !a.Active {
		t.Fatal("detour not active while off the corridor")
	}
	e.check(d.ValidTo.Add(time.Second))
	if a := e.expect("x3", tracker.AlertDetour)[0]; a.Active {
		t.Error("detour active after the declaration expired")
	}
}

func TestOverstayWithoutDeclaration(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{{ID: "r3", Plate: "蒙Ar3", Kind: tracker.KindResidentCar}}, nil)
	tr := newTrack("r3", t0, 42.05, 110.0, 20).to(41.995, 110.0, 30).wait(5*time.Minute).to(41.80, 110.0, 60)
	e.submit(tr.fixes...)
	e.check(t0.Add(23 * time.Hour))
	e.expect("r3")
	e.check(t0.Add(25 * time.Hour))
	if a := e.expect("r3", tracker.AlertOverstay)[0]; a.DeclarationID != nil {
		t.Errorf("overstay %+v names a declaration", a)
	}
}

// A resident car's track of three days ago arriving now, in order (a buffer emptied without
// the blind-area mark, the simulator's history): a check between its way in and its way out
// is no overstay. The control car's fixes stop coming while it is in: overstay once they have
// stopped for a while.
func TestOverstayCatchingUp(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{{ID: "r4", Plate: "蒙Ar4", Kind: tracker.KindResidentCar}, {ID: "r5", Plate: "蒙Ar5", Kind: tracker.KindResidentCar}}, nil)
	now := t0.Add(72 * time.Hour)
	e.setClock(now)
	in := newTrack("r4", t0, 42.05, 110.0, 23).to(41.995, 110.0, 30).wait(5 * time.Minute)
	e.submit(in.fixes...)
	e.check(now.Add(time.Minute))
	n := len(in.fixes)
	e.submit(in.to(42.08, 110.0, 30).fixes[n:]...)
	e.check(now.Add(10 * time.Minute))
	e.expect("r4")
	ctl := newTrack("r5", t0, 42.05, 110.0, 24).to(41.995, 110.0, 30).wait(5 * time.Minute)
	e.submit(ctl.fixes...)
	e.check(now.Add(11 * time.Minute))
	e.expect("r5")
	e.check(now.Add(24 * time.Minute))
	e.expect("r5") // a terminal sending its past (received at now+10) is waited for as long as a signal may be lost
	e.check(now.Add(26 * time.Minute))
	e.expect("r5", tracker.AlertSignalLost, tracker.AlertOverstay) // silent in the control zone, and not out
}

// Inside a control zone signal loss matters without a declaration too; outside, it does not.
func TestSignalLostInControlZone(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("c1"), truck("c2")}, nil)
	in := newTrack("c1", t0, 42.08, 110.0, 21).to(42.03, 110.0, 40).wait(5 * time.Minute)
	out := newTrack("c2", t0, 41.7, 110.3, 22).to(41.6, 110.3, 40)
	e.submit(in.fixes...)
	e.submit(out.fixes...)
	e.check(in.t.Add(20 * time.Minute))
	if a := e.expect("c1", tracker.AlertSignalLost)[0]; !a.Active || a.DeclarationID != nil {
		t.Errorf("signal_lost %+v: want active, no declaration", a)
	}
	e.expect("c2")
}
