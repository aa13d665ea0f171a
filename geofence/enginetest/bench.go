package enginetest

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/paulmach/orb"
)

// The district-like layout: a 4,000-vertex border through the five road ports of the Hohhot
// district, a port square on the line at each, a yard 30 km behind it joined by a 200 m
// corridor, a 20 km control zone along the whole border, and synthetic polygons scattered over
// the district.
var benchPorts = []struct {
	id       string
	lat, lon float64
}{
	{"ceke", 42.567, 101.300},
	{"ganqimaodu", 42.40, 107.57},
	{"mandula", 42.67, 110.10},
	{"erenhot", 43.69, 111.93},
	{"zhuengadabuqi", 45.762, 116.263},
}

// BenchZones returns the district-like layout and synthetic extra polygons (see
// SyntheticZones).
func BenchZones(synthetic int, seed int64) []geofence.Zone {
	rng := rand.New(rand.NewSource(seed))
	way := []orb.Point{{97, 42.6}}
	for _, p := range benchPorts {
		way = append(way, orb.Point{p.lon, p.lat})
	}
	way = append(way, orb.Point{119.5, 46.5})
	// ≈4,000 vertices with a few hundred metres of wiggle, passing exactly through the ports.
	var line orb.LineString
	const per = 570
	for i := 1; i < len(way); i++ {
		a, b := way[i-1], way[i]
		for k := range per {
			f := float64(k) / per
			wiggle := 0.0
			if k > 0 {
				wiggle = (rng.Float64()*2 - 1) * 0.003
			}
			line = append(line, orb.Point{a[0] + (b[0]-a[0])*f, a[1] + (b[1]-a[1])*f + wiggle})
		}
	}
	line = append(line, way[len(way)-1])
	zones := []geofence.Zone{{ID: "border", Kind: geofence.KindBorder, Geometry: line, DomesticSide: "right"}}

	band := orb.Ring(append(orb.LineString{}, line...))
	for i := len(line) - 1; i >= 0; i-- {
		band = append(band, orb.Point{line[i][0], line[i][1] - 0.18})
	}
	band = append(band, line[0])
	zones = append(zones, geofence.Zone{ID: "border-control", Kind: geofence.KindControlZone, Geometry: orb.Polygon{band}})

	for _, p := range benchPorts {
		zones = append(zones,
			geofence.Zone{ID: "port-" + p.id, Kind: geofence.KindPort, Geometry: orb.Polygon{box(p.lat, p.lon, 3000)}},
			geofence.Zone{ID: "yard-" + p.id, Kind: geofence.KindYard, Geometry: orb.Polygon{box(p.lat-0.27, p.lon, 1000)}},
			geofence.Zone{ID: "corridor-" + p.id, Kind: geofence.KindCorridor, WidthM: 200, Geometry: corridorLine(rng, p.lat, p.lon)},
		)
	}
	return append(zones, SyntheticZones(synthetic, seed)...)
}

// SyntheticZones returns n polygons of 8 to 32 vertices, 0.5 to 3 km across, scattered over
// the district, of the area kinds in turn.
func SyntheticZones(n int, seed int64) []geofence.Zone {
	rng := rand.New(rand.NewSource(seed))
	var zones []geofence.Zone
	for i := range n {
		lat, lon := 40.5+rng.Float64()*5.5, 97+rng.Float64()*23
		n := 8 + rng.Intn(25)
		r := 250 + rng.Float64()*1250
		kx, ky := geofence.MetresPerDegree(lat)
		ring := make(orb.Ring, 0, n+1)
		for k := range n {
			a := 2 * math.Pi * (float64(k) + rng.Float64()*0.8) / float64(n)
			rr := r * (0.5 + 0.5*rng.Float64())
			ring = append(ring, orb.Point{lon + rr*math.Cos(a)/kx, lat + rr*math.Sin(a)/ky})
		}
		ring = append(ring, ring[0])
		kinds := []geofence.Kind{geofence.KindYard, geofence.KindServiceArea, geofence.KindRestricted, geofence.KindControlZone}
		zones = append(zones, geofence.Zone{ID: fmt.Sprintf("synthetic-%d", i), Kind: kinds[i%len(kinds)], Geometry: orb.Polygon{ring}})
	}
	return zones
}

