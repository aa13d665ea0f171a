package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// chinaDay is the China day number of a time_us column.
const chinaDay = `((%s / 1000000 + 28800) / 86400)`

// CrossingCounts counts the border crossings with from <= time < to by China day, port and
// direction, ordered by those.
func (s *Store) CrossingCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error) {
	day := fmt.Sprintf(chinaDay, "time_us")
	rows, err := s.r.QueryContext(ctx, `SELECT `+day+` AS d,
		coalesce(json_extract(attrs, '$.port_zone_id'), ''), coalesce(json_extract(attrs, '$.direction'), ''), count(*)
		FROM events WHERE type = ? AND time_us >= ? AND time_us < ? AND attrs <> ''
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, tracker.EventBorderCross, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: crossing counts: %w", err)
	}
	return scanDayCounts(rows)
}

// AlertCounts counts the alerts first seen with from <= time < to by China day, zone and type,
// ordered by those.
func (s *Store) AlertCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error) {
	day := fmt.Sprintf(chinaDay, "time_us")
	rows, err := s.r.QueryContext(ctx, `SELECT `+day+` AS d, coalesce(zone_id, ''), type, count(*)
		FROM alerts WHERE time_us >= ? AND time_us < ?
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: alert counts: %w", err)
	}
	return scanDayCounts(rows)
}

func scanDayCounts(rows *sql.Rows) ([]tracker.DayCount, error) {
	defer rows.Close()
	out := []tracker.DayCount{}
	for rows.Next() {
		var n int64
		var c tracker.DayCount
		if err := rows.Scan(&n, &c.Zone, &c.Key, &c.Count); err != nil {
			return nil, err
		}
		c.Day = tracker.ChinaDay(n)
		out = append(out, c)
	}
	return out, rows.Err()
}
