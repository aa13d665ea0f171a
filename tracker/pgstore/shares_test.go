package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/storetest"
)

// TestConformanceShares runs the conformance suite with every batch of two fixes or more
// spread over four connections.
func TestConformanceShares(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s := openWriters(t, newDB(t), 4)
		s.minShare = 1
		return s
	})
}

// sharedFix is fix n of vehicle v, with the items most terminals send.
func sharedFix(v, n int, at time.Time) tracker.Fix {
	t := at.Add(time.Duration(n) * 10 * time.Second)
	return tracker.Fix{
		VehicleID: "veh-" + strconv.Itoa(v), DeviceID: "dev-" + strconv.Itoa(v), Protocol: tracker.ProtocolJT808,
		Time: t, ReceivedAt: t.Add(time.Second), Lat: 41 + float64(v%100)*0.01, Lon: 106 + float64(v/100)*0.01 + float64(n)*0.0001,
		SpeedKmh: 40, Heading: 90, AltitudeM: 1000, Valid: true, Seq: uint64(v*1000 + n + 1),
		Attrs: map[string]any{"mileage_km": float64(n), "signal": 20.0, "satellites": 9.0},
	}
}

// TestSharesCommit: a batch spread over connections stores every fix, points each event at
// its own fix and keeps each vehicle's newest fix, like one transaction.
func TestSharesCommit(t *testing.T) {
	s := openWriters(t, newDB(t), 4)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Hour)
	b := &tracker.Batch{}
	for n := range 3 {
		for v := range 400 {
			b.Fixes = append(b.Fixes, sharedFix(v, n, at))
		}
	}
	if s.split(b, make([]int, 0)) == nil {
		t.Fatal("a batch of 1,200 fixes of 400 vehicles is not split: the test would not test shares")
	}
	for v := range 400 {
		f := b.Fixes[800+v]
		b.Events = append(b.Events, tracker.Event{Type: tracker.EventWaybill, Time: f.Time, VehicleID: f.VehicleID, ZoneID: "z", FixSeq: f.Seq})
	}
	b.Alerts = append(b.Alerts, tracker.Alert{Type: "overstay", Severity: "high", VehicleID: "veh-7", Time: at, Message: "m", DedupKey: "overstay/veh-7"})
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	// IDs follow the batch's order, as on one connection: ties of time are broken by ID.
	for i, f := range b.Fixes {
		if f.ID == 0 || b.Duplicates[i] || i > 0 && f.ID <= b.Fixes[i-1].ID {
			t.Fatalf("fix %d: ID %d after %d, duplicate %v", i, f.ID, b.Fixes[max(i-1, 0)].ID, b.Duplicates[i])
		}
	}
	for i, e := range b.Events {
		if want := b.Fixes[800+i].ID; e.ID == 0 || e.FixID != want || i > 0 && e.ID <= b.Events[i-1].ID {
			t.Fatalf("event %d: ID %d, fix %d, want fix %d", i, e.ID, e.FixID, want)
		}
	}
	if b.Alerts[0].ID == 0 {
		t.Fatal("alert without ID")
	}
	latest, err := s.LatestFixes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 400 {
		t.Fatalf("%d latest fixes, want 400", len(latest))
	}
	for _, f := range latest {
		if !f.Time.Equal(at.Add(20 * time.Second)) {
			t.Fatalf("latest fix of %s at %v, want the third", f.VehicleID, f.Time)
		}
	}
	var stored int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM fixes").Scan(&stored); err != nil || stored != 1200 {
		t.Fatalf("%d fixes stored (%v), want 1200", stored, err)
	}
	// Sent again, as the pipeline retries: all duplicates, the events keep their fixes.
	again := &tracker.Batch{Fixes: slices.Clone(b.Fixes), Events: slices.Clone(b.Events)}
	for i := range again.Fixes {
		again.Fixes[i].ID = 0
	}
	if err := s.Commit(ctx, again); err != nil {
		t.Fatal(err)
	}
	for i := range again.Fixes {
		if !again.Duplicates[i] || again.Fixes[i].ID != b.Fixes[i].ID {
			t.Fatalf("resent fix %d: duplicate %v, ID %d want %d", i, again.Duplicates[i], again.Fixes[i].ID, b.Fixes[i].ID)
		}
	}
}

