package geofence

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// newTile38Internal connects to TILE38_ADDR with a prefix of its own, or skips.
func newTile38Internal(t *testing.T, zones []Zone) *Tile38 {
	t.Helper()
	addr := os.Getenv("TILE38_ADDR")
	if addr == "" {
		t.Skip("TILE38_ADDR not set: needs a running tile38-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prefix := fmt.Sprintf("bwheld-%d-%d", os.Getpid(), time.Now().UnixNano())
	e, err := NewTile38(ctx, addr+"/"+prefix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Drop(context.Background())
		e.Close()
	})
	if err := e.SetZones(ctx, zones); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTile38HeldSetsSameFences: the SETs a read holds back (a move followed by another of the
// read, where no fence can tell the positions apart) change nothing of what Tile38's fences
// report, so an engine fed reads (Prefetch, then the Updates) gets the same notifications, in
// the same order, as one sent every fix; it sends far fewer SETs, and Tile38 holds each
// vehicle's newest position after every read.
//
// The first read runs west past the northern end of the border, then jumps south of it: the
// straight line from the last position sent to the jump crosses the border where the truck did
// not, so the jump's SET must follow its start's, held until then. The second read runs east
// across the border, through a yard and a corridor; the third is in open country.
func TestTile38HeldSetsSameFences(t *testing.T) {
	ctx := context.Background()
	zones := []Zone{
		{ID: "border", Name: "border", Kind: KindBorder, DomesticSide: "right",
			Geometry: orb.LineString{{100, 40}, {100, 41}}},
		{ID: "yard", Name: "yard", Kind: KindYard,
			Geometry: orb.Polygon{{{100.05, 40.45}, {100.07, 40.45}, {100.07, 40.55}, {100.05, 40.55}, {100.05, 40.45}}}},
		{ID: "corridor", Name: "corridor", Kind: KindCorridor, WidthM: 1000,
			Geometry: orb.LineString{{100.1, 40.3}, {100.1, 40.7}}},
	}
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	var reads [][]Position
	fix := func(id string, k int, lon, lat float64) Position {
		return Position{VehicleID: id, Time: t0.Add(time.Duration(k) * 10 * time.Second), Lat: lat, Lon: lon}
	}
	var read []Position
	for k := range 15 {
		read = append(read, fix("truck", k, 100.03-float64(k)*0.004, 41.05))
	}
	reads = append(reads, append(read, fix("truck", 15, 99.975, 40.5)))
	read = nil
	for k := range 16 {
		read = append(read, fix("truck", 16+k, 99.985+float64(k)*0.01, 40.5))
	}
	reads = append(reads, read)
	read = nil
	for k := range 16 {
		read = append(read, fix("truck", 32+k, 101.5+float64(k)*0.001, 42.5))
	}
	reads = append(reads, read)

	type note struct{ zone, detect string }
	// run feeds the reads and returns the truck's notifications, the SETs sent and the
	// positions Tile38 held after each read.
	run := func(prefetch bool) (notes []note, sets uint64, held []Position) {
		e := newTile38Internal(t, zones)
		start := e.Stats()
		for _, r := range reads {
			if prefetch {
				e.Prefetch(ctx, r)
			}
			for _, p := range r {
				if _, err := e.Update(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			rs, err := e.client.do(ctx, appendCmd(nil, "GET", e.vehiclesKey(), "truck", "POINT"), 1)
			if err != nil || rs[0].typ != '*' || len(rs[0].arr) != 2 {
				t.Fatalf("GET truck: %v %v", rs, err)
			}
			lat, _ := strconv.ParseFloat(string(rs[0].arr[0].str), 64)
			lon, _ := strconv.ParseFloat(string(rs[0].arr[1].str), 64)
			held = append(held, Position{Lat: lat, Lon: lon})
		}
		st := e.Stats()
		sets = st.Commands - start.Commands - (st.CellQueries - start.CellQueries) - uint64(len(reads)) // less the GETs
		// A sentinel entering the yard after the truck's last SET: its notification comes
		// after all of the truck's.
		for k, lon := range []float64{100.06, 100.06} {
			if _, err := e.Update(ctx, fix("sentinel", k, lon, 40.4+float64(k)*0.1)); err != nil {
				t.Fatal(err)
			}
		}
		timeout := time.After(30 * time.Second)
		for {
			select {
			case n := <-e.Notifications():
				if n.VehicleID == "sentinel" {
					return notes, sets, held
				}
				notes = append(notes, note{n.ZoneID, n.Detect})
			case <-timeout:
				t.Fatalf("no notification of the sentinel; the truck's so far: %v", notes)
			}
		}
	}
	every, everySets, _ := run(false)
	got, gotSets, held := run(true)
	want := []note{{"border", "cross"}, {"yard", "enter"}, {"yard", "exit"}, {"corridor", "enter"}, {"corridor", "exit"}}
	if !slices.Equal(every, want) {
		t.Fatalf("a SET every fix: notifications %v, want %v", every, want)
	}
	if !slices.Equal(got, every) {
		t.Errorf("reads with SETs held: notifications %v, want those of a SET every fix %v", got, every)
	}
	fixes := 0
	for _, r := range reads {
		fixes += len(r)
	}
	if everySets != uint64(fixes) {
		t.Errorf("lone fixes sent %d SETs for %d fixes, want one each", everySets, fixes)
	}
	// Read 1: its first fix (new to Tile38), and the jump with its start; read 3: its last.
	if gotSets > uint64(fixes)/2 {
		t.Errorf("reads sent %d SETs for %d fixes, want at most half", gotSets, fixes)
	}
	for i, r := range reads {
		last := r[len(r)-1]
		if held[i].Lat != last.Lat || held[i].Lon != last.Lon {
			t.Errorf("after read %d Tile38 holds the truck at %v, want its newest position %v, %v", i+1, held[i], last.Lat, last.Lon)
		}
	}
	t.Logf("SETs: %d a fix each, %d with reads (%d fixes)", everySets, gotSets, fixes)
}

// TestTile38NothingHeldWhileUnreachable: once the SETs' link is known to be broken and Tile38
// cannot be reached, a read's first fix fails as without holding (a held SET touches no
// link), so no fix of the read is acknowledged.
func TestTile38NothingHeldWhileUnreachable(t *testing.T) {
	ctx := context.Background()
	e := newTile38Internal(t, []Zone{{ID: "yard", Name: "yard", Kind: KindYard,
		Geometry: orb.Polygon{{{100.05, 40.45}, {100.07, 40.45}, {100.07, 40.55}, {100.05, 40.55}, {100.05, 40.45}}}}})
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	read := func(from int) []Position {
		ps := make([]Position, 16)
		for k := range ps {
			ps[k] = Position{VehicleID: "truck", Time: t0.Add(time.Duration(from+k) * 10 * time.Second), Lat: 42.5, Lon: 101.5 + float64(from+k)*0.0001}
		}
		return ps
	}
	ps := read(0)
	e.Prefetch(ctx, ps)
	for _, p := range ps {
		if _, err := e.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// Unreachable: the link breaks and a new one cannot be made.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	e.client.mu.Lock()
	e.client.addr = dead
	e.client.mu.Unlock()
	e.client.kill()
	ps = read(16)
	e.Prefetch(ctx, ps)
	if _, err := e.Update(ctx, ps[0]); err == nil {
		t.Fatal("a read's first fix, within its cell, was evaluated while Tile38 was unreachable")
	}
}
