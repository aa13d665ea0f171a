package geofence

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestTile38SharedPrefix: engines sharing one key prefix (trackers configured alike) each
// keep their zones through the others' zone changes, and the zone collection of an engine
// gone (closed, or dead) is dropped at the next change of any of them.
func TestTile38SharedPrefix(t *testing.T) {
	addr := os.Getenv("TILE38_ADDR")
	if addr == "" {
		t.Skip("TILE38_ADDR not set: needs a running tile38-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prefix := fmt.Sprintf("bwshared-%d-%d", os.Getpid(), time.Now().UnixNano())
	zone := func(id string, lon float64) Zone {
		return Zone{ID: id, Name: id, Kind: KindControlZone,
			Geometry: orb.Polygon{{{lon, 43.6}, {lon + 0.1, 43.6}, {lon + 0.1, 43.7}, {lon, 43.7}, {lon, 43.6}}}}
	}
	before := []Zone{zone("cz-1", 111.9)}
	after := []Zone{zone("cz-1", 111.9), zone("cz-2", 112.5)}
	var engines []*Tile38
	for range 3 {
		e, err := NewTile38(ctx, addr+"/"+prefix, Options{})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
		if err := e.SetZones(ctx, before); err != nil {
			t.Fatal(err)
		}
	}
	a, b, gone := engines[0], engines[1], engines[2]
	t.Cleanup(func() {
		a.Drop(context.Background())
		a.Close()
		b.Close()
	})
	keys := func() []string {
		t.Helper()
		rs, err := a.client.do(ctx, appendCmd(nil, "KEYS", prefix+":zones:*"), 1)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range rs[0].arr {
			out = append(out, string(k.str))
		}
		return out
	}
	inZone := func(e *Tile38, who string) {
		t.Helper()
		zs, err := e.Containing(ctx, 43.65, 111.95)
		if err != nil {
			t.Fatal(err)
		}
		if len(zs) != 1 || zs[0].ID != "cz-1" {
			t.Errorf("%s: a point in cz-1 is in %v, want cz-1 (collections %v)", who, zs, keys())
		}
	}
	for i, e := range engines {
		inZone(e, fmt.Sprint("engine ", i, " after all set their zones"))
	}
	goneKey := gone.idx.Load().key
	gone.Close()
	if err := a.SetZones(ctx, after); err != nil {
		t.Fatal(err)
	}
	inZone(b, "b after a's zone change")
	if err := b.SetZones(ctx, after); err != nil {
		t.Fatal(err)
	}
	inZone(a, "a after b's zone change")
	if ks := keys(); slices.Contains(ks, goneKey) {
		t.Errorf("the collection of an engine closed is kept after the others' changes: %v", ks)
	}
	// Each engine keeps its current collection and the one before (queries in flight).
	if ks := keys(); len(ks) > 4 {
		t.Errorf("%d zone collections for 2 engines: %v", len(ks), ks)
	}
}
