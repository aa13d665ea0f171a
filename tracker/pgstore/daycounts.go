package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/tracker"
)

// chinaDay is the China day number of a timestamptz column.
const chinaDay = `floor((extract(epoch FROM %s) + 28800) / 86400)::bigint`

// CrossingCounts counts the border crossings with from <= time < to by China day, port and
// direction, ordered by those.
func (s *Store) CrossingCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+fmt.Sprintf(chinaDay, "time")+` AS d,
		coalesce(attrs->>'port_zone_id', ''), coalesce(attrs->>'direction', ''), count(*)
		FROM events WHERE type = $1 AND time >= $2 AND time < $3
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, tracker.EventBorderCross, from, to)
	out, err := pgx.CollectRows(rows, scanDayCount)
	if err != nil {
		return nil, fmt.Errorf("pgstore: crossing counts: %w", err)
	}
	return out, nil
}

// AlertCounts counts the alerts first seen with from <= time < to by China day, zone and type,
// ordered by those.
func (s *Store) AlertCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+fmt.Sprintf(chinaDay, "time")+` AS d, coalesce(zone_id, ''), type, count(*)
		FROM alerts WHERE time >= $1 AND time < $2
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, from, to)
	out, err := pgx.CollectRows(rows, scanDayCount)
	if err != nil {
		return nil, fmt.Errorf("pgstore: alert counts: %w", err)
	}
	return out, nil
}

func scanDayCount(row pgx.CollectableRow) (tracker.DayCount, error) {
	var n int64
	var c tracker.DayCount
	if err := row.Scan(&n, &c.Zone, &c.Key, &c.Count); err != nil {
		return c, err
	}
	c.Day = tracker.ChinaDay(n)
	return c, nil
}
