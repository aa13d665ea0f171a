package cluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/borderwatch/borderwatch/tracker"
)

// BenchmarkTrackers measures a 3-node NATS cluster with 1, 2 and 3 trackers (in this process,
// each with its own connection, rules and pipeline) over one PostgreSQL, in steady state: the
// trackers are started and have taken every partition over before the clock starts (the
// take-over is reported apart, as takeover-s); then b.N fixes of 1,000 vehicles, each sending
// its next fix once the previous is acknowledged, go through the gateway while the trackers
// consume them, and the clock stops when every fix is stored. fixes/s is end to end (gateway,
// JetStream, trackers, PostgreSQL); cpu-µs/fix is the whole process's (the three NATS servers
// included, PostgreSQL not); ack-p99-ms is the gateway's Submit (JetStream stored it on a
// quorum) under that load. Run with -benchtime=20000x.
var steadyProfile = flag.String("steadyprofile", "", "BenchmarkTrackers: write a CPU profile of the timed phase only (not the take-over) to this file")

func BenchmarkTrackers(b *testing.B) {
	for _, k := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("trackers=%d", k), func(b *testing.B) { benchTrackers(b, k) })
	}
}

func benchTrackers(b *testing.B, k int) {
	nats, st, dbURL := startCluster(b)
	ctx := context.Background()
	gwConn, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		b.Fatal(err)
	}
	defer gwConn.Close()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	started := time.Now()
	trackers := make([]*trackerNode, k)
	for i := range k {
		trackers[i] = startTracker(b, nats.URLs(), fmt.Sprintf("T%d", i), st)
	}
	waitServing(b, gwConn, trackers)
	takeover := time.Since(started)

	gw := NewGateway(gwConn, nil)
	const vehicles = 1000
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	lat := make([][]time.Duration, vehicles)
	if *steadyProfile != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", *steadyProfile, k))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	lost0, acquired0 := changes(trackers, "lost"), changes(trackers, "acquired")
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for v := range vehicles {
		wg.Go(func() {
			for i := v; i < b.N; i += vehicles {
				f := tracker.Fix{VehicleID: fmt.Sprintf("veh-%04d", v), DeviceID: fmt.Sprintf("dev-%04d", v), Protocol: "jt808",
					Time: t0.Add(time.Duration(i/vehicles) * time.Second), Lat: 43.61 + float64(v)*0.0001, Lon: 111.85 + float64(i/vehicles)*0.00002, Valid: true}
				start := time.Now()
				if err := gw.Submit(ctx, []tracker.Fix{f}); err != nil {
					b.Error(err)
					return
				}
				lat[v] = append(lat[v], time.Since(start))
			}
		})
	}
	wg.Wait()
	for {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM fixes`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n >= b.N {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(takeover.Seconds(), "takeover-s")
	b.ReportMetric(float64(b.N)/el.Seconds(), "fixes/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/fix")
	// Under load a tracker alive must keep its partitions: every lease lost is a spurious
	// take-over (and the partition's replay, which loads the cluster further).
	b.ReportMetric(changes(trackers, "lost")-lost0, "leases-lost")
	b.ReportMetric(changes(trackers, "acquired")-acquired0, "takeovers")
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "ack-p99-ms")
	}
}

// waitServing waits until the trackers serve every partition: each owned, taken over.
func waitServing(b *testing.B, c *Conn, trackers []*trackerNode) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		serving := 0
		for _, n := range trackers {
			n.tr.mu.Lock()
			for _, o := range n.tr.owned {
				if o.ready.Load() && !o.releasing {
					serving++
				}
			}
			n.tr.mu.Unlock()
		}
		if serving == c.cfg.Partitions {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d partitions served after 5 min", serving, c.cfg.Partitions)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// changes sums the trackers' partition ownership changes of one kind (acquired, lost, released).
func changes(trackers []*trackerNode, change string) float64 {
	var n float64
	for _, t := range trackers {
		n += testutil.ToFloat64(t.conn.m.changes.WithLabelValues(change))
	}
	return n
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
