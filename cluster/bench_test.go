package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/tracker"
)

// BenchmarkTrackers measures a 3-node NATS cluster with 1, 2 and 3 trackers (in this process,
// each with its own connection, rules and pipeline) over one PostgreSQL: b.N fixes of 200
// vehicles are published through the gateway (ack p99: JetStream's replicated store), then the
// trackers are started and timed until every fix is stored (fixes/s, CPU per fix of the whole
// process, NATS servers included). Run with -benchtime=20000x.
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
	gw := NewGateway(gwConn, nil)
	const vehicles = 200
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	lat := make([][]time.Duration, vehicles)
	var wg sync.WaitGroup
	for v := range vehicles {
		wg.Go(func() {
			for i := v; i < b.N; i += vehicles {
				f := tracker.Fix{VehicleID: fmt.Sprintf("veh-%03d", v), DeviceID: fmt.Sprintf("dev-%03d", v), Protocol: "jt808",
					Time: t0.Add(time.Duration(i/vehicles) * time.Second), Lat: 43.61 + float64(v)*0.0005, Lon: 111.85 + float64(i/vehicles)*0.00002, Valid: true}
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
	all := slices.Concat(lat...)
	slices.Sort(all)
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for i := range k {
		startTracker(b, nats.URLs(), fmt.Sprintf("T%d", i), st)
	}
	for {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM fixes`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n >= b.N {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "fixes/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/fix")
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "ack-p99-ms")
	}
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
