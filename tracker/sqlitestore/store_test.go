package sqlitestore_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"

	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
	"github.com/borderwatch/borderwatch/tracker/storetest"
)

func open(tb testing.TB) storetest.Store {
	s, err := sqlitestore.Open(tb.Context(), filepath.Join(tb.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.Store { return open(b) })
}

// TestMigrationsIdempotent reopens a database: migrations already applied must not run again.
func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	for range 2 {
		s, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Vehicles(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkCommitFleet is the group commit as `borderwatch bench` drives it: 2,000 vehicles
// that each send 16 fixes a read, 32 reads a commit, heads flushed by the store's own flusher
// as they fill. b.N counts fixes; the Commit is the pipeline's serial work, which every
// submitter of a group waits for, so ns/op is that wait's share per fix. cpu-µs/fix is the
// process's CPU time per fix, the flush of every head to chunks included: on a shared machine
// it compares builds where ns/op does not.
func BenchmarkCommitFleet(b *testing.B) {
	const vehicles, perRead, readsPerCommit = 2000, 16, 32
	st := open(b)
	cpu0 := processCPU(b)
	ids := make([]string, vehicles)
	for i := range ids {
		ids[i] = fmt.Sprintf("veh-%d", i)
	}
	attrs := map[string]any{"mileage_km": 1234.5, "signal": 25, "satellites": 11}
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var batch tracker.Batch
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs, bytes := ms.Mallocs, ms.TotalAlloc
	b.ResetTimer()
	for n, v := 0, 0; n < b.N; {
		batch.Fixes = batch.Fixes[:0]
		for range readsPerCommit {
			id := ids[v%vehicles]
			at := t0.Add(time.Duration(v/vehicles*perRead) * time.Second)
			for j := range perRead {
				batch.Fixes = append(batch.Fixes, tracker.Fix{VehicleID: id, DeviceID: id, Protocol: tracker.ProtocolJT808,
					Time: at.Add(time.Duration(j) * time.Second), ReceivedAt: t0, Lat: 43.65, Lon: 111.97 + float64(j)*1e-5,
					Valid: true, Flags: []string{}, Attrs: attrs})
			}
			v++
		}
		if err := st.Commit(b.Context(), &batch); err != nil {
			b.Fatal(err)
		}
		n += len(batch.Fixes)
	}
	if err := st.(*sqlitestore.Store).Flush(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/fix")
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(b.N), "mallocs/fix")
	b.ReportMetric(float64(ms.TotalAlloc-bytes)/float64(b.N), "bytes/fix")
}

// processCPU is this process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
