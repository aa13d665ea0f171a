package geofence_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/geofence/enginetest"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// tile38Addr returns TILE38_ADDR or skips.
func tile38Addr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("TILE38_ADDR")
	if addr == "" {
		tb.Skip("TILE38_ADDR not set: Tile38 backend tests need a running tile38-server (see README)")
	}
	return addr
}

var prefixes atomic.Int64

// newTile38 connects with a key prefix of its own, so tests do not see each other's keys.
func newTile38(tb testing.TB) *geofence.Tile38 {
	tb.Helper()
	addr := tile38Addr(tb)
	prefix := fmt.Sprintf("bwtest-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), prefixes.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := geofence.NewTile38(ctx, addr+"/"+prefix, geofence.Options{})
	if err != nil {
		tb.Fatalf("NewTile38(%s): %v", addr, err)
	}
	tb.Cleanup(func() {
		if err := e.Drop(context.Background()); err != nil {
			tb.Errorf("Drop: %v", err)
		}
		e.Close()
	})
	return e
}

func TestTile38Conformance(t *testing.T) {
	tile38Addr(t)
	enginetest.Run(t, func(t *testing.T) geofence.Engine { return newTile38(t) })
}

func TestNewTile38Unreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	if _, err := geofence.NewTile38(ctx, "127.0.0.1:1", geofence.Options{}); err == nil {
		t.Fatal("NewTile38 of a closed port succeeded")
	}
	if _, err := geofence.NewTile38(ctx, "127.0.0.1:9851/a*b", geofence.Options{}); err == nil {
		t.Fatal("NewTile38 accepted a glob in the key prefix")
	}
}

func TestParseTile38URL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"tile38://127.0.0.1:9851", "127.0.0.1:9851"},
		{"tile38://tile38.internal", "tile38.internal:9851"},
		{"tile38://[::1]:9852/bw-district-1", "[::1]:9852/bw-district-1"},
		{"tile38://localhost:9851/", "localhost:9851"},
		{"redis://localhost:6379", ""},
		{"tile38://", ""},
		{"tile38://user:secret@localhost:9851", ""},
		{"tile38://localhost:9851?x=1", ""},
		{"127.0.0.1:9851", ""},
	} {
		got, err := geofence.ParseTile38URL(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("ParseTile38URL(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseTile38URL(%q) = %q, %v, want %q", c.in, got, err, c.want)
		}
	}
}

// fleet is a scripted load over the district's real zones: n vehicles driving the simulator's
// roads back and forth at 15 m/s, a fix every 10 s, spread along the roads.
type fleet struct {
	roads []road
	veh   []vehicle
}

type road struct {
	line orb.LineString
	cum  []float64 // metres from the start to each vertex
}

type vehicle struct {
	id   string
	road int
	s    float64 // metres along the road
	dir  float64
	t    time.Time
}

func newFleet(n int) *fleet {
	f := &fleet{}
	for _, r := range district.Roads() {
		rd := road{line: r.Line, cum: []float64{0}}
		for i := 1; i < len(r.Line); i++ {
			rd.cum = append(rd.cum, rd.cum[i-1]+geo.DistanceHaversine(r.Line[i-1], r.Line[i]))
		}
		f.roads = append(f.roads, rd)
	}
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		r := &f.roads[i%len(f.roads)]
		total := r.cum[len(r.cum)-1]
		f.veh = append(f.veh, vehicle{id: fmt.Sprintf("v%05d", i), road: i % len(f.roads),
			s: total * float64(i/len(f.roads)%97) / 97, dir: 1, t: t0})
	}
	return f
}

// next advances vehicle i by one fix and returns it.
func (f *fleet) next(i int) geofence.Position {
	v := &f.veh[i]
	r := &f.roads[v.road]
	total := r.cum[len(r.cum)-1]
	v.s += v.dir * 150
	if v.s > total || v.s < 0 {
		v.dir = -v.dir
		v.s = min(max(v.s, 0), total)
	}
	v.t = v.t.Add(10 * time.Second)
	k := 1
	for k < len(r.cum)-1 && r.cum[k] < v.s {
		k++
	}
	a, b := r.line[k-1], r.line[k]
	u := 0.0
	if l := r.cum[k] - r.cum[k-1]; l > 0 {
		u = (v.s - r.cum[k-1]) / l
	}
	return geofence.Position{VehicleID: v.id, Time: v.t, Lat: a[1] + (b[1]-a[1])*u, Lon: a[0] + (b[0]-a[0])*u}
}

