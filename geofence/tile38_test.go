package geofence_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
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

// wanderers is a scripted load of vehicles roaming the district at random, half of them
// sparse (a fix every 2 to 5 km), so moves cross several fences between two fixes.
type wanderers struct {
	v []wanderer
}

type wanderer struct {
	id                string
	lat, lon, heading float64
	step              float64
	t                 time.Time
	rng               *rand.Rand
}

func newWanderers(n int) *wanderers {
	w := &wanderers{}
	for i := range n {
		rng := rand.New(rand.NewSource(int64(i)))
		step := 150.0
		if i%2 == 1 {
			step = 2000 + rng.Float64()*3000
		}
		w.v = append(w.v, wanderer{id: fmt.Sprintf("w%05d", i), lat: 41.5 + rng.Float64()*3.5, lon: 100 + rng.Float64()*17,
			heading: rng.Float64() * 2 * math.Pi, step: step, t: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), rng: rng})
	}
	return w
}

func (w *wanderers) next(i int) geofence.Position {
	v := &w.v[i]
	v.heading += (v.rng.Float64()*2 - 1) * 0.5
	kx, ky := geofence.MetresPerDegree(v.lat)
	v.lat += v.step * math.Cos(v.heading) / ky
	v.lon += v.step * math.Sin(v.heading) / kx
	v.t = v.t.Add(10 * time.Second)
	return geofence.Position{VehicleID: v.id, Time: v.t, Lat: v.lat, Lon: v.lon}
}

// TestTile38MatchesEmbedded drives the same vehicles through the same zones on both engines
// and wants the same events, fix by fix: the district's real zones with trucks on its roads,
// and the benchmark's layout with vehicles roaming, many of them with sparse fixes.
func TestTile38MatchesEmbedded(t *testing.T) {
	for _, c := range []struct {
		name  string
		zones []geofence.Zone
		n     int
		next  func(i int) geofence.Position
	}{
		{"district roads", district.Zones(), 200, newFleet(200).next},
		{"bench layout roaming", enginetest.BenchZones(300, 1), 200, newWanderers(200).next},
	} {
		t.Run(c.name, func(t *testing.T) {
			matchEmbedded(t, c.zones, c.n, c.next)
		})
	}
}

