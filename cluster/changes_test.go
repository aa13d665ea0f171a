package cluster

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/cluster/clustertest"
	"github.com/borderwatch/borderwatch/tracker"
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