// TestTile38MatchesEmbedded drives the same fleet through the district's zones on both
// engines and wants the same events, fix by fix.
func TestTile38MatchesEmbedded(t *testing.T) {
	ctx := context.Background()
	t38 := newTile38(t)
	emb := geofence.NewEmbedded(geofence.Options{})
	defer emb.Close()
	zones := district.Zones()
	for _, e := range []geofence.Engine{t38, emb} {
		if err := e.SetZones(ctx, zones); err != nil {
			t.Fatal(err)
		}
	}
	f := newFleet(200)
	var mu sync.Mutex
	kinds := map[geofence.EventType]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for range 300 {
				for i := w; i < len(f.veh); i += 8 {
					p := f.next(i)
					a, err := emb.Update(ctx, p)
					if err != nil {
						t.Error(err)
						return
					}
					b, err := t38.Update(ctx, p)
					if err != nil {
						t.Error(err)
						return
					}
					if !reflect.DeepEqual(a, b) {
						t.Errorf("%s at %v: embedded %v, Tile38 %v", p.VehicleID, p.Time, a, b)
					}
					mu.Lock()
					for _, e := range a {
						kinds[e.Type]++
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	// The load must exercise every kind of event, or the comparison proves little.
	for _, k := range []geofence.EventType{geofence.ZoneEnter, geofence.ZoneExit, geofence.BorderCross} {
		if kinds[k] == 0 {
			t.Errorf("no %s events in the load (%v)", k, kinds)
		}
	}
	t.Logf("events compared: %v", kinds)
}

// TestTile38Fences checks Tile38's own fences fire for a vehicle driving through a port:
// enter of the port zone and a cross of the border.
func TestTile38Fences(t *testing.T) {
	ctx := context.Background()
	e := newTile38(t)
	if err := e.SetZones(ctx, district.Zones()); err != nil {
		t.Fatal(err)
	}
	var port district.Port
	for _, p := range district.Ports() {
		if p.ID == "port-erenhot" {
			port = p
		}
	}
	// From 3 km north of the crossing to 3 km south of it.
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	c := port.Crossing
	var evs []geofence.Event
	for i := range 61 {
		lat := c[1] + (0.027 - float64(i)*0.0009)
		got, err := e.Update(ctx, geofence.Position{VehicleID: "truck", Time: t0.Add(time.Duration(i) * 10 * time.Second), Lat: lat, Lon: c[0]})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, got...)
	}
	crossed := false
	for _, ev := range evs {
		crossed = crossed || ev.Type == geofence.BorderCross && ev.PortZoneID == port.ID
	}
	if !crossed {
		t.Fatalf("no border_cross at %s in %v", port.ID, evs)
	}
	want := map[string]bool{port.ID + " enter": false, district.BorderID + " cross": false}
	timeout := time.After(30 * time.Second)
	for missing := len(want); missing > 0; {
		select {
		case n := <-e.Notifications():
			k := n.ZoneID + " " + n.Detect
			if seen, ok := want[k]; ok && !seen && n.VehicleID == "truck" {
				want[k] = true
				missing--
			}
		case <-timeout:
			t.Fatalf("fence notifications seen: %v", want)
		}
	}
}

// BenchmarkTile38Update runs the same scripted load (the fleet over the district's zones)
// through both engines, so one run reports both: Updates per second through Tile38 and
// in-process. Updates of different vehicles run concurrently, as the tracker's shards do.
func BenchmarkTile38Update(b *testing.B) {
	for _, c := range []struct {
		name string
		new  func(b *testing.B) geofence.Engine
	}{
		{"embedded", func(b *testing.B) geofence.Engine {
			e := geofence.NewEmbedded(geofence.Options{})
			b.Cleanup(func() { e.Close() })
			return e
		}},
		{"tile38", func(b *testing.B) geofence.Engine { return newTile38(b) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := c.new(b)
			if err := e.SetZones(context.Background(), district.Zones()); err != nil {
				b.Fatal(err)
			}
			benchUpdate(b, e)
		})
	}
}

func benchUpdate(b *testing.B, e geofence.Engine) {
	const vehicles = 10_000
	// About 64 concurrent callers, so a backend over the network has requests to pipeline.
	procs := runtime.GOMAXPROCS(0)
	par := (64 + procs - 1) / procs
	workers := par * procs
	f := newFleet(vehicles)
	var nextWorker atomic.Int64
	var events atomic.Int64
	b.SetParallelism(par)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		// Each worker owns every n-th vehicle, so a vehicle's fixes stay in order.
		w := int(nextWorker.Add(1) - 1)
		var mine []int
		for i := w; i < vehicles; i += workers {
			mine = append(mine, i)
		}
		k := 0
		for pb.Next() {
			evs, err := e.Update(context.Background(), f.next(mine[k%len(mine)]))
			if err != nil {
				b.Error(err)
				return
			}
			events.Add(int64(len(evs)))
			k++
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
	b.ReportMetric(float64(events.Load())/float64(b.N), "events/op")
}
