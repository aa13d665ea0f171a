package pgstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestQueriesUseIndexes: every query of fixes the store serves has an index to go by, in every
// day partition: with sequential scans priced out, none is planned. An index dropped or made
// narrower than a query needs fails this.
func TestQueriesUseIndexes(t *testing.T) {
	s := open(t, newDB(t))
	ctx := context.Background()
	at := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour) // yesterday and today
	for n := range 40 {
		b := &tracker.Batch{}
		for v := range 300 {
			b.Fixes = append(b.Fixes, sharedFix(v, n*400, at))
		}
		if err := s.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE fixes; ANALYZE latest_fixes"); err != nil {
		t.Fatal(err)
	}
	from, to := at.Add(-time.Hour), at.Add(48*time.Hour)
	queries := []struct {
		name string
		sql  string
		args []any
		cond string // what the index condition of every scan must have: its selective predicate ("": a whole table in index order)
	}{
		{"Track", trackSQL, []any{"veh-7", from, to}, "vehicle_id ="},
		{"SearchArea", searchAreaSQL, []any{106.0, 41.0, 106.01, 41.05, from, to, 100}, "point(lon, lat) <@"},
		{"stored reports", storedReports, []any{[]string{"dev-7", "dev-8"}, []time.Time{at, at.Add(time.Hour)}}, "device_id ="},
		{"LatestFixes", latestSQL, nil, ""},
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "RESET enable_seqscan")
	for _, q := range queries {
		var plan []struct{ Plan planNode }
		if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+q.sql, q.args...).Scan(&plan); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		scans := 0
		var check func(n planNode)
		check = func(n planNode) {
			if n.Relation != "" {
				scans++
				cond := n.IndexCond
				if n.Type == "Bitmap Heap Scan" && len(n.Plans) == 1 {
					cond = n.Plans[0].IndexCond
				}
				if !strings.HasPrefix(n.Type, "Index") && n.Type != "Bitmap Heap Scan" || !strings.Contains(cond, q.cond) {
					t.Errorf("%s: %s of %s, index condition %q, filter %q; want %q in the index condition", q.name, n.Type, n.Relation, cond, n.Filter, q.cond)
				}
				return
			}
			for _, c := range n.Plans {
				check(c)
			}
		}
		check(plan[0].Plan)
		if scans == 0 {
			t.Errorf("%s: no scan in its plan", q.name)
		}
	}
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	Type      string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexCond string     `json:"Index Cond"`
	Filter    string     `json:"Filter"`
	Plans     []planNode `json:"Plans"`
}