// TestSharesAllOrNothing: when one share fails, the others do not commit either.
func TestSharesAllOrNothing(t *testing.T) {
	s := openWriters(t, newDB(t), 4)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Hour)
	b := &tracker.Batch{}
	for v := range 1200 {
		b.Fixes = append(b.Fixes, sharedFix(v, 0, at))
	}
	// The first share, which takes the alerts, fails after inserting its fixes.
	b.Alerts = append(b.Alerts, tracker.Alert{Type: "overstay", Severity: "high", VehicleID: "veh-1", Time: at, Message: "m",
		DedupKey: "k", Evidence: json.RawMessage(`{"not json`)})
	if err := s.Commit(ctx, b); err == nil {
		t.Fatal("a batch with an alert PostgreSQL refuses was committed")
	}
	var stored int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM fixes").Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("%d fixes of a failed batch stored (%v)", stored, err)
	}
	b.Alerts[0].Evidence = nil
	if err := s.Commit(ctx, b); err != nil {
		t.Fatalf("the same batch, repaired: %v", err)
	}
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM fixes").Scan(&stored); err != nil || stored != 1200 {
		t.Fatalf("%d fixes stored (%v), want 1200", stored, err)
	}
}

// TestSharesLockCycle: another transaction holding one share's row and waiting for another
// share's row closes a cycle through the barrier that PostgreSQL cannot see; the share's lock
// timeout breaks it, and the batch is committed on one connection after.
func TestSharesLockCycle(t *testing.T) {
	s := openWriters(t, newDB(t), 4)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Hour)
	first := &tracker.Batch{}
	for v := range 1200 {
		first.Fixes = append(first.Fixes, sharedFix(v, 0, at))
	}
	if err := s.Commit(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Two vehicles of different shares.
	shares := s.split(first, nil)
	a, b := shares[0].b.Fixes[0].VehicleID, shares[1].b.Fixes[0].VehicleID
	other, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(ctx)
	if _, err := other.Exec(ctx, "SELECT 1 FROM latest_fixes WHERE vehicle_id = $1 FOR UPDATE", a); err != nil {
		t.Fatal(err)
	}
	next := &tracker.Batch{}
	for v := range 1200 {
		next.Fixes = append(next.Fixes, sharedFix(v, 1, at))
	}
	done := make(chan error, 1)
	go func() { done <- s.Commit(ctx, next) }()
	// The other transaction now waits for b's row, which b's share holds until COMMIT.
	time.Sleep(500 * time.Millisecond)
	otherDone := make(chan error, 1)
	go func() {
		_, err := other.Exec(ctx, "UPDATE latest_fixes SET speed_kmh = 1 WHERE vehicle_id = $1", b)
		if err == nil {
			err = other.Commit(ctx)
		}
		otherDone <- err
	}()
	select {
	case err := <-otherDone:
		if err != nil {
			t.Fatalf("the other transaction: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the other transaction and the group commit wait for each other")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Commit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Commit did not return")
	}
	var stored int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM fixes").Scan(&stored); err != nil || stored != 2400 {
		t.Fatalf("%d fixes stored (%v), want 2400", stored, err)
	}
}

// TestSharesDeviceOfTwoVehicles: a device whose fixes name vehicles of two shares keeps the
// batch on one connection (two shares inserting its device times would wait for each other).
func TestSharesDeviceOfTwoVehicles(t *testing.T) {
	s := openWriters(t, newDB(t), 4)
	at := time.Now().UTC()
	b := &tracker.Batch{}
	for v := range 1200 {
		b.Fixes = append(b.Fixes, sharedFix(v, 0, at))
	}
	if s.split(b, nil) == nil {
		t.Fatal("not split")
	}
	for v := 1; v < 1200; v++ {
		if shareOf(b.Fixes[v].VehicleID, s.writers) != shareOf(b.Fixes[0].VehicleID, s.writers) {
			f := sharedFix(v, 0, at)
			f.DeviceID = b.Fixes[0].DeviceID
			b.Fixes = append(b.Fixes, f)
			break
		}
	}
	if s.split(b, nil) != nil {
		t.Fatal("a device of two shares' vehicles was split")
	}
}

