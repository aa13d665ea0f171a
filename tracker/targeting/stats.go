package targeting

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// HitRow counts one source's orders of one port in one month (China time, by the order's
// issue): issued, inspected (a result reported) and found.
type HitRow struct {
	Source    string  `json:"source"`
	PortID    string  `json:"port_id"`
	Month     string  `json:"month"` // 2006-01
	Issued    int     `json:"issued"`
	Inspected int     `json:"inspected"`
	Found     int     `json:"found"`
	HitRate   float64 `json:"hit_rate"` // found / inspected; 0 with none inspected
}

// HitStats are the rows and, for comparison, the random draws' hit rate over the whole period:
// the rate a source must beat to be worth its inspections.
type HitStats struct {
	Rows     []HitRow `json:"rows"`
	Baseline HitRow   `json:"baseline"`
}

// Stats counts the orders issued in [from, to) that the actor may see, by source, port and month.
func (s *Service) Stats(ctx context.Context, by Actor, from, to time.Time) (HitStats, error) {
	os, err := s.Orders(ctx, by, tracker.TargetQuery{From: from, To: to})
	if err != nil {
		return HitStats{}, err
	}
	type key struct{ source, port, month string }
	rows := map[key]*HitRow{}
	base := HitRow{Source: tracker.TargetReasonRandom}
	for _, o := range os {
		k := key{o.Source, o.PortID, o.CreatedAt.In(chinaTime).Format("2006-01")}
		r := rows[k]
		if r == nil {
			r = &HitRow{Source: k.source, PortID: k.port, Month: k.month}
			rows[k] = r
		}
		count(r, &o)
		if o.Reason == tracker.TargetReasonRandom {
			count(&base, &o)
		}
	}
	out := HitStats{Rows: make([]HitRow, 0, len(rows)), Baseline: rate(base)}
	for _, r := range rows {
		out.Rows = append(out.Rows, rate(*r))
	}
	slices.SortFunc(out.Rows, func(a, b HitRow) int {
		return cmp.Or(cmp.Compare(b.Month, a.Month), cmp.Compare(a.PortID, b.PortID), cmp.Compare(a.Source, b.Source))
	})
	return out, nil
}

func count(r *HitRow, o *tracker.TargetOrder) {
	r.Issued++
	if o.Status == tracker.TargetClosed && o.Result != nil {
		r.Inspected++
		if o.Result.Found {
			r.Found++
		}
	}
}

func rate(r HitRow) HitRow {
	if r.Inspected > 0 {
		r.HitRate = float64(r.Found) / float64(r.Inspected)
	}
	return r
}
