package rules_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/rules"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

const benchVehicles = 10000

// benchFleet drives vehicles back and forth along the district's roads, 10 s and ~170 m a fix;
// every fifth vehicle on a road from a port to a yard has an outbound declaration along that
// corridor, so its fixes take the detour path as well.
type benchFleet struct {
	ids   []string
	paths [][]orb.Point
	decls []tracker.Declaration
}

func newBenchFleet() *benchFleet {
	roadPort := map[string]district.Port{}
	roadRoute := map[string]district.Route{}
	for _, p := range district.Ports() {
		for _, r := range p.Routes {
			roadPort[r.RoadID], roadRoute[r.RoadID] = p, r
		}
	}
	roads := district.Roads()
	fl := &benchFleet{}
	for v := range benchVehicles {
		r := roads[v%len(roads)]
		length := geo.LengthHaversine(r.Line)
		start := float64(v*7919%1000) / 1000 * length * 0.8
		var path []orb.Point
		for k := range 64 {
			p, _ := geo.PointAtDistanceAlongLine(r.Line, min(length, start+float64(k)*170))
			path = append(path, p)
		}
		fl.paths = append(fl.paths, path)
		fl.ids = append(fl.ids, fmt.Sprintf("v%d", v))
		if p, ok := roadPort[r.ID]; ok && v%5 == 0 {
			rt := roadRoute[r.ID]
			fl.decls = append(fl.decls, tracker.Declaration{ID: fmt.Sprintf("d%d", v), VehicleID: fmt.Sprintf("v%d", v),
				Direction: tracker.Outbound, PortZoneID: p.ID, CorridorZoneID: rt.CorridorID, YardZoneID: rt.YardID,
				ValidFrom: t0.Add(-time.Hour), ValidTo: t0.Add(1000 * time.Hour), Status: tracker.DeclarationActive})
		}
	}
	return fl
}

// fix is vehicle v's n-th fix: back and forth along its path.
func (fl *benchFleet) fix(v, n int) tracker.Fix {
	path := fl.paths[v]
	k := n % (2 * len(path))
	if k >= len(path) {
		k = 2*len(path) - 1 - k
	}
	p := path[k]
	return tracker.Fix{VehicleID: fl.ids[v], DeviceID: fl.ids[v], Time: t0.Add(time.Duration(n) * step),
		ReceivedAt: t0.Add(time.Duration(n) * step), Lat: p[1], Lon: p[0], Valid: true, Flags: []string{}}
}

func benchEngine(b testing.TB, fl *benchFleet) (*rules.Engine, *sqlitestore.Store) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	zones, err := st.PutZones(ctx, district.Zones())
	if err != nil {
		b.Fatal(err)
	}
	eng := geofence.NewEmbedded(geofence.Options{})
	if err := eng.SetZones(ctx, zones); err != nil {
		b.Fatal(err)
	}
	r := rules.New(rules.Config{Engine: eng, Store: st, Now: func() time.Time { return t0 }})
	for _, d := range fl.decls {
		r.DeclarationChanged(ctx, d)
	}
	return r, st
}

// BenchmarkEvaluate is the rules' share of the hot path: geofencing, zone events, stops,
// corridors, per fix, over 10,000 vehicles in parallel; zones-only is tracker.ZoneEvaluator on
// the same fixes, what the rules add to it is the difference.
func BenchmarkEvaluate(b *testing.B) {
	fl := newBenchFleet()
	b.Run("rules", func(b *testing.B) {
		r, _ := benchEngine(b, fl)
		benchEvaluate(b, fl, r)
	})
	b.Run("zones-only", func(b *testing.B) {
		_, st := benchEngine(b, fl)
		zones, err := st.Zones(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		eng := geofence.NewEmbedded(geofence.Options{})
		if err := eng.SetZones(context.Background(), zones); err != nil {
			b.Fatal(err)
		}
		benchEvaluate(b, fl, tracker.NewZoneEvaluator(eng))
	})
}

func benchEvaluate(b *testing.B, fl *benchFleet, r tracker.Evaluator) {
	ctx := context.Background()
	vehicles := make([]tracker.VehicleEvaluator, benchVehicles)
	fixes := make([]tracker.Fix, benchVehicles*8)
	for v := range benchVehicles {
		vehicles[v] = r.Vehicle(fl.ids[v])
		for n := range 8 {
			fixes[n*benchVehicles+v] = fl.fix(v, n)
		}
	}
	// evaluate evaluates f as the pipeline does: the vehicle locked.
	evaluate := func(v tracker.VehicleEvaluator, f *tracker.Fix, out *tracker.Outcome) error {
		st := v.State()
		st.Lock()
		defer st.Unlock()
		return v.Evaluate(ctx, f, out)
	}
	// Warm up: every vehicle known, its first fixes evaluated.
	var out tracker.Outcome
	for i := range fixes {
		if err := evaluate(vehicles[i%benchVehicles], &fixes[i], &out); err != nil {
			b.Fatal(err)
		}
		out.Events, out.Alerts = out.Events[:0], out.Alerts[:0]
	}
	// Each goroutine owns a range of vehicles.
	var next atomic.Int64
	const lanes = 64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		lane := int(next.Add(1)-1) % lanes
		var out tracker.Outcome
		per := benchVehicles / lanes
		i, n := 0, 8
		for pb.Next() {
			v := lane*per + i
			f := fl.fix(v, n)
			if err := evaluate(vehicles[v], &f, &out); err != nil {
				b.Error(err)
				return
			}
			out.Events, out.Alerts = out.Events[:0], out.Alerts[:0]
			if i++; i == per {
				i, n = 0, n+1
			}
		}
	})
}

