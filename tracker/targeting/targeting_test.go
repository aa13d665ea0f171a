package targeting_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// clock is a settable clock: the data's and the people's time move when the test says.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	svc        *targeting.Service
	store      *sqlitestore.Store
	data, wall *clock
	reg        *prometheus.Registry
}

var (
	district_ = targeting.Actor{Username: "zhang", Unit: tracker.UnitDistrict}
	erenhot   = targeting.Actor{Username: "wang", Unit: "port-erenhot"}
	patrol    = targeting.Actor{Username: "li", Unit: "port-erenhot"}
)

func newFixture(t *testing.T, share float64, draw float64) *fixture {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := time.Date(2026, 7, 1, 2, 0, 0, 0, time.UTC)
	f := &fixture{store: st, data: &clock{t: start}, wall: &clock{t: start}, reg: prometheus.NewRegistry()}
	for _, v := range []tracker.Vehicle{{ID: "ERN", Plate: "蒙K12345", Kind: "truck"}, {ID: "CEK", Plate: "蒙M54321", Kind: "truck"}} {
		if err := st.CreateVehicle(t.Context(), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateUser(t.Context(), tracker.User{Username: "li", Role: "patrol", Hash: "x", Unit: "port-erenhot"}); err != nil {
		t.Fatal(err)
	}
	f.svc = targeting.New(targeting.Config{Store: st, Now: f.data.now, Wall: f.wall.now,
		RandomShare: share, Rand: func() float64 { return draw }, Registerer: f.reg})
	f.svc.SetZones(district.Zones())
	if err := f.svc.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) issue(t *testing.T, by targeting.Actor, r targeting.Request) tracker.TargetOrder {
	t.Helper()
	o, err := f.svc.Issue(t.Context(), by, r)
	if err != nil {
		t.Fatalf("Issue(%+v): %v", r, err)
	}
	return o
}

func (f *fixture) order(t *testing.T, id string) tracker.TargetOrder {
	t.Helper()
	o, err := f.store.Target(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestWhereOrdersFire: an order to inspect at the next crossing fires at a port's gate or on
// arrival there and not at a yard; one to inspect at the yard the other way round; any fires on
// a declaration; none fires after its validity, which Check then expires.
func TestWhereOrdersFire(t *testing.T) {
	f := newFixture(t, 0, 0)
	ctx := t.Context()
	crossing := f.issue(t, district_, targeting.Request{VehicleID: "ERN", Reason: tracker.TargetReasonRisk, Action: tracker.TargetInspectNextCrossing})
	hit := func(via, zone string) []tracker.TargetOrder {
		t.Helper()
		hold, err := f.svc.Match(ctx, targeting.Hit{VehicleID: "ERN", ZoneID: zone, Via: via, Time: f.data.now()})
		if err != nil {
			t.Fatal(err)
		}
		return hold
	}
	if hold := hit(targeting.ViaArrival, "yard-erenhot-1"); len(hold) != 0 {
		t.Errorf("a next-crossing order fired at a yard: %+v", hold)
	}
	if hold := hit(targeting.ViaArrival, "control-erenhot"); len(hold) != 1 || hold[0].FiredVia != targeting.ViaArrival || hold[0].PortID != "port-erenhot" {
		t.Errorf("arrival in the control zone: %+v, want the order fired for Erenhot", hold)
	}
	if hold := hit(targeting.ViaArrival, "port-erenhot"); len(hold) != 0 {
		t.Errorf("a second arrival of a fired order holds again: %+v", hold)
	}
	if hold := hit(targeting.ViaGateRead, "port-erenhot"); len(hold) != 1 {
		t.Errorf("a gate read of a fired, uninspected order: %d held, want 1", len(hold))
	}

	yard := f.issue(t, district_, targeting.Request{Plate: "蒙M 54321", Reason: tracker.TargetReasonIntelligence, Action: tracker.TargetInspectAtYard})
	if yard.VehicleID != "CEK" {
		t.Errorf("an order by plate of a registered vehicle names vehicle %q, want CEK", yard.VehicleID)
	}
	if hold, _ := f.svc.Match(ctx, targeting.Hit{Plate: "蒙M54321", ZoneID: "port-ceke", Via: targeting.ViaGateRead, Time: f.data.now()}); len(hold) != 0 {
		t.Errorf("a yard order fired at a port's gate: %+v", hold)
	}
	if hold, _ := f.svc.Match(ctx, targeting.Hit{Plate: "蒙m54321 ", ZoneID: "yard-ceke-1", Via: targeting.ViaGateRead, Time: f.data.now()}); len(hold) != 1 {
		t.Errorf("a yard order at the yard's gate by plate: %d held, want 1", len(hold))
	}

	unknown := f.issue(t, erenhot, targeting.Request{Plate: "蒙K99999", Reason: tracker.TargetReasonIntelligence, Action: tracker.TargetInspectAtYard,
		ValidUntil: f.data.now().Add(time.Hour)})
	if unknown.VehicleID != "" || unknown.Level != tracker.TargetLevelPort || unknown.PortID != "port-erenhot" {
		t.Errorf("a port's order of an unregistered plate = %+v", unknown)
	}
	f.data.add(2 * time.Hour)
	if hold, _ := f.svc.Match(ctx, targeting.Hit{Plate: "蒙K99999", ZoneID: "port-erenhot", Via: targeting.ViaDeclaration, Time: f.data.now()}); len(hold) != 0 {
		t.Errorf("an order past its validity fired: %+v", hold)
	}
	if err := f.svc.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if o := f.order(t, unknown.ID); o.Status != tracker.TargetExpired || o.ClosedBy != "system" {
		t.Errorf("after its validity: %s by %q, want expired by system", o.Status, o.ClosedBy)
	}
	declared := f.issue(t, district_, targeting.Request{Plate: "蒙K99999", Reason: tracker.TargetReasonRisk, Action: tracker.TargetInspectAtYard})
	if hold, _ := f.svc.Match(ctx, targeting.Hit{Plate: "蒙K99999", ZoneID: "port-erenhot", Via: targeting.ViaDeclaration, Time: f.data.now()}); len(hold) != 1 ||
		hold[0].ID != declared.ID || hold[0].FiredVia != targeting.ViaDeclaration {
		t.Errorf("a declaration for the plate: %+v, want order %s fired", hold, declared.ID)
	}
	if o := f.order(t, crossing.ID); o.Status != tracker.TargetFired {
		t.Errorf("order %s: %s, want fired", o.ID, o.Status)
	}
}

// TestArrivalFromThePipeline: a zone entry the pipeline publishes fires the order on Run's
// goroutine; an entry of an untargeted vehicle, or into a corridor, is passed over.
func TestArrivalFromThePipeline(t *testing.T) {
	f := newFixture(t, 0, 0)
	o := f.issue(t, district_, targeting.Request{VehicleID: "ERN", Reason: tracker.TargetReasonRisk, Action: tracker.TargetInspectAtYard})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); f.svc.Run(ctx) }()
	at := f.data.now()
	f.svc.Publish(nil, []tracker.Event{
		{Type: tracker.EventZoneEnter, VehicleID: "CEK", ZoneID: "yard-ceke-1", Time: at},
		{Type: tracker.EventZoneEnter, VehicleID: "ERN", ZoneID: "corridor-erenhot-yard1", Time: at},
		{Type: tracker.EventZoneExit, VehicleID: "ERN", ZoneID: "yard-erenhot-1", Time: at},
		{Type: tracker.EventZoneEnter, VehicleID: "ERN", ZoneID: "yard-erenhot-1", Time: at.Add(time.Minute)},
	}, nil)
	for f.order(t, o.ID).Status == tracker.TargetActive {
		select {
		case <-t.Context().Done():
			t.Fatal("the arrival never fired the order")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	<-done
	got := f.order(t, o.ID)
	if got.FiredVia != targeting.ViaArrival || got.FiredZoneID != "yard-erenhot-1" || !got.FiredAt.Equal(at.Add(time.Minute)) {
		t.Errorf("fired order = %+v, want fired by the arrival at yard-erenhot-1", got)
	}
	if n := counter(t, f.reg, "bw_targets_fired_total", targeting.ViaArrival); n != 1 {
		t.Errorf("bw_targets_fired_total{via=zone_arrival} = %v, want 1", n)
	}
}

// TestEscalation: an assignment nobody accepts goes to the port's command after EscalateAfter
// and to the district after as long again; an accepted one stays where it is.
func TestEscalation(t *testing.T) {
	f := newFixture(t, 0, 0)
	ctx := t.Context()
	o := f.issue(t, district_, targeting.Request{VehicleID: "ERN", Reason: tracker.TargetReasonRisk, Action: tracker.TargetInterceptNow, PortID: "port-erenhot"})
	waiting, err := f.svc.Assign(ctx, district_, targeting.AssignRequest{OrderID: o.ID, Team: "port-erenhot"})
	if err != nil {
		t.Fatal(err)
	}
	taken, err := f.svc.Assign(ctx, erenhot, targeting.AssignRequest{OrderID: o.ID, User: "li"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Accept(ctx, patrol, taken.ID); err != nil {
		t.Fatal(err)
	}
	escalation := func(id string) string {
		a, err := f.store.Assignment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return a.Escalation
	}
	// The data's clock does not escalate: people answer on the wall clock.
	f.data.add(time.Hour)
	if err := f.svc.Check(ctx); err != nil || escalation(waiting.ID) != "" {
		t.Errorf("an hour of data time escalated the assignment to %q (%v)", escalation(waiting.ID), err)
	}
	for _, step := range []struct {
		wait time.Duration
		want string
	}{{4 * time.Minute, ""}, {time.Minute, tracker.TargetLevelPort}, {4 * time.Minute, tracker.TargetLevelPort}, {time.Minute, tracker.TargetLevelDistrict}, {time.Hour, tracker.TargetLevelDistrict}} {
		f.wall.add(step.wait)
		if err := f.svc.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if got := escalation(waiting.ID); got != step.want {
			t.Errorf("after %v more: escalated to %q, want %q", step.wait, got, step.want)
		}
		if got := escalation(taken.ID); got != "" {
			t.Errorf("an accepted assignment escalated to %q", got)
		}
	}
	if n := counter(t, f.reg, "bw_assignments_escalated_total", tracker.TargetLevelDistrict); n != 1 {
		t.Errorf("bw_assignments_escalated_total{level=district} = %v, want 1", n)
	}
}

// TestRandomDraws: with a share, a matched gate read at a port no order holds is drawn for a
// random inspection (the baseline); a yard's gate, an unknown plate and a draw above the share
// are not.
func TestRandomDraws(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, 0.02, 0.019)
	read := func(vehicle, zone string) []tracker.TargetOrder {
		hold, err := f.svc.Match(ctx, targeting.Hit{VehicleID: vehicle, Plate: "蒙K12345", ZoneID: zone, Via: targeting.ViaGateRead, Time: f.data.now()})
		if err != nil {
			t.Fatal(err)
		}
		return hold
	}
	if hold := read("", "port-erenhot"); len(hold) != 0 {
		t.Errorf("an unmatched plate drawn: %+v", hold)
	}
	if hold := read("ERN", "yard-erenhot-1"); len(hold) != 0 {
		t.Errorf("drawn at a yard: %+v", hold)
	}
	hold := read("ERN", "port-erenhot")
	if len(hold) != 1 || hold[0].Reason != tracker.TargetReasonRandom || hold[0].Status != tracker.TargetFired || hold[0].PortID != "port-erenhot" {
		t.Fatalf("draw under the share: %+v, want a fired random order", hold)
	}
	if _, err := f.svc.Report(ctx, patrol, hold[0].ID, targeting.Report{Found: false}); err != nil {
		t.Fatal(err)
	}
	st, err := f.svc.Stats(ctx, district_, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Baseline.Issued != 1 || st.Baseline.Inspected != 1 || st.Baseline.Found != 0 {
		t.Errorf("baseline = %+v, want one random inspection, nothing found", st.Baseline)
	}
	above := newFixture(t, 0.02, 0.02)
	if hold, _ := above.svc.Match(ctx, targeting.Hit{VehicleID: "ERN", ZoneID: "port-erenhot", Via: targeting.ViaGateRead, Time: above.data.now()}); len(hold) != 0 {
		t.Errorf("a draw at the share drawn: %+v", hold)
	}
}

// counter is the value of the counter name with the one label value given.
func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestNewRand: a seed repeats its draws and another seed does not; without a seed two
// generators differ (keyed from crypto/rand); the draws are in [0, 1) and about uniform.
func TestNewRand(t *testing.T) {
	draws := func(r func() float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = r()
		}
		return out
	}
	a, b, c := draws(targeting.NewRand(42), 100), draws(targeting.NewRand(42), 100), draws(targeting.NewRand(43), 100)
	if !slices.Equal(a, b) {
		t.Error("seed 42 drew two different sequences")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 42 and 43 drew the same sequence")
	}
	if slices.Equal(draws(targeting.NewRand(0), 100), draws(targeting.NewRand(0), 100)) {
		t.Error("two unseeded generators drew the same sequence")
	}
	const n, share = 20000, 0.02
	under := 0
	for _, x := range draws(targeting.NewRand(0), n) {
		if x < 0 || x >= 1 {
			t.Fatalf("draw %v outside [0, 1)", x)
		}
		if x < share {
			under++
		}
	}
	// 400 expected, standard deviation 19.8: ±100 is five of them.
	if under < 300 || under > 500 {
		t.Errorf("%d of %d draws under %v, want about %d", under, n, share, int(n*share))
	}
}

// heard records the notices told.
type heard struct {
	mu  sync.Mutex
	got []targeting.Notice
}

func (h *heard) Notify(n targeting.Notice) {
	h.mu.Lock()
	h.got = append(h.got, n)
	h.mu.Unlock()
}

// cancelled returns the orders told as cancelled, "id status port" each.
func (h *heard) cancelled() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, n := range h.got {
		if n.Kind == targeting.NoticeCancelled {
			out = append(out, n.Order.ID+" "+n.Order.Status+" "+n.PortID)
		}
	}
	return out
}

// TestEndNotices: an order cancelled and one expired are told (kind cancelled, to the order's
// port), so that the live hub takes them from the patrols sent to them at once; an order already
// ended is not told again.
func TestEndNotices(t *testing.T) {
	f := newFixture(t, 0, 0)
	ctx := t.Context()
	var h heard
	svc := targeting.New(targeting.Config{Store: f.store, Now: f.data.now, Wall: f.wall.now, Notify: &h})
	svc.SetZones(district.Zones())
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	issue := func(vehicle, port string) tracker.TargetOrder {
		o, err := svc.Issue(ctx, district_, targeting.Request{VehicleID: vehicle, Reason: tracker.TargetReasonRisk, Action: tracker.TargetInspectNextCrossing,
			PortID: port, ValidUntil: f.data.now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	cancelled, expiring := issue("ERN", "port-erenhot"), issue("CEK", "port-ceke")
	if _, err := svc.Cancel(ctx, district_, cancelled.ID, "wrong truck"); err != nil {
		t.Fatal(err)
	}
	f.data.add(2 * time.Hour)
	for range 2 {
		if err := svc.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Cancel(ctx, district_, cancelled.ID, "again"); err == nil {
		t.Error("a cancelled order cancelled again")
	}
	want := []string{cancelled.ID + " cancelled port-erenhot", expiring.ID + " expired port-ceke"}
	if got := h.cancelled(); !slices.Equal(got, want) {
		t.Errorf("told cancelled: %v, want %v", got, want)
	}
}
