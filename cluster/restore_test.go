package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/borderwatch/borderwatch/cluster/clustertest"
	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/pgstore"
)

// TestTakeOverRestoresRuleState hands a partition over after its vehicles' fixes have left the
// replay window, so that only what a restart restores from the store carries their rules'
// state: a vehicle mid-SOS incident, one stopped in an emergency declaration's window and one
// whose driver mismatch was already raised. Nothing may be raised twice, and what the
// emergency window held back must still come out in its review.
func TestTakeOverRestoresRuleState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, _ := startCluster(t)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, d := range []tracker.Declaration{
		{ID: "dec-em", VehicleID: "veh-em", Direction: tracker.Inbound, Type: tracker.DeclarationEmergency,
			ValidFrom: t0.Add(-time.Hour), ValidTo: t0.Add(25 * time.Minute)},
		{ID: "dec-dr", VehicleID: "veh-dr", Direction: tracker.Inbound, DriverCard: "DRV-OK",
			ValidFrom: t0.Add(-time.Hour), ValidTo: t0.Add(2 * time.Hour)},
	} {
		if err := st.CreateDeclaration(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	h := startHandover(t, nats, st)
	gw := NewGateway(h.gw, nil)
	sent := 0
	send := func(from, to int) {
		for i := from; i < to; i++ {
			at := t0.Add(time.Duration(i) * 10 * time.Second)
			fixes := []tracker.Fix{
				// Pressing SOS all along, parked outside every zone.
				{VehicleID: "veh-sos", DeviceID: "dev-sos", Protocol: "jt808", Time: at, Lat: 43.40, Lon: 111.70, Valid: true, Flags: []string{tracker.FlagSOS}},
				// Stopped on its emergency trip in the control zone, on the domestic side of the
				// border: an unauthorized stop the
				// window holds back.
				{VehicleID: "veh-em", DeviceID: "dev-em", Protocol: "jt808", Time: at, Lat: 43.65, Lon: 111.95, Valid: true},
			}
			if err := gw.Submit(ctx, fixes); err != nil {
				t.Fatal(err)
			}
			sent += len(fixes)
		}
	}
	waitStored := func() {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var n int
			if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM fixes`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == sent {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d fixes stored, %d sent", n, sent)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	send(0, 30)
	// The driver's card, read by the terminal at A (judged by the vehicle's owner): another
	// driver's than the declaration names.
	card := func(at time.Time) tracker.Event {
		return tracker.Event{Type: tracker.EventDriverIdentity, Time: at, VehicleID: "veh-dr", Lat: 43.5, Lon: 111.8,
			Attrs: map[string]any{"inserted": true, "card_id": "DRV-X", "device_id": "dev-dr"}}
	}
	out := h.a.rules.Event(ctx, card(t0.Add(100*time.Second)))
	if len(out.Alerts) != 1 || out.Alerts[0].Type != tracker.AlertDriverMismatch {
		t.Fatalf("the other driver's card raised %+v, want one driver_mismatch", out.Alerts)
	}
	if err := st.Commit(ctx, &tracker.Batch{Events: out.Events, Alerts: out.Alerts}); err != nil {
		t.Fatal(err)
	}
	waitStored()
	b := h.handOver()
	for _, p := range []string{"veh-sos", "veh-em", "veh-dr"} {
		for !b.tr.Owns(p) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	send(30, 120) // 20 minutes of device time in all: the stop is long past 10 min
	waitStored()
	if out := b.rules.Event(ctx, card(t0.Add(300*time.Second))); len(out.Alerts) != 0 {
		t.Errorf("the same card read again after the handover raised %+v, want nothing (its mismatch was raised before)", out.Alerts)
	}
	raised := map[string]int{}
	rows, err := st.Pool().Query(ctx, `SELECT vehicle_id || ' ' || type FROM alerts`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		raised[k]++
	}
	rows.Close()
	if raised["veh-sos sos"] != 1 {
		t.Errorf("SOS pressed all along across the handover raised %d sos alerts, want 1 (%v)", raised["veh-sos sos"], raised)
	}
	var enters int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE vehicle_id = 'veh-em' AND type = 'zone_enter'`).Scan(&enters); err != nil {
		t.Fatal(err)
	}
	if enters != 1 {
		t.Errorf("parked in the control zone across the handover, veh-em entered it %d times, want 1", enters)
	}
	if n := raised["veh-em unauthorized_stop"]; n != 0 {
		t.Errorf("the stop in the emergency window raised %d unauthorized_stop alerts, want them held back for the review", n)
	}
	// The window is over (its valid_to is past): the timer raises its review, listing the stop.
	check, err := b.rules.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reviews := 0
	for _, al := range check.Alerts {
		if al.Type != tracker.AlertEmergencyReview {
			continue
		}
		reviews++
		var ev struct {
			Held []struct {
				Type string `json:"type"`
			} `json:"would_have_alerted"`
		}
		if err := json.Unmarshal(al.Evidence, &ev); err != nil || len(ev.Held) != 1 || ev.Held[0].Type != tracker.AlertUnauthorizedStop {
			t.Errorf("emergency review holds %s, want the one unauthorized stop", al.Evidence)
		}
	}
	if reviews != 1 {
		t.Errorf("%d emergency reviews after the window, want 1", reviews)
	}
}

// handover is tracker A owning every partition, to be handed over to B, both with a replay
// window of a second, and a gateway's connection.
type handover struct {
	t    *testing.T
	nats *clustertest.NATS
	st   *pgstore.Store
	gw   *Conn
	a    *trackerNode
}

func startHandover(t *testing.T, nats *clustertest.NATS, st *pgstore.Store) *handover {
	t.Helper()
	h := &handover{t: t, nats: nats, st: st, a: startTracker(t, nats.URLs(), "A", st, shortReplay)}
	var err error
	if h.gw, err = Dial(context.Background(), Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.gw.Close)
	waitOwned(t, h.gw, "A")
	return h
}

// handOver waits until what was sent is out of the replay window, so that the replay finds
// none of the vehicles' fixes, stops A and returns B once it owns every partition.
func (h *handover) handOver() *trackerNode {
	h.t.Helper()
	time.Sleep(2 * time.Second)
	h.a.stop()
	b := startTracker(h.t, h.nats.URLs(), "B", h.st, shortReplay)
	waitOwned(h.t, h.gw, "B")
	return b
}

func shortReplay(c *Config, _ *TrackerConfig) { c.ReplayWindow = time.Second }

// countingState counts the restores of a tracker's State (startTracker fills State).
type countingState struct {
	State
	restores atomic.Int32
}

func (s *countingState) Restore(ctx context.Context, match func(string) bool) error {
	s.restores.Add(1)
	return s.State.Restore(ctx, match)
}

// TestTakeOverRestoresOncePerRound: a tracker taking all 64 partitions, then the 32 of a tracker
// killed, reads what Restore reads once per round of take-overs, not once per partition; the
// state restored is each vehicle's all the same (TestTakeOverRestoresRuleState).
func TestTakeOverRestoresOncePerRound(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, _ := startCluster(t)
	counted := func(cs *countingState) func(*Config, *TrackerConfig) {
		return func(_ *Config, c *TrackerConfig) { c.State = cs }
	}
	var a, b countingState
	na := startTracker(t, nats.URLs(), "A", st, counted(&a))
	g, err := Dial(context.Background(), Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	waitOwned(t, g, "A")
	if n := a.restores.Load(); n > 2 {
		t.Errorf("A restored %d times taking 64 partitions, want once per round (1, 2 if a lease came late)", n)
	}
	t.Logf("A took 64 partitions with %d restores", a.restores.Load())
	nb := startTracker(t, nats.URLs(), "B", st, counted(&b))
	for deadline := time.Now().Add(60 * time.Second); nb.tr.serving() < 32; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("B serves %d partitions, want its share of 32", nb.tr.serving())
		}
	}
	before := a.restores.Load()
	nb.crash()
	waitOwned(t, g, "A")
	for deadline := time.Now().Add(60 * time.Second); na.tr.serving() < 64; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("A serves %d partitions after B's death, want 64", na.tr.serving())
		}
	}
	if n := a.restores.Load() - before; n > 3 || n == 0 {
		t.Errorf("A restored %d times taking B's partitions over, want once per round (up to 3: B took them in rounds too)", n)
	}
	t.Logf("A took B's partitions with %d restores; B took its share with %d", a.restores.Load()-before, b.restores.Load())
}