// BenchmarkFixToAlert measures a fix's way from Submit to a durably stored alert: a vehicle
// crossing the border outside every port, back and forth, one fix per Submit.
func BenchmarkFixToAlert(b *testing.B) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	zones, err := st.PutZones(ctx, testZones())
	if err != nil {
		b.Fatal(err)
	}
	eng := geofence.NewEmbedded(geofence.Options{})
	if err := eng.SetZones(ctx, zones); err != nil {
		b.Fatal(err)
	}
	clock := t0
	now := func() time.Time { return clock }
	r := rules.New(rules.Config{Engine: eng, Store: st, Now: now})
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Evaluator: r, Now: now})
	defer p.Close()
	b.ResetTimer()
	for i := range b.N {
		lat := 42.001
		if i%2 == 1 {
			lat = 41.999
		}
		clock = t0.Add(time.Duration(i) * 4 * time.Minute) // beyond the border's dwell: each step crosses
		f := tracker.Fix{VehicleID: "x", DeviceID: "x", Time: clock, Lat: lat, Lon: 110.3, Valid: true}
		if err := p.Submit(ctx, []tracker.Fix{f}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	as, err := st.Alerts(ctx, tracker.AlertQuery{VehicleID: "x", Limit: b.N + 10})
	if err != nil {
		b.Fatal(err)
	}
	if b.N > 1 && len(as) < b.N-1 {
		b.Fatalf("%d alerts for %d crossings", len(as), b.N-1)
	}
}

// BenchmarkVehicleMemory is what a vehicle costs in memory: the live heap held by the
// pipeline, the rules, the geofence engine and the embedded store for 10,000 vehicles that
// each sent 8 fixes (with the items most terminals send), once their fixes are flushed
// (bytes/vehicle), and what each fix waiting for the flush added to that (bytes/unflushed-fix).
func BenchmarkVehicleMemory(b *testing.B) { vehicleMemory(b, 8) }

// BenchmarkVehicleMemorySteady is BenchmarkVehicleMemory once every vehicle has sent enough
// fixes (80) for the rules' history of recent fixes to be full (History fixes, each new one
// dropping the oldest), as in a server that has run for a while.
func BenchmarkVehicleMemorySteady(b *testing.B) { vehicleMemory(b, 80) }

func vehicleMemory(b *testing.B, fixesEach int) {
	fl := newBenchFleet()
	const lanes = 64
	for b.Loop() {
		ctx := context.Background()
		r, st := benchEngine(b, fl)
		p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Evaluator: r})
		heap0 := liveHeap()
		var wg sync.WaitGroup
		for lane := range lanes {
			wg.Go(func() {
				for n := range fixesEach {
					for v := lane; v < benchVehicles; v += lanes {
						f := fl.fix(v, n)
						f.Attrs = map[string]any{"mileage_km": float64(n) / 10, "signal": 24, "satellites": 11}
						if err := p.Submit(ctx, []tracker.Fix{f}); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		heap1 := liveHeap()
		if err := st.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		heap2 := liveHeap()
		b.ReportMetric(float64(heap2-heap0)/benchVehicles, "bytes/vehicle")
		b.ReportMetric(float64(heap1-heap2)/float64(benchVehicles*fixesEach), "bytes/unflushed-fix")
		p.Close()
	}
}

// liveHeap is the heap's live bytes after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
