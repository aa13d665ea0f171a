package cluster

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/cluster/clustertest"
	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/pgstore"
)

// TestChangeNoticeReachesNodeCutOff cuts a node off from NATS (the one server it knows dies)
// while another node changes the zones and a declaration: once its server is back,
// the node applies both, in order, within seconds; a notice a node made itself is not handed
// back to it.
func TestChangeNoticeReachesNodeCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats := clustertest.StartNATS(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := strings.Split(nats.URLs(), ",")
	// X is on server 1; Y on server 0 only.
	x, err := Dial(ctx, Config{URLs: urls[1], Node: "X", Roles: []string{RoleAPI}})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	y, err := Dial(ctx, Config{URLs: urls[0], Node: "Y", Roles: []string{RoleTracker}, onlyListed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	var zones, own atomic.Int32
	got := make(chan string, 16)
	if err := y.SubscribeChanges(ctx, Changes{
		Zones:       func(context.Context) { zones.Add(1); got <- "zones" },
		Declaration: func(_ context.Context, d tracker.Declaration) { got <- "declaration " + d.ID },
		Vehicle:     func(_ context.Context, v tracker.Vehicle) { got <- "vehicle " + v.ID },
	}); err != nil {
		t.Fatal(err)
	}
	if err := x.SubscribeChanges(ctx, Changes{
		Zones:       func(context.Context) { own.Add(1) },
		Declaration: func(context.Context, tracker.Declaration) { own.Add(1) },
		Vehicle:     func(context.Context, tracker.Vehicle) { own.Add(1) },
	}); err != nil {
		t.Fatal(err)
	}
	expect := func(want string) {
		t.Helper()
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("Y applied %q, want %q", g, want)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("Y did not apply %q within 15 s", want)
		}
	}
	if err := x.VehicleChanged(tracker.Vehicle{ID: "v-before"}); err != nil {
		t.Fatal(err)
	}
	expect("vehicle v-before")

	nats.Kill(0)
	for y.nc.IsConnected() {
		time.Sleep(10 * time.Millisecond)
	}
	if err := x.ZonesChanged(nil); err != nil {
		t.Fatal(err)
	}
	if err := x.DeclarationChanged(tracker.Declaration{ID: "d-while-away"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // core NATS would have dropped them by now
	if y.nc.IsConnected() {
		t.Fatal("Y reconnected before its server came back: the test proves nothing")
	}
	nats.Restart(0)
	expect("zones")
	expect("declaration d-while-away")
	select {
	case g := <-got:
		t.Errorf("Y applied %q more", g)
	case <-time.After(time.Second):
	}
	if n := own.Load(); n != 0 {
		t.Errorf("X was handed back %d notices it made itself", n)
	}
}

// TestChangeNoticeFromNodeCutOff: an edit made on a node cut off from NATS is applied there and
// stored; its notice waits and reaches the other nodes once the node is back.
func TestChangeNoticeFromNodeCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats := clustertest.StartNATS(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := strings.Split(nats.URLs(), ",")
	x, err := Dial(ctx, Config{URLs: urls[0], Node: "X", Roles: []string{RoleAPI}, onlyListed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	y, err := Dial(ctx, Config{URLs: urls[1], Node: "Y", Roles: []string{RoleTracker}})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	got := make(chan string, 16)
	if err := y.SubscribeChanges(ctx, Changes{
		Zones:       func(context.Context) { got <- "zones" },
		Declaration: func(_ context.Context, d tracker.Declaration) { got <- "declaration " + d.ID },
		Vehicle:     func(_ context.Context, v tracker.Vehicle) { got <- "vehicle " + v.ID },
	}); err != nil {
		t.Fatal(err)
	}
	nats.Kill(0)
	for x.nc.IsConnected() {
		time.Sleep(10 * time.Millisecond)
	}
	if err := x.VehicleChanged(tracker.Vehicle{ID: "v-cut-off"}); err != nil {
		t.Fatalf("a change on a node cut off: %v, want it queued", err)
	}
	if err := x.ZonesChanged(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		t.Fatalf("Y applied %q while X was cut off", g)
	case <-time.After(time.Second):
	}
	nats.Restart(0)
	for _, want := range []string{"vehicle v-cut-off", "zones"} {
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("Y applied %q, want %q", g, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("Y did not apply %q within 20 s of X's return", want)
		}
	}
}

var _ ChangeLog = (*pgstore.Store)(nil)

// TestChangeFromNodeKilledCutOff: a node cut off from NATS stores an edit (a vehicle, a
// declaration, the zones) and queues its notices, then dies (kill -9: its connection drops, the
// queue is lost) before NATS is back. The other node applies the edits from the store's change
// log all the same; each node applies an edit logged once.
func TestChangeFromNodeKilledCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, _ := startCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := strings.Split(nats.URLs(), ",")
	x, err := Dial(ctx, Config{URLs: urls[0], Node: "X", Roles: []string{RoleAPI}, onlyListed: true, ChangeLog: st})
	if err != nil {
		t.Fatal(err)
	}
	y, err := Dial(ctx, Config{URLs: urls[1], Node: "Y", Roles: []string{RoleTracker}, ChangeLog: st})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	var mu sync.Mutex
	applied := map[string]int{}
	got := make(chan string, 64)
	apply := func(what string) {
		mu.Lock()
		applied[what]++
		mu.Unlock()
		got <- what
	}
	if err := y.SubscribeChanges(ctx, Changes{
		Zones:       func(context.Context) { apply("zones") },
		Declaration: func(_ context.Context, d tracker.Declaration) { apply("declaration " + d.ID + " " + d.Status) },
		Vehicle:     func(_ context.Context, v tracker.Vehicle) { apply("vehicle " + v.ID + " " + v.Plate) },
	}); err != nil {
		t.Fatal(err)
	}
	nats.Kill(0)
	for x.nc.IsConnected() {
		time.Sleep(10 * time.Millisecond)
	}
	// The edits as the API makes them on X: stored, then announced (queued: X is cut off).
	v := tracker.Vehicle{ID: "v-killed", Plate: "蒙A·99999", Kind: tracker.KindTruck}
	if err := st.CreateVehicle(ctx, v); err != nil {
		t.Fatal(err)
	}
	d := tracker.Declaration{ID: "d-killed", VehicleID: v.ID, Direction: tracker.Inbound, Status: tracker.DeclarationActive, ValidFrom: time.Now().Add(-time.Hour), ValidTo: time.Now().Add(time.Hour)}
	if err := st.CreateDeclaration(ctx, d); err != nil {
		t.Fatal(err)
	}
	zone := testZone
	zone.Name = "renamed while cut off"
	if _, err := st.PutZones(ctx, []geofence.Zone{zone}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{x.VehicleChanged(v), x.DeclarationChanged(d), x.ZonesChanged(nil)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	x.nc.Close() // kill -9: the queued notices die with X
	start := time.Now()
	want := map[string]bool{"vehicle v-killed 蒙A·99999": true, "declaration d-killed active": true, "zones": true}
	for len(want) > 0 {
		select {
		case g := <-got:
			delete(want, g)
		case <-time.After(3 * ChangeLogEvery):
			t.Fatalf("Y did not apply %v within %v of X's death (NATS server 0 still down)", want, 3*ChangeLogEvery)
		}
	}
	t.Logf("applied from the change log %v after X died", time.Since(start).Round(time.Millisecond))
	nats.Restart(0)
	time.Sleep(2 * ChangeLogEvery)
	mu.Lock()
	defer mu.Unlock()
	for what, n := range applied {
		if n != 1 {
			t.Errorf("Y applied %q %d times, want once", what, n)
		}
	}
}

// TestChangeLogHoleFilledLater: an edit whose transaction is still open when a later edit
// commits takes the lower sequence; a node that read the later one first still applies the
// earlier when it commits.
func TestChangeLogHoleFilledLater(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, _ := startCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	y, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "Y", Roles: []string{RoleTracker}, ChangeLog: st})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	got := make(chan string, 16)
	if err := y.SubscribeChanges(ctx, Changes{
		Zones:       func(context.Context) {},
		Declaration: func(context.Context, tracker.Declaration) {},
		Vehicle:     func(_ context.Context, v tracker.Vehicle) { got <- v.ID },
	}); err != nil {
		t.Fatal(err)
	}
	slow, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	if _, err := slow.Exec(ctx, `INSERT INTO vehicles (id, plate, kind, card_id, name, created_at) VALUES ('v-slow', '蒙A·11111', 'truck', '', '', now())`); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateVehicle(ctx, tracker.Vehicle{ID: "v-fast", Plate: "蒙A·22222", Kind: tracker.KindTruck}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"v-fast", "v-slow"} {
		if want == "v-slow" {
			time.Sleep(ChangeLogEvery) // Y has read past the hole
			if err := slow.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("Y applied %s, want %s", g, want)
			}
		case <-time.After(3 * ChangeLogEvery):
			t.Fatalf("Y did not apply %s from the change log", want)
		}
	}
}