// BenchmarkGroupCommit commits batches one after another, as the pipeline's writer does, with
// the group commit spread over 1, 2 and 4 connections. It reports the fixes committed per
// second, the commit's p99 and the CPU time of the PostgreSQL backends per fix (read from
// /proc, so PostgreSQL must run on this machine), which the machine's load does not enter.
func BenchmarkGroupCommit(b *testing.B) {
	for _, batch := range []int{1024, 4096} {
		for _, writers := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("batch%d/writers%d", batch, writers), func(b *testing.B) {
				benchGroupCommit(b, batch, writers, 1)
			})
		}
	}
}

// BenchmarkGroupCommitWrites is BenchmarkGroupCommit with the batches `borderwatch bench` makes:
// each terminal's 16 frames of one write together, consecutive seconds, and batches from the
// size of a few writes to the largest.
func BenchmarkGroupCommitWrites(b *testing.B) {
	for _, batch := range []int{128, 512, 2048} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			benchGroupCommit(b, batch, 1, 16)
		})
	}
}

// benchGroupCommit commits batches of size fixes over writers connections, each vehicle's fixes
// run at a time in a row.
func benchGroupCommit(b *testing.B, size, writers, run int) {
	ctx := context.Background()
	s, err := Open(ctx, newDB(b), Options{Writers: writers})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const vehicles = 2000
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	n := 0
	next := func() *tracker.Batch {
		batch := &tracker.Batch{}
		for range size {
			w := n / run // the write, of vehicles in turn
			batch.Fixes = append(batch.Fixes, sharedFix(w%vehicles, w/vehicles*run+n%run, at))
			n++
		}
		return batch
	}
	if err := s.Commit(ctx, next()); err != nil { // opens the connections
		b.Fatal(err)
	}
	cpu0 := backendCPU(b, s)
	lat := make([]time.Duration, 0, b.N)
	var client time.Duration // this process's CPU while Commit runs: the store's side
	start := time.Now()
	for range b.N {
		batch := next()
		c0 := processCPU(b)
		t0 := time.Now()
		if err := s.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		client += processCPU(b) - c0
	}
	wall := time.Since(start)
	cpu := backendCPU(b, s)
	var used time.Duration
	for pid, c := range cpu {
		used += c - cpu0[pid]
	}
	slices.Sort(lat)
	fixes := float64(b.N * size)
	b.ReportMetric(fixes/wall.Seconds(), "fixes/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(used.Microseconds())/fixes, "backend-µs/fix")
	b.ReportMetric(float64(client.Microseconds())/fixes, "client-µs/fix")
}

// processCPU is this process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU is the CPU time so far of each backend of s's database, by PID.
func backendCPU(b *testing.B, s *Store) map[int]time.Duration {
	rows, _ := s.pool.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	out := map[int]time.Duration{}
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			b.Skipf("backend CPU: %v (PostgreSQL not on this machine?)", err)
		}
		// Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	}
	return out
}

// TestWritersUnderPoolCap: a pool cap given in the URL is kept, and the writers fit under it
// (a group commit takes all its connections before it begins).
func TestWritersUnderPoolCap(t *testing.T) {
	s, err := Open(context.Background(), newDB(t)+"&pool_max_conns=2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.pool.Config().MaxConns; got != 2 {
		t.Fatalf("pool cap %d, want the URL's 2", got)
	}
	if s.writers != 1 {
		t.Fatalf("%d writers under a cap of 2, want 1", s.writers)
	}
}
