package pgstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
)

// adminURL names the database the tests create their own databases from.
func adminURL() string {
	if u := os.Getenv("BW_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// newDB creates an empty database for one test and drops it afterwards. It returns its URL.
func newDB(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		if os.Getenv("BW_SKIP_POSTGRES") == "1" {
			tb.Skipf("PostgreSQL not reachable at %s (BW_SKIP_POSTGRES=1): %v", adminURL(), err)
		}
		tb.Fatalf("PostgreSQL not reachable at %s: %v\n(start it, point BW_TEST_POSTGRES_URL at it, or set BW_SKIP_POSTGRES=1 to skip)", adminURL(), err)
	}
	defer admin.Close(ctx)
	name := "bw_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := pgx.Connect(ctx, adminURL())
		if err != nil {
			tb.Errorf("drop database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg, err := pgx.ParseConfig(adminURL())
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

func open(tb testing.TB, url string) *Store { return openWriters(tb, url, 0) }

// openWriters opens the store with its group commits spread over writers connections (0: the default).
func openWriters(tb testing.TB, url string, writers int) *Store {
	tb.Helper()
	s, err := Open(context.Background(), url, Options{Writers: writers})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t, newDB(t)) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.Store { return open(b, newDB(b)) })
}

func migrationCount(t *testing.T) int {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no embedded migrations: %v", err)
	}
	return len(names)
}

func appliedMigrations(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrationsRerun(t *testing.T) {
	url := newDB(t)
	s := open(t, url)
	commit := &tracker.Batch{Fixes: []tracker.Fix{{VehicleID: "v", DeviceID: "d", Time: time.Now(), ReceivedAt: time.Now(), Valid: true}}}
	if err := s.Commit(t.Context(), commit); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, url) // everything applied: nothing to do, data intact
	if got := appliedMigrations(t, url); got != migrationCount(t) {
		t.Errorf("%d migrations recorded, want %d", got, migrationCount(t))
	}
	latest, err := s2.LatestFixes(t.Context())
	if err != nil || len(latest) != 1 {
		t.Errorf("after reopening: %d latest fixes, %v; want 1", len(latest), err)
	}
}

func TestConcurrentOpen(t *testing.T) {
	url := newDB(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := Open(t.Context(), url, Options{})
			if err == nil {
				err = s.Ping(t.Context())
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	if got := appliedMigrations(t, url); got != migrationCount(t) {
		t.Errorf("%d migrations recorded, want %d", got, migrationCount(t))
	}
}

func TestUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://postgres@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=5", Options{})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1/nothing") {
		t.Errorf("error %q does not name the database", err)
	}
}

func TestWatchZones(t *testing.T) {
	url := newDB(t)
	a, b := open(t, url), open(t, url) // two servers on one database
	ctx, cancel := context.WithCancel(t.Context())
	changes := make(chan string, 10)
	done := make(chan error, 1)
	go func() { done <- a.WatchZones(ctx, func(id string) { changes <- id }) }()
	next := func() string {
		select {
		case id := <-changes:
			return id
		case err := <-done:
			t.Fatalf("WatchZones returned %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("no zone notification within 30 s")
		}
		return ""
	}
	if id := next(); id != "" {
		t.Fatalf("first notification %q, want \"\" (reload all)", id)
	}
	zone := geofence.Zone{ID: "yard-1", Name: "Yard", Kind: geofence.KindYard,
		Geometry: orb.Polygon{{{112, 43.5}, {112.1, 43.5}, {112.1, 43.6}, {112, 43.5}}}}
	if _, err := b.PutZones(t.Context(), []geofence.Zone{zone}); err != nil {
		t.Fatal(err)
	}
	if id := next(); id != "yard-1" {
		t.Errorf("notification %q after put, want yard-1", id)
	}
	if err := b.DeleteZone(t.Context(), "yard-1"); err != nil {
		t.Fatal(err)
	}
	if id := next(); id != "yard-1" {
		t.Errorf("notification %q after delete, want yard-1", id)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchZones returned %v after cancel, want context.Canceled", err)
	}
}

func TestRetention(t *testing.T) {
	url := newDB(t)
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	s, err := Open(t.Context(), url, Options{Retention: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := now.Add(-40 * 24 * time.Hour)
	recent := now.Add(-10 * 24 * time.Hour)
	b := &tracker.Batch{Fixes: []tracker.Fix{
		{VehicleID: "v", DeviceID: "d", Time: old, ReceivedAt: now, Lat: 43, Lon: 111},
		{VehicleID: "v", DeviceID: "d", Time: recent, ReceivedAt: now, Lat: 43, Lon: 111},
	}}
	if err := s.Commit(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if err := s.Maintain(t.Context(), now); err != nil {
		t.Fatal(err)
	}
	got, err := s.Track(t.Context(), "v", old.Add(-time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Time.Equal(recent) {
		t.Fatalf("after retention: %d fixes %v, want only the one at %v", len(got), got, recent)
	}
	// The dropped day can be written again (a late backfill): its partition comes back.
	b = &tracker.Batch{Fixes: []tracker.Fix{{VehicleID: "v", DeviceID: "d", Time: old, ReceivedAt: now, Lat: 43, Lon: 111}}}
	if err := s.Commit(t.Context(), b); err != nil {
		t.Fatalf("Commit into a dropped day: %v", err)
	}
	if b.Duplicates[0] {
		t.Error("fix of a dropped day reported as duplicate")
	}
	// Partitions ahead exist.
	for d := range 3 {
		name := partitionName(unixDay(now) + int64(d))
		var ok bool
		if err := s.pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", name).Scan(&ok); err != nil || !ok {
			t.Errorf("partition %s missing (%v)", name, err)
		}
	}
}

// TestVariantsMigration: fixes stored before migration 5 read back as they were and, resent,
// are duplicates; a different report of their time is stored beside them.
func TestVariantsMigration(t *testing.T) {
	url := newDB(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	sqls := []string{`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`}
	for v := 1; v <= 4; v++ {
		names, err := fs.Glob(migrations, fmt.Sprintf("migrations/%04d_*.sql", v))
		if err != nil || len(names) != 1 {
			t.Fatalf("migration %d: %v %v", v, names, err)
		}
		b, err := migrations.ReadFile(names[0])
		if err != nil {
			t.Fatal(err)
		}
		sqls = append(sqls, string(b), fmt.Sprintf("INSERT INTO schema_migrations (version) VALUES (%d)", v))
	}
	sqls = append(sqls,
		`CREATE TABLE fixes_20260314 PARTITION OF fixes FOR VALUES FROM ('2026-03-14T00:00:00Z') TO ('2026-03-15T00:00:00Z')`,
		`INSERT INTO fixes (vehicle_id, device_id, protocol, device_time, received_at, lat, lon, speed_kmh, heading, altitude_m, valid, late, flags, attrs)
		VALUES ('v1', 'd1', 'jt808', '2026-03-14T09:26:53Z', '2026-03-14T09:26:54Z', 43.65, 111.97, 42.5, 271, 1012.25, true, false, '{acc_on}', '{"mileage_km": 12}')`)
	for _, q := range sqls {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s := open(t, url)
	old := tracker.Fix{VehicleID: "v1", DeviceID: "d1", Protocol: "jt808", Time: at, ReceivedAt: at.Add(time.Second),
		Lat: 43.65, Lon: 111.97, SpeedKmh: 42.5, Heading: 271, AltitudeM: 1012.25, Valid: true,
		Flags: []string{"acc_on"}, Attrs: map[string]any{"mileage_km": 12}}
	forged := old
	forged.Lat, forged.Flags, forged.Attrs = 44.2, nil, nil
	b := &tracker.Batch{Fixes: []tracker.Fix{old, forged}}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if !b.Duplicates[0] || b.Duplicates[1] {
		t.Errorf("Duplicates = %v, want the stored report a duplicate and the other stored", b.Duplicates)
	}
	got, err := s.Track(ctx, "v1", at, at.Add(time.Second))
	if err != nil || len(got) != 2 || got[0].ID != b.Fixes[0].ID || got[0].Attrs["mileage_km"] != 12.0 ||
		!got[1].HasFlag(tracker.FlagConflict) {
		t.Errorf("Track = %+v, %v; want the old fix, then the other report flagged", got, err)
	}
}