// serving is how many partitions the tracker serves (taken over).
func (t *Tracker) serving() int {
	n := 0
	for i := range t.owns {
		if t.owns[i].Load() {
			n++
		}
	}
	return n
}

// TestTakeOverRestoresWeighingTrip hands a partition over after a declared truck crossed in and
// arrived in its yard (which completed its declaration), once those fixes have left the replay
// window: the new owner still matches a weighbridge reading in the yard to the trip, and the
// truck's overweight is a weight_mismatch of its declaration.
func TestTakeOverRestoresWeighingTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, _ := startCluster(t)
	ctx := context.Background()
	yard := geofence.Zone{ID: "yard-wt", Name: "test yard", Kind: geofence.KindYard,
		Geometry: orb.Polygon{{{111.95, 43.62}, {111.97, 43.62}, {111.97, 43.64}, {111.95, 43.64}, {111.95, 43.62}}}}
	if _, err := st.PutZones(ctx, []geofence.Zone{testZone, testBorder, yard}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateVehicle(ctx, tracker.Vehicle{ID: "veh-wt", Kind: tracker.KindTruck, Plate: "蒙K·WT001"}); err != nil {
		t.Fatal(err)
	}
	// Within the weighing grace (30 min) of now, so that the reading below is the trip's.
	t0 := time.Now().Add(-15 * time.Minute).Truncate(time.Second)
	net := 30000.0
	if err := st.CreateDeclaration(ctx, tracker.Declaration{ID: "dec-wt", VehicleID: "veh-wt", Direction: tracker.Inbound,
		PortZoneID: "port-wt", YardZoneID: "yard-wt", ValidFrom: t0.Add(-time.Hour), ValidTo: t0.Add(5 * time.Hour),
		Cargo: "炼焦煤", DeclaredNetKg: &net}); err != nil {
		t.Fatal(err)
	}
	h := startHandover(t, nats, st)
	// East across the border (inbound) into the yard, 58 km/h, then parked there 5 minutes.
	var fixes []tracker.Fix
	for i := range 70 {
		lon := min(111.88+float64(i)*0.002, 111.96)
		fixes = append(fixes, tracker.Fix{VehicleID: "veh-wt", DeviceID: "dev-wt", Protocol: "jt808",
			Time: t0.Add(time.Duration(i) * 10 * time.Second), Lat: 43.63, Lon: lon, Valid: true})
	}
	gw := NewGateway(h.gw, nil)
	for _, f := range fixes {
		if err := gw.Submit(ctx, []tracker.Fix{f}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		d, err := st.Declaration(ctx, "dec-wt")
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == tracker.DeclarationCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("declaration %s 60 s after the truck drove into its yard, want completed", d.Status)
		}
	}
	h.handOver()
	r := NewRouter(h.gw, func(tracker.GateRead) string { return "veh-wt" })
	reading := tracker.Weighing{ScaleID: "scale-wt", ZoneID: "yard-wt", Time: fixes[len(fixes)-1].Time,
		Plate: "蒙K·WT001", GrossKg: 55000, TareKg: 15000, NetKg: 40000}
	w, alerts, err := r.Weighing(ctx, reading)
	// B serves the partition once it has restored it: a take-over of 64 partitions takes a
	// minute and more on two cores at the suite's load, and asking in a tight loop slows it.
	for deadline := time.Now().Add(2 * time.Minute); errors.Is(err, ErrNoOwner) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		w, alerts, err = r.Weighing(ctx, reading)
	}
	if err != nil {
		t.Fatal(err)
	}
	if w.VehicleID != "veh-wt" || w.DeclarationID != "dec-wt" {
		t.Errorf("reading in the yard after the take-over matched to %q, %q, want veh-wt, dec-wt", w.VehicleID, w.DeclarationID)
	}
	if len(alerts) != 1 || alerts[0].Type != tracker.AlertWeightMismatch {
		t.Errorf("33 %% overweight raised %+v, want one weight_mismatch", alerts)
	}
}
