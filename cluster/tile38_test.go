package cluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/borderwatch/borderwatch/geofence"
)

// TestClusterTile38Shared runs two trackers on one Tile38 under one key prefix (configured
// alike, as a user would), each changing its zones while the vehicles drive through the
// control zone: neither may lose the zones to the other's change, so each vehicle enters and
// leaves the zone once and crosses the border once, whichever tracker evaluates it.
func TestClusterTile38Shared(t *testing.T) {
	addr := os.Getenv("TILE38_ADDR")
	if addr == "" {
		t.Skip("TILE38_ADDR not set: needs a running tile38-server (host:port)")
	}
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, dbURL := startCluster(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("bwcluster-%d-%d", os.Getpid(), time.Now().UnixNano())
	var engines []*geofence.Tile38
	for range 2 {
		e, err := geofence.NewTile38(ctx, addr+"/"+prefix, geofence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	t.Cleanup(func() { // after the trackers stopped (cleanups run last first)
		engines[0].Drop(context.Background())
		for _, e := range engines {
			e.Close()
		}
	})
	var nodes []*trackerNode
	for i, name := range []string{"A", "B"} {
		n, err := launchTracker(t, nats.URLs(), name, st, engines[i])
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	gwConn, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer gwConn.Close()
	waitOwned(t, gwConn, "A", "B")
	waitServed(t, nodes...)
	// A zone added far from the vehicles' road, as a change notice would set it: A before the
	// vehicles reach the control zone, B while they are in it.
	far := geofence.Zone{ID: "cz-far", Name: "far control zone", Kind: geofence.KindControlZone,
		Geometry: orb.Polygon{{{100, 40}, {100.1, 40}, {100.1, 40.1}, {100, 40.1}, {100, 40}}}}
	acked, err := drive(ctx, NewGateway(gwConn, nil), 24, 90, time.Now().Add(-time.Hour).Truncate(time.Second), func(step int) error {
		var e *geofence.Tile38
		switch step {
		case 20:
			e = engines[0]
		case 50:
			e = engines[1]
		default:
			return nil
		}
		return e.SetZones(ctx, []geofence.Zone{testZone, testBorder, far})
	})
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, dbURL, acked)
	for i, n := range nodes {
		if ps, _ := n.tr.Owned(); len(ps) == 0 {
			t.Errorf("tracker %d evaluated nothing: the test would not tell", i)
		}
	}
}
