package cluster

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/pgstore"
)

// slowStore is the shared store of a loaded PostgreSQL: the next read of the newest fixes
// (what a take-over seeds vehicles with) waits first.
type slowStore struct {
	*pgstore.Store
	slowLatest atomic.Int64
}

func (s *slowStore) LatestFixes(ctx context.Context) ([]tracker.Fix, error) {
	select {
	case <-time.After(time.Duration(s.slowLatest.Swap(0))):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.LatestFixes(ctx)
}

// TestLoadedTrackerKeepsPartitions stops tracker B cleanly while terminals stream; A takes B's
// partitions over while its store answers slowly (its read of the newest fixes takes twice a
// lease's life). A is alive all along: it must keep its own partitions (no lease lost, no
// partition taken over twice), take B's once each, and store every fix once.
func TestLoadedTrackerKeepsPartitions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nats, st, dbURL := startCluster(t)
	ctx := context.Background()
	slow := &slowStore{Store: st}
	a := startTracker(t, nats.URLs(), "A", st, func(_ *Config, c *TrackerConfig) { c.Store = slow })
	b := startTracker(t, nats.URLs(), "B", st)
	gwConn, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleGateway}})
	if err != nil {
		t.Fatal(err)
	}
	defer gwConn.Close()
	waitOwned(t, gwConn, "A", "B")
	waitServed(t, a, b)
	kept := a.tr.serving()
	count := func(change string) float64 { return testutil.ToFloat64(a.conn.m.changes.WithLabelValues(change)) }
	acquired := count("acquired")
	acked, err := drive(ctx, NewGateway(gwConn, nil), 24, 90, time.Now().Add(-time.Hour).Truncate(time.Second), func(step int) error {
		if step == 10 {
			slow.slowLatest.Store(int64(2 * a.conn.cfg.LeaseTTL))
			b.stop()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitOwned(t, gwConn, "A")
	waitServed(t, a)
	checkStored(t, dbURL, acked)
	if lost := count("lost"); lost != 0 {
		t.Errorf("A lost %v leases while alive", lost)
	}
	if took := count("acquired") - acquired; took != float64(64-kept) {
		t.Errorf("A took partitions over %v times after B stopped, want %d (B's, once each)", took, 64-kept)
	}
}
