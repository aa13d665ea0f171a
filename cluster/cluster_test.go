package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/tracker"
)

func TestParseSettings(t *testing.T) {
	if got, err := ParseURLs(" nats://a:4222, ,tls://b:4222 "); err != nil || got != "nats://a:4222,tls://b:4222" {
		t.Errorf("ParseURLs = %q, %v", got, err)
	}
	for _, bad := range []string{"", " , ", "http://a:4222", "a:4222"} {
		if _, err := ParseURLs(bad); err == nil {
			t.Errorf("ParseURLs(%q) accepted", bad)
		}
	}
	if got, err := ParseRoles(""); err != nil || strings.Join(got, ",") != "gateway,tracker,api" {
		t.Errorf("ParseRoles(\"\") = %v, %v", got, err)
	}
	if got, err := ParseRoles("Tracker, api,tracker"); err != nil || strings.Join(got, ",") != "tracker,api" {
		t.Errorf("ParseRoles = %v, %v", got, err)
	}
	if _, err := ParseRoles("gateway,admin"); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Errorf("unknown role accepted or not named: %v", err)
	}
	for _, key := range []string{"p0", "p63"} {
		if _, ok := leasePartition(key, 64); !ok {
			t.Errorf("lease key %q refused", key)
		}
	}
	for _, key := range []string{"p64", "p-1", "p01", "x3", "p3x"} {
		if _, ok := leasePartition(key, 64); ok {
			t.Errorf("lease key %q accepted", key)
		}
	}
}

// TestForeignMessages publishes what no gateway makes on a partition's subject (garbage, an
// empty list, a fix with impossible coordinates): the tracker skips or refuses them and goes
// on storing the partition's real fixes.
func TestForeignMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, dbURL := startCluster(t)
	ctx := context.Background()
	startTracker(t, nats.URLs(), "A", st)
	conn, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitOwned(t, conn, "A")
	const vehicle = "veh-000"
	p := Partition(vehicle, 64)
	for _, junk := range []string{"not json", "{}", "[]", `[{"vehicle_id":"veh-000","device_id":"dev-000","time":"2026-01-01T00:00:00Z","lat":91,"lon":0}]`, strings.Repeat("[", 100000)} {
		if _, err := conn.js.Publish(ctx, fixSubject(p), []byte(junk)); err != nil {
			t.Fatal(err)
		}
	}
	gw := NewGateway(conn, nil)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range 5 {
		f := tracker.Fix{VehicleID: vehicle, DeviceID: "dev-000", Time: t0.Add(time.Duration(i) * 10 * time.Second), Lat: 43.61, Lon: 111.85 + float64(i)*0.002, Valid: true}
		if err := gw.Submit(ctx, []tracker.Fix{f}); err != nil {
			t.Fatal(err)
		}
	}
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var n int
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := db.QueryRow(ctx, `SELECT count(*) FROM fixes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= 5 {
			break
		}
	}
	if n != 5 {
		t.Errorf("%d fixes stored, want the 5 real ones (the one at latitude 91 refused)", n)
	}
}
