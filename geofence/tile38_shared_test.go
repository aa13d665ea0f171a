package geofence

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestTile38SharedPrefix: engines sharing one key prefix (trackers configured alike) each
// keep their zones through the others' zone changes, the zone collection of an engine gone
// (closed, or dead) is dropped at the next change of any of them, and an engine whose
// connections were cut meanwhile writes its zones back when it reconnects.
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
	keys := func() []string { // on b's connection: a's is cut below
		t.Helper()
		rs, err := b.client.do(ctx, appendCmd(nil, "KEYS", prefix+":zones:*"), 1)
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
	connected := func(owner string) bool {
		t.Helper()
		rs, err := b.client.do(ctx, appendCmd(nil, "CLIENT", "LIST"), 1)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(rs[0].str), " name="+owner+" ")
	}
	for connected(gone.owner) { // the server sees the connections close a moment later
		time.Sleep(10 * time.Millisecond)
	}
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
	// a's connections cut (a network blip): b's change drops a's collection as an engine's
	// gone; a writes it back on its new connection and, connected again, keeps it through b's
	// next change.
	rs, err := b.client.do(ctx, appendCmd(nil, "CLIENT", "LIST"), 1)
	if err != nil {
		t.Fatal(err)
	}
	var kill []byte
	n := 0
	for line := range strings.Lines(string(rs[0].str)) {
		if strings.Contains(line, " name="+a.owner+" ") {
			id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
			kill = appendCmd(kill, "CLIENT", "KILL", "ID", id)
			n++
		}
	}
	if n != 2 {
		t.Fatalf("a has %d connections named %s, want 2: %s", n, a.owner, rs[0].str)
	}
	if rs, err := b.client.do(ctx, kill, n); err != nil || firstError(rs) != nil {
		t.Fatal(err, rs)
	}
	for connected(a.owner) {
		time.Sleep(10 * time.Millisecond)
	}
	aKey := a.idx.Load().key
	if err := b.SetZones(ctx, before); err != nil {
		t.Fatal(err)
	}
	if ks := keys(); slices.Contains(ks, aKey) {
		t.Errorf("the collection of an engine without a connection is kept: %v", ks)
	}
	inZone(a, "a connected again after its connections were cut")
	if err := b.SetZones(ctx, after); err != nil {
		t.Fatal(err)
	}
	inZone(a, "a after b's change once connected again")
}