func matchEmbedded(t *testing.T, zones []geofence.Zone, n int, next func(i int) geofence.Position) {
	ctx := context.Background()
	t38 := newTile38(t)
	emb := geofence.NewEmbedded(geofence.Options{})
	defer emb.Close()
	for _, e := range []geofence.Engine{t38, emb} {
		if err := e.SetZones(ctx, zones); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	kinds := map[geofence.EventType]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for range 300 {
				for i := w; i < n; i += 8 {
					p := next(i)
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
// throughErenhot is an engine with the district's zones and a truck's fixes from 3 km north
// of Erenhot's crossing to 3 km south of it, 10 s apart.
func throughErenhot(t *testing.T) (*geofence.Tile38, district.Port, []geofence.Position) {
	t.Helper()
	e := newTile38(t)
	if err := e.SetZones(context.Background(), district.Zones()); err != nil {
		t.Fatal(err)
	}
	var port district.Port
	for _, p := range district.Ports() {
		if p.ID == "port-erenhot" {
			port = p
		}
	}
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	c := port.Crossing
	ps := make([]geofence.Position, 61)
	for i := range ps {
		ps[i] = geofence.Position{VehicleID: "truck", Time: t0.Add(time.Duration(i) * 10 * time.Second), Lat: c[1] + (0.027 - float64(i)*0.0009), Lon: c[0]}
	}
	return e, port, ps
}

func TestTile38Fences(t *testing.T) {
	ctx := context.Background()
	e, port, ps := throughErenhot(t)
	var evs []geofence.Event
	for _, p := range ps {
		got, err := e.Update(ctx, p)
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

// TestTile38PostedSetsReachServer: the SETs of a prefetched read are posted without waiting
// for their replies; with nothing sent after them they must still reach Tile38, whose fences
// then fire.
func TestTile38PostedSetsReachServer(t *testing.T) {
	ctx := context.Background()
	e, port, ps := throughErenhot(t)
	// One read, prefetched, then updated.
	e.Prefetch(ctx, ps)
	for _, p := range ps {
		if _, err := e.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case n := <-e.Notifications():
			if n.ZoneID == port.ID && n.Detect == "enter" && n.VehicleID == "truck" {
				return
			}
		case <-timeout:
			t.Fatal("no fence notification: the posted SETs did not reach Tile38")
		}
	}
}

// BenchmarkTile38Update runs the embedded engine's benchmark load (enginetest.Benchmark on
// BenchZones(1000, 1), as BenchmarkUpdate) through both engines, so one run reports both.
// Tile38 answers each Update in a network round trip: its throughput comes from many
// concurrent callers pipelining on one connection, so run it with more goroutines than cores
// too, e.g. -cpu 2,32 (the benchmark drives one goroutine per GOMAXPROCS).
func BenchmarkTile38Update(b *testing.B) {
	zones := enginetest.BenchZones(1000, 1)
	b.Run("embedded", func(b *testing.B) {
		e := geofence.NewEmbedded(geofence.Options{})
		defer e.Close()
		enginetest.Benchmark(b, e, zones)
	})
	b.Run("tile38", func(b *testing.B) {
		enginetest.Benchmark(b, newTile38(b), zones)
	})
}

// TestTile38PrefetchMatchesEmbedded: with each vehicle's next 16 moves prefetched (as the
// pipeline does for a read of 16 fixes), Tile38 gives the events the embedded engine gives,
// fix by fix; so it does when the moves taken are not the ones prefetched (a fix left out,
// a position that differs), and when the zones change between the prefetch and the moves.
func TestTile38PrefetchMatchesEmbedded(t *testing.T) {
	ctx := context.Background()
	zones := enginetest.BenchZones(300, 1)
	t38 := newTile38(t)
	emb := geofence.NewEmbedded(geofence.Options{})
	defer emb.Close()
	for _, e := range []geofence.Engine{t38, emb} {
		if err := e.SetZones(ctx, zones); err != nil {
			t.Fatal(err)
		}
	}
	const n, read = 100, 16
	w := newWanderers(n)
	kinds := map[geofence.EventType]int{}
	for round := range 40 {
		if round == 20 {
			// Between a prefetch and its moves, the zones change: what was answered for
			// the old set must not be used.
			for i := range n {
				ps := make([]geofence.Position, read)
				for k := range ps {
					ps[k] = w.next(i)
				}
				t38.Prefetch(ctx, ps)
			}
			zones = zones[:len(zones)-50]
			for _, e := range []geofence.Engine{t38, emb} {
				if err := e.SetZones(ctx, zones); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range n {
			ps := make([]geofence.Position, read)
			for k := range ps {
				ps[k] = w.next(i)
			}
			t38.Prefetch(ctx, ps)
			switch round % 4 {
			case 1: // a fix the rules do not follow (invalid, a jump) is left out
				ps = append(ps[:5], ps[6:]...)
			case 2: // the position moved is not the one prefetched
				ps[9].Lat += 0.01
			}
			for _, p := range ps {
				a, err := emb.Update(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				b, err := t38.Update(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("round %d, %s at %v: embedded %v, Tile38 after a prefetch %v", round, p.VehicleID, p.Time, a, b)
				}
				for _, e := range a {
					kinds[e.Type]++
				}
			}
		}
	}
	for _, k := range []geofence.EventType{geofence.ZoneEnter, geofence.ZoneExit} {
		if kinds[k] == 0 {
			t.Errorf("no %s events in the load (%v)", k, kinds)
		}
	}
	t.Logf("events compared: %v", kinds)
}

// TestTile38CellSavesQueries: a vehicle asks Tile38 for the zones around it once per cell,
// not once per fix (its SETs are posted, their replies not waited for); a prefetched read takes one
// round trip for all its fixes, and none while they stay in the cell already asked about; a
// change of the zones makes it ask again.
func TestTile38CellSavesQueries(t *testing.T) {
	ctx := context.Background()
	e := newTile38(t)
	if err := e.SetZones(ctx, district.Zones()); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	// A truck driving north at 15 m/s, a fix every 10 s: 150 m apart.
	at := func(i int) geofence.Position {
		return geofence.Position{VehicleID: "truck", Time: t0.Add(time.Duration(i) * 10 * time.Second), Lat: 42.0 + float64(i)*0.00135, Lon: 111.0}
	}
	trips := func() uint64 { return e.Stats().RoundTrips }
	start := e.Stats()
	const n = 60 // 9 km
	for i := range n {
		if _, err := e.Update(ctx, at(i)); err != nil {
			t.Fatal(err)
		}
	}
	// A cell reaches 2 km beyond the move that asked for it: ~15 fixes of this truck.
	if got := e.Stats().CellQueries - start.CellQueries; got > n/10 {
		t.Errorf("%d fixes 150 m apart asked Tile38 for zones %d times, want at most %d", n, got, n/10)
	}
	st := e.Stats()
	if got, want := st.RoundTrips-start.RoundTrips, st.CellQueries-start.CellQueries; got != want {
		t.Errorf("%d lone fixes took %d round trips, want one per cell query (%d): SETs are posted", n, got, want)
	}
	if got := st.Commands - start.Commands; got != n+st.CellQueries-start.CellQueries {
		t.Errorf("%d lone fixes sent %d commands, want a SET each and the cell queries", n, got)
	}
	read := func(from int) []geofence.Position {
		ps := make([]geofence.Position, 16)
		for k := range ps {
			ps[k] = at(from + k)
		}
		return ps
	}
	// A read of 16 fixes (2.4 km) beyond the cell: one round trip, the prefetch.
	ps := read(n + 20)
	before := trips()
	e.Prefetch(ctx, ps)
	for _, p := range ps {
		if _, err := e.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if got := trips() - before; got != 1 {
		t.Errorf("a prefetched read of 16 fixes took %d round trips, want 1", got)
	}
	// The next read, back within the cell the prefetch asked about: none.
	ps = read(n + 20)
	for k := range ps {
		ps[k].Time = ps[k].Time.Add(time.Hour)
	}
	before = trips()
	e.Prefetch(ctx, ps)
	for _, p := range ps {
		if _, err := e.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if got := trips() - before; got != 0 {
		t.Errorf("a read within the vehicle's cell took %d round trips, want 0", got)
	}
	// New zones: the cell asked about the old ones is not used.
	if err := e.SetZones(ctx, district.Zones()); err != nil {
		t.Fatal(err)
	}
	p := ps[len(ps)-1]
	p.Time = p.Time.Add(time.Second)
	start = e.Stats()
	if _, err := e.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := e.Stats().CellQueries - start.CellQueries; got != 1 {
		t.Errorf("the first move after SetZones asked for zones %d times, want 1", got)
	}
}

// BenchmarkTile38Reads is the whole Tile38 path of a read of 16 fixes of one vehicle:
// 16 round trips one after the other, or one prefetch and 16 Updates answered from it.
func BenchmarkTile38Reads(b *testing.B) {
	ctx := context.Background()
	for _, prefetch := range []bool{false, true} {
		b.Run(map[bool]string{false: "update", true: "prefetch"}[prefetch], func(b *testing.B) {
			e := newTile38(b)
			if err := e.SetZones(ctx, enginetest.BenchZones(300, 1)); err != nil {
				b.Fatal(err)
			}
			const vehicles, read = 1000, 16
			w := newWanderers(vehicles)
			var next atomic.Int64
			b.SetParallelism(16) // many connections' reads at once, as on a gateway
			writes, trips := writeSyscalls(), e.Stats().RoundTrips
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ps := make([]geofence.Position, read)
				for pb.Next() {
					i := int(next.Add(1)) % vehicles
					for k := range ps {
						ps[k] = w.next(i)
					}
					if prefetch {
						e.Prefetch(ctx, ps)
					}
					for _, p := range ps {
						if _, err := e.Update(ctx, p); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
			b.ReportMetric(float64(b.N*read)/b.Elapsed().Seconds(), "fixes/s")
			b.ReportMetric(float64(e.Stats().RoundTrips-trips)/float64(b.N*read), "roundtrips/fix")
			if writes >= 0 {
				b.ReportMetric(float64(writeSyscalls()-writes)/float64(b.N*read), "writes/fix")
			}
		})
	}
}

// writeSyscalls is how many write system calls this process has made (Linux), -1 if unknown:
// a load-independent measure of how well commands are batched.
func writeSyscalls() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// freezeProxy forwards connections to a Tile38 server; freeze stops forwarding what the
// client sends on the first connection it accepted, as a server busy with that connection's
// backlog would.
type freezeProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	n      int
	frozen chan struct{} // closed once frozen
	thaw   chan struct{} // closed to resume
}

func startFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, frozen: make(chan struct{}), thaw: make(chan struct{})}
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			first := p.n == 0
			p.n++
			conns = append(conns, c, up)
			p.mu.Unlock()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if first {
						select {
						case <-p.frozen:
							<-p.thaw
						default:
						}
					}
					if n > 0 {
						if _, werr := up.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						up.Close()
						return
					}
				}
			}()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *freezeProxy) addr() string { return p.ln.Addr().String() }

// TestTile38QueriesNotBehindSets: the SETs' connection stalls (Tile38 working through a
// backlog of SETs posted on it); a vehicle's move that needs a cell query must still be
// answered, with the events the embedded engine gives, since the queries have a connection
// of their own.
func TestTile38QueriesNotBehindSets(t *testing.T) {
	proxy := startFreezeProxy(t, tile38Addr(t))
	ctx := context.Background()
	prefix := fmt.Sprintf("bwtest-freeze-%d-%d", os.Getpid(), time.Now().UnixNano())
	e, err := geofence.NewTile38(ctx, proxy.addr()+"/"+prefix, geofence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	defer e.Drop(ctx) // after the thaw below
	emb := geofence.NewEmbedded(geofence.Options{})
	defer emb.Close()
	for _, en := range []geofence.Engine{e, emb} {
		if err := en.SetZones(ctx, district.Zones()); err != nil {
			t.Fatal(err)
		}
	}
	close(proxy.frozen)
	defer close(proxy.thaw)
	_, port, ps := throughErenhot(t)
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var got, want []geofence.Event
	for _, p := range []geofence.Position{ps[0], ps[len(ps)/2], ps[len(ps)-1]} { // each move leaves its cell
		evs, err := e.Update(qctx, p)
		if err != nil {
			t.Fatalf("Update with the SETs' connection stalled: %v", err)
		}
		got = append(got, evs...)
		evs, _ = emb.Update(ctx, p)
		want = append(want, evs...)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("through %s with the SETs' connection stalled: %v, embedded %v", port.ID, got, want)
	}
	if len(got) == 0 {
		t.Fatal("no events: the test drove past nothing")
	}
}
