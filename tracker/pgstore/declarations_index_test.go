package pgstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestDeclarationsClosedFromIndex: over 100,000 declarations, nearly all closed long ago, the
// read of those closed within the last half hour (what the rules restore at a start or a
// take-over) uses an index rather than reading the table.
func TestDeclarationsClosedFromIndex(t *testing.T) {
	ctx := context.Background()
	s := open(t, newDB(t))
	if _, err := s.pool.Exec(ctx, `INSERT INTO declarations (id, vehicle_id, direction, valid_from, valid_to, status, created_at, closed_at)
		SELECT 'dec-' || i, 'veh-' || (i % 5000), 'inbound', now() - i * interval '5 min', now() - i * interval '5 min' + interval '1 day',
			CASE WHEN i % 10 = 0 THEN 'active' ELSE 'completed' END, now() - i * interval '5 min',
			CASE WHEN i % 10 = 0 THEN NULL ELSE now() - i * interval '5 min' + interval '2 hours' END
		FROM generate_series(1, 100000) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE declarations`); err != nil {
		t.Fatal(err)
	}
	q := tracker.DeclarationQuery{Status: tracker.DeclarationCompleted, ClosedFrom: time.Now().Add(-30 * time.Minute)}
	query, args := declarationsQuery(q)
	rows, err := s.pool.Query(ctx, "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(plan, "\n"); !strings.Contains(p, "declarations_closed_at") {
		t.Errorf("declarations closed in the last half hour read without the closed_at index:\n%s", p)
	}
	start := time.Now()
	ds, err := s.Declarations(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d declarations closed in the last half hour of 100,000 read in %v (LOADED)", len(ds), time.Since(start))
}