// box is a square of side metres centred on (lat, lon).
func box(lat, lon, side float64) orb.Ring {
	kx, ky := geofence.MetresPerDegree(lat)
	dx, dy := side/2/kx, side/2/ky
	return orb.Ring{{lon - dx, lat - dy}, {lon + dx, lat - dy}, {lon + dx, lat + dy}, {lon - dx, lat + dy}, {lon - dx, lat - dy}}
}

// corridorLine runs from a port to its yard 0.27° south in 20 slightly bent pieces.
func corridorLine(rng *rand.Rand, lat, lon float64) orb.LineString {
	var l orb.LineString
	for k := 0; k <= 20; k++ {
		f := float64(k) / 20
		bend := 0.0
		if k > 0 && k < 20 {
			bend = (rng.Float64()*2 - 1) * 0.01
		}
		l = append(l, orb.Point{lon + bend, lat - 0.27*f})
	}
	return l
}

// benchTrack is one vehicle's fixes, every 10 s at 15 m/s; a third of the vehicles drive from
// Mongolia through a port along its corridor to the yard, the others wander.
func benchTrack(rng *rand.Rand, i, n int) []orb.Point {
	var lat, lon, heading float64
	port := i%3 == 0
	if port {
		p := benchPorts[i%len(benchPorts)]
		lat, lon, heading = p.lat+0.05, p.lon, math.Pi
	} else {
		lat, lon, heading = 40.5+rng.Float64()*5.5, 97+rng.Float64()*23, rng.Float64()*2*math.Pi
	}
	out := make([]orb.Point, n)
	for k := range n {
		out[k] = orb.Point{lon, lat}
		if !port {
			heading += (rng.Float64()*2 - 1) * 0.3
		}
		kx, ky := geofence.MetresPerDegree(lat)
		lat += 150 * math.Cos(heading) / ky
		lon += 150 * math.Sin(heading) / kx
	}
	return out
}

// Benchmark measures Update on zones (BenchZones(1000, 1) is the district-like layout with
// 1,000 synthetic polygons): 10,000 vehicles each moving 150 m per fix, a third of them through
// the five ports, visited in turn, one goroutine per GOMAXPROCS each with
// its own vehicles. It reports evaluations per second of wall time, the CPU time per
// evaluation and evaluations per CPU-second (the figure per core, true on a busy machine too,
// GC included), and events per evaluation.
func Benchmark(b *testing.B, e geofence.Engine, zones []geofence.Zone) {
	const vehicles, fixes = 10_000, 240
	ctx := context.Background()
	if err := e.SetZones(ctx, zones); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(2))
	ids := make([]string, vehicles)
	tracks := make([][]orb.Point, vehicles)
	for i := range vehicles {
		ids[i] = fmt.Sprintf("v%05d", i)
		tracks[i] = benchTrack(rng, i, fixes)
	}
	// Tracks are driven forward then back, so a vehicle never jumps, and time goes on.
	at := func(v, step int) geofence.Position {
		k := step % (2 * fixes)
		if k >= fixes {
			k = 2*fixes - 1 - k
		}
		p := tracks[v][k]
		return geofence.Position{VehicleID: ids[v], Time: t0.Add(time.Duration(step) * 10 * time.Second), Lat: p[1], Lon: p[0]}
	}
	// Every goroutine drives its own vehicles, keeping each vehicle's fixes in order.
	var workers atomic.Int64
	per := vehicles / runtime.GOMAXPROCS(0)
	var events atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		w := int(workers.Add(1) - 1)
		first := (w * per) % vehicles
		n := 0
		evs := int64(0)
		for pb.Next() {
			v := first + n%per
			got, err := e.Update(ctx, at(v, n/per))
			if err != nil {
				b.Error(err)
				return
			}
			evs += int64(len(got))
			n++
		}
		events.Add(evs)
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	if cpu1, ok := cpuTime(); ok && cpuOK {
		// CPU time, not wall time: the cost per core even when the machine is shared.
		cpu := (cpu1 - cpu0).Seconds()
		b.ReportMetric(cpu*1e9/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(b.N)/cpu, "evals/cpu-s")
	}
	b.ReportMetric(float64(events.Load())/float64(b.N), "events/op")
}
