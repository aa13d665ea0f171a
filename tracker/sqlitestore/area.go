package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// The area index: 10-minute buckets of 0.1° tiles.
const (
	tileBucket = 10 * time.Minute
	tileDeg    = 0.1
	tileCols   = 3600 // tiles per row of latitude: 360° / 0.1°
)

type tileKey struct {
	bucket, tile int64
	vehicle      string
}

func tileRow(lat float64) int64 { return int64(math.Floor((lat + 90) / tileDeg)) }
func tileCol(lon float64) int64 {
	return min(int64(math.Floor((lon+180)/tileDeg)), tileCols-1)
}

func tileOf(f *tracker.Fix) tileKey {
	return tileKey{bucket: f.Time.UnixMicro() / tileBucket.Microseconds(), tile: tileRow(f.Lat)*tileCols + tileCol(f.Lon), vehicle: f.VehicleID}
}

// lastTile is a vehicle's newest stored tile (series.tile): a bucket number is about 2.9
// million today and a tile below 6.5 million, both fit an int32; one that did not would only
// cost a redundant INSERT OR IGNORE.
type lastTile struct {
	set          bool
	bucket, tile int32
}

func (t lastTile) is(k tileKey) bool {
	return t.set && int64(t.bucket) == k.bucket && int64(t.tile) == k.tile
}

func lastTileOf(k tileKey) lastTile { return lastTile{true, int32(k.bucket), int32(k.tile)} }

func insertTiles(ctx context.Context, tx *sql.Tx, tiles []tileKey) error {
	for lo := 0; lo < len(tiles); lo += 200 {
		hi := min(lo+200, len(tiles))
		var b strings.Builder
		b.WriteString(`INSERT OR IGNORE INTO fix_tiles(bucket, tile, vehicle_id) VALUES `)
		args := make([]any, 0, 3*(hi-lo))
		for i, k := range tiles[lo:hi] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?)")
			args = append(args, k.bucket, k.tile, k.vehicle)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// SearchArea returns fixes inside box over [from, to), in time order, at most limit: the tile
// index names the vehicles and periods whose chunks to read; fixes still in memory are scanned.
// Memory is read first, as in Track.
func (s *Store) SearchArea(ctx context.Context, box tracker.Box, from, to time.Time, limit int) ([]tracker.Fix, error) {
	if limit <= 0 {
		limit = 10000
	}
	lo, hi := from.UnixMicro(), to.UnixMicro()
	out := []tracker.Fix{}
	if hi <= lo {
		return out, nil
	}
	type found struct {
		vehicle string
		e       entry
	}
	var mem []found
	s.mu.RLock()
	for v, se := range s.series {
		for _, es := range [2][]entry{se.flushing, se.head} {
			if len(es) == 0 || es[len(es)-1].t < lo || es[0].t >= hi {
				continue
			}
			i, _ := slices.BinarySearchFunc(es, entry{t: lo}, cmpEntry)
			for ; i < len(es) && es[i].t < hi; i++ {
				if es[i].id < s.durable && inBox(&box, es[i].lat, es[i].lon) {
					mem = append(mem, found{v, es[i].owned()})
				}
			}
		}
	}
	s.mu.RUnlock()

	b0, b1 := lo/tileBucket.Microseconds(), (hi-1)/tileBucket.Microseconds()
	q := `SELECT vehicle_id, bucket FROM fix_tiles WHERE bucket BETWEEN ? AND ?`
	args := []any{b0, b1}
	r0, r1 := tileRow(box.MinLat), tileRow(box.MaxLat)
	c0, c1 := tileCol(box.MinLon), tileCol(box.MaxLon)
	if r1-r0 < 200 {
		var ors []string
		for r := r0; r <= r1; r++ {
			ors = append(ors, "tile BETWEEN ? AND ?")
			args = append(args, r*tileCols+c0, r*tileCols+c1)
		}
		q += " AND (" + strings.Join(ors, " OR ") + ")"
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	in := interner{}
	buckets := map[string][]int64{}
	for rows.Next() {
		var v string
		var bucket int64
		if err := rows.Scan(&v, &bucket); err != nil {
			rows.Close()
			return nil, err
		}
		buckets[v] = append(buckets[v], bucket)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for v, bs := range buckets {
		slices.Sort(bs)
		bs = slices.Compact(bs)
		// Consecutive buckets become one range scan.
		for i := 0; i < len(bs); {
			j := i
			for j+1 < len(bs) && bs[j+1] == bs[j]+1 {
				j++
			}
			if out, err = s.readChunks(ctx, out, v, max(lo, bs[i]*tileBucket.Microseconds()), min(hi, (bs[j]+1)*tileBucket.Microseconds()), &box, in); err != nil {
				return nil, fmt.Errorf("area search, vehicle %s: %w", v, err)
			}
			i = j + 1
		}
	}
	for _, m := range mem {
		f, err := m.e.fix(m.vehicle, in)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	out = sortFixes(out, func(a, b *tracker.Fix) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
