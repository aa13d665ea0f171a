package storetest

import (
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Bench measures a store: Commit throughput in batches of 256 fixes (one goroutine and
// several), Track of one vehicle's day (8,640 fixes at 10 s) and 30 days (259,200 fixes)
// among other vehicles' fixes, and SearchArea over a small box and an hour among
// BW_BENCH_AREA_FIXES fixes (default 1,000,000). open must return a new, empty store.
func Bench(b *testing.B, open func(b *testing.B) Store) {
	b.Run("Commit256", func(b *testing.B) { benchCommit(b, open(b), 1) })
	b.Run("Commit256Parallel4", func(b *testing.B) { benchCommit(b, open(b), 4) })
	b.Run("TrackDay", func(b *testing.B) { benchTrack(b, open(b), 1) })
	b.Run("Track30Days", func(b *testing.B) { benchTrack(b, open(b), 30) })
	b.Run("SearchArea", func(b *testing.B) { benchSearchArea(b, open(b)) })
}

const benchBatch = 256

var benchStart = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// benchFix is a fix of vehicle v at step n of 10 s, on a 0.01-degree grid spread of vehicles.
func benchFix(v, n int) tracker.Fix {
	at := benchStart.Add(time.Duration(n) * 10 * time.Second)
	return tracker.Fix{
		VehicleID:  "veh-" + strconv.Itoa(v),
		DeviceID:   "dev-" + strconv.Itoa(v),
		Protocol:   tracker.ProtocolJT808,
		Time:       at,
		ReceivedAt: at.Add(800 * time.Millisecond),
		Lat:        41.0 + float64(v%100)*0.03 + float64(n%360)*0.0001,
		Lon:        106.0 + float64(v/100)*0.06 + float64(n%500)*0.0001,
		SpeedKmh:   float64(n % 90),
		Heading:    float64(n % 360),
		AltitudeM:  1000,
		Valid:      true,
		Flags:      []string{},
		Attrs:      map[string]any{"mileage_km": float64(n) / 10},
	}
}

// load commits fixes of vehicles × steps in batches, vehicle-interleaved as they arrive live.
func load(b *testing.B, s Store, vehicles, steps int) {
	b.Helper()
	batch := &tracker.Batch{Fixes: make([]tracker.Fix, 0, 4096)}
	flush := func() {
		if err := s.Commit(b.Context(), batch); err != nil {
			b.Fatalf("Commit: %v", err)
		}
		batch.Fixes = batch.Fixes[:0]
	}
	for n := range steps {
		for v := range vehicles {
			batch.Fixes = append(batch.Fixes, benchFix(v, n))
			if len(batch.Fixes) == cap(batch.Fixes) {
				flush()
			}
		}
	}
	if len(batch.Fixes) > 0 {
		flush()
	}
}

func benchCommit(b *testing.B, s Store, workers int) {
	// Like the pipeline, each committer owns its vehicles (1,000 of them) and sends their
	// fixes in time order, so committers never touch the same vehicle.
	const vehicles = 1000
	var fixes, shards atomic.Int64
	run := func(shard int, next func() bool) {
		batch := &tracker.Batch{}
		for n := 0; next(); n++ {
			batch.Fixes = batch.Fixes[:0]
			for i := range benchBatch {
				k := n*benchBatch + i
				batch.Fixes = append(batch.Fixes, benchFix(shard*vehicles+k%vehicles, k/vehicles))
			}
			if err := s.Commit(b.Context(), batch); err != nil {
				b.Fatalf("Commit: %v", err)
			}
			fixes.Add(benchBatch)
		}
	}
	if workers == 1 {
		run(0, b.Loop)
	} else {
		b.SetParallelism(workers) // × GOMAXPROCS goroutines
		b.RunParallel(func(pb *testing.PB) { run(int(shards.Add(1)), pb.Next) })
	}
	b.ReportMetric(float64(fixes.Load())/b.Elapsed().Seconds(), "fixes/s")
}

func benchTrack(b *testing.B, s Store, days int) {
	const others = 4
	steps := days * 8640
	load(b, s, others+1, steps)
	from, to := benchStart, benchStart.Add(time.Duration(days)*24*time.Hour)
	var n int
	for b.Loop() {
		fixes, err := s.Track(b.Context(), "veh-"+strconv.Itoa(others), from, to)
		if err != nil {
			b.Fatal(err)
		}
		n = len(fixes)
	}
	if n != steps {
		b.Fatalf("Track returned %d fixes, want %d", n, steps)
	}
	b.ReportMetric(float64(n), "fixes/op")
}

func benchSearchArea(b *testing.B, s Store) {
	total := 1_000_000
	if v := os.Getenv("BW_BENCH_AREA_FIXES"); v != "" {
		var err error
		if total, err = strconv.Atoi(v); err != nil {
			b.Fatalf("BW_BENCH_AREA_FIXES: %v", err)
		}
	}
	// 2,000 vehicles over 3 degrees by 1.2 degrees, every 10 s, for as long as total takes.
	const vehicles = 2000
	steps := max(total/vehicles, 1)
	load(b, s, vehicles, steps)
	// A 0.1-degree box (about 10 km) around the middle for one hour in the middle.
	box := tracker.Box{MinLat: 42.45, MinLon: 106.25, MaxLat: 42.55, MaxLon: 106.35}
	from := benchStart.Add(time.Duration(steps/2) * 10 * time.Second)
	to := from.Add(time.Hour)
	var n int
	for b.Loop() {
		fixes, err := s.SearchArea(b.Context(), box, from, to, 10_000)
		if err != nil {
			b.Fatal(err)
		}
		n = len(fixes)
	}
	if n == 0 {
		b.Fatal("SearchArea found nothing: the benchmark's box misses the data")
	}
	b.ReportMetric(float64(n), "fixes/op")
	b.ReportMetric(float64(vehicles*steps), "stored")
}
