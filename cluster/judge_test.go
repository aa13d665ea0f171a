package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestJudgedByOwner: a driver's card and a gate read received on a node that owns no
// partition (G) are judged and committed by the tracker owning the vehicle's partition, of
// three: the card raises its mismatch once, and only the owner knows the card afterwards; the
// gate read comes back with its vehicle. With no tracker left, both fail at once with
// tracker.ErrUnavailable and nothing is stored.
func TestJudgedByOwner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, _ := startCluster(t)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := st.CreateVehicle(ctx, tracker.Vehicle{ID: "veh-dr", Plate: "蒙A·12345", Kind: tracker.KindTruck}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDeclaration(ctx, tracker.Declaration{ID: "dec-dr", VehicleID: "veh-dr", Direction: tracker.Inbound,
		DriverCard: "DRV-OK", ValidFrom: t0.Add(-time.Hour), ValidTo: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	nodes := []*trackerNode{startTracker(t, nats.URLs(), "A", st), startTracker(t, nats.URLs(), "B", st), startTracker(t, nats.URLs(), "C", st)}
	g, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleAPI, RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	waitOwned(t, g, "A", "B", "C")
	var owner *trackerNode
	for owner == nil {
		for _, n := range nodes {
			if n.tr.Owns("veh-dr") {
				owner = n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	router := NewRouter(g, nodes[0].rules.GateVehicle)
	card := func(at time.Time) tracker.Event {
		return tracker.Event{Type: tracker.EventDriverIdentity, Time: at, VehicleID: "veh-dr", Lat: 43.5, Lon: 111.8,
			Attrs: map[string]any{"inserted": true, "card_id": "DRV-X", "device_id": "dev-dr"}}
	}
	for _, at := range []time.Time{t0.Add(time.Minute), t0.Add(2 * time.Minute)} {
		if err := router.Emit(ctx, []tracker.Event{card(at)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string) int {
		var n int
		if err := st.Pool().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM events WHERE vehicle_id = 'veh-dr' AND type = 'driver_identity'`); n != 2 {
		t.Errorf("%d driver_identity events stored, want 2", n)
	}
	if n := count(`SELECT count(*) FROM alerts WHERE vehicle_id = 'veh-dr' AND type = 'driver_mismatch'`); n != 1 {
		t.Errorf("%d driver_mismatch alerts, want 1", n)
	}
	// The owner judged both reports: the same card again is nothing new to it, while to the
	// others (which never saw the card) it would be.
	for _, n := range nodes {
		out := n.rules.Event(ctx, card(t0.Add(3*time.Minute)))
		if knows := len(out.Alerts) == 0; knows != (n == owner) {
			t.Errorf("node %s knows the card: %v; owner %s", n.name, knows, owner.name)
		}
	}

	ev, _, err := router.JudgeGate(ctx, tracker.GateRead{GateZoneID: testZone.ID, Plate: "蒙A12345", Direction: "in", Time: t0.Add(4 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if ev.VehicleID != "veh-dr" {
		t.Errorf("gate read judged as of vehicle %q, want veh-dr", ev.VehicleID)
	}

	for _, n := range nodes {
		n.stop()
	}
	start := time.Now()
	_, _, err = router.JudgeGate(ctx, tracker.GateRead{GateZoneID: testZone.ID, Plate: "蒙A12345", Direction: "in", Time: t0})
	if !errors.Is(err, tracker.ErrUnavailable) {
		t.Errorf("gate read with no tracker: %v, want ErrUnavailable", err)
	}
	if err := router.Emit(ctx, []tracker.Event{card(t0.Add(5 * time.Minute))}, nil); !errors.Is(err, tracker.ErrUnavailable) {
		t.Errorf("card with no tracker: %v, want ErrUnavailable", err)
	}
	if _, _, err := router.Weighing(ctx, tracker.Weighing{ScaleID: "scale-dr", ZoneID: testZone.ID, Time: t0, Plate: "蒙A12345", GrossKg: 30000, TareKg: 10000, NetKg: 20000}); !errors.Is(err, tracker.ErrUnavailable) {
		t.Errorf("weighing with no tracker: %v, want ErrUnavailable", err)
	}
	t.Logf("no owner refused in %v", time.Since(start).Round(time.Millisecond))
	if n := count(`SELECT count(*) FROM weighings`); n != 0 {
		t.Errorf("%d weighings stored with no tracker, want 0", n)
	}
	if n := count(`SELECT count(*) FROM events WHERE vehicle_id = 'veh-dr' AND type = 'driver_identity'`); n != 2 {
		t.Errorf("%d driver_identity events stored after the refusals, want 2", n)
	}
}

// TestJudgedOnceWhenResent: the owner is still storing a driver's card when the sender's request
// times out; the terminal, not acknowledged, sends the card again until it is: the card is
// stored once and its mismatch raised once. The same for a gate read its gate system resends.
// A new card of the same device is still stored.
func TestJudgedOnceWhenResent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, _ := startCluster(t)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := st.CreateVehicle(ctx, tracker.Vehicle{ID: "veh-rs", Plate: "蒙A·54321", Kind: tracker.KindTruck}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDeclaration(ctx, tracker.Declaration{ID: "dec-rs", VehicleID: "veh-rs", Direction: tracker.Inbound,
		DriverCard: "DRV-OK", ValidFrom: t0.Add(-time.Hour), ValidTo: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	owner := startTracker(t, nats.URLs(), "A", st)
	g, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleAPI, RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	waitOwned(t, g, "A")
	router := NewRouter(g, owner.rules.GateVehicle)
	router.Timeout = time.Second
	count := func(q string) int {
		var n int
		if err := st.Pool().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// resendSlowly sends events and alerts as a terminal does, with the owner's next commit
	// slower than the request's timeout: the first attempt must fail, the resends go on until
	// one is answered.
	resendSlowly := func(send func() error) {
		t.Helper()
		owner.slowEmit.Store(int64(2 * router.Timeout))
		err := send()
		if !errors.Is(err, ErrNoOwner) {
			t.Fatalf("first request to a slow owner: %v, want ErrNoOwner", err)
		}
		for resends := 1; err != nil; resends++ {
			if resends > 20 {
				t.Fatalf("still not answered after %d resends: %v", resends, err)
			}
			time.Sleep(200 * time.Millisecond)
			err = send()
		}
	}
	// The owner answers (its judgement subscription follows its lease) before the slow part.
	read := tracker.GateRead{GateZoneID: testZone.ID, Plate: "蒙A54321", Direction: "in", Time: t0.Add(2 * time.Minute)}
	ev, alerts, err := router.JudgeGate(ctx, read)
	for deadline := time.Now().Add(30 * time.Second); err != nil; ev, alerts, err = router.JudgeGate(ctx, read) {
		if time.Now().After(deadline) {
			t.Fatalf("the owner does not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	card := func(at time.Time) tracker.Event {
		return tracker.Event{Type: tracker.EventDriverIdentity, Time: at, VehicleID: "veh-rs", Lat: 43.5, Lon: 111.8,
			Attrs: map[string]any{"inserted": true, "card_id": "DRV-X", "device_id": "dev-rs"}}
	}
	resendSlowly(func() error { return router.Emit(ctx, []tracker.Event{card(t0.Add(time.Minute))}, nil) })
	if n := count(`SELECT count(*) FROM events WHERE vehicle_id = 'veh-rs' AND type = 'driver_identity'`); n != 1 {
		t.Errorf("%d driver_identity events stored after the resends, want 1", n)
	}
	if n := count(`SELECT count(*) FROM alerts WHERE vehicle_id = 'veh-rs' AND type = 'driver_mismatch'`); n != 1 {
		t.Errorf("%d driver_mismatch alerts, want 1", n)
	}

	resendSlowly(func() error { return router.Emit(ctx, []tracker.Event{ev}, alerts) })
	if n := count(`SELECT count(*) FROM events WHERE vehicle_id = 'veh-rs' AND type = 'gate_read'`); n != 1 {
		t.Errorf("%d gate_read events stored after the resends, want 1", n)
	}

	// A weighbridge reading: judged, stored and committed by the owner, once however often the
	// scale resends it.
	reading := tracker.Weighing{ScaleID: "scale-rs", ZoneID: testZone.ID, Time: t0.Add(150 * time.Second).Add(123456789), Plate: "蒙A54321",
		GrossKg: 40000, TareKg: 15000, NetKg: 25000, ReceivedAt: time.Now()}
	var stored tracker.Weighing
	resendSlowly(func() (err error) { stored, _, err = router.Weighing(ctx, reading); return err })
	if stored.ID == 0 || stored.VehicleID != "veh-rs" {
		t.Errorf("reading answered as %+v, want it stored as of veh-rs", stored)
	}
	if n := count(`SELECT count(*) FROM weighings WHERE scale_id = 'scale-rs'`); n != 1 {
		t.Errorf("%d weighings stored after the resends, want 1", n)
	}
	if n := count(`SELECT count(*) FROM events WHERE vehicle_id = 'veh-rs' AND type = 'weighing'`); n != 1 {
		t.Errorf("%d weighing events stored after the resends, want 1", n)
	}
	next := reading
	next.Time = next.Time.Add(time.Minute)
	if w, _, err := router.Weighing(ctx, next); err != nil || w.ID == stored.ID {
		t.Errorf("the next reading of the scale: %+v, %v; want a new one stored", w, err)
	}

	if err := router.Emit(ctx, []tracker.Event{card(t0.Add(3 * time.Minute))}, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM events WHERE vehicle_id = 'veh-rs' AND type = 'driver_identity'`); n != 2 {
		t.Errorf("%d driver_identity events stored after a new card, want 2", n)
	}
}
