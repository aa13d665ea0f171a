package geofence

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tidwall/rtree"
)

// Embedded is the in-process engine: an R-tree over the areas' bounding boxes and over every
// segment of the corridors and the border, exact geometry on the few candidates it yields.
// SetZones builds a new index and swaps it in, so an Update never waits for an edit.
type Embedded struct {
	idx    atomic.Pointer[index]
	states *States
	closed atomic.Bool
}

var _ Engine = (*Embedded)(nil)

// NewEmbedded returns an engine without zones.
func NewEmbedded(opts Options) *Embedded {
	e := &Embedded{states: NewStates(opts)}
	e.idx.Store(newIndex(nil))
	return e
}

// index is one immutable zone set; it is the Observer of the States.
type index struct {
	shapes []*shape
	byID   map[string]*shape
	tree   rtree.RTreeG[item]
}

// item is an R-tree entry: an area's box (seg -1) or one segment of a line.
type item struct {
	shape int32
	seg   int32
}

func newIndex(zones []Zone) *index {
	x := &index{byID: make(map[string]*shape, len(zones))}
	type entry struct {
		lo, hi [2]float64
		it     item
		key    uint64
	}
	var entries []entry
	for _, z := range zones {
		s := compile(z, int32(len(x.shapes)))
		x.shapes = append(x.shapes, s)
		x.byID[z.ID] = s
		if isArea(z.Kind) {
			entries = append(entries, entry{lo: [2]float64{s.bbox[0], s.bbox[1]}, hi: [2]float64{s.bbox[2], s.bbox[3]}, it: item{s.id, -1}})
			continue
		}
		for i := range s.segs {
			lo, hi := s.segs[i].box()
			if z.Kind == KindCorridor {
				dx, dy := widen(lo[1], hi[1], z.WidthM)
				lo, hi = [2]float64{lo[0] - dx, lo[1] - dy}, [2]float64{hi[0] + dx, hi[1] + dy}
			}
			entries = append(entries, entry{lo: lo, hi: hi, it: item{s.id, int32(i)}})
		}
	}
	// Inserting neighbours together (by Hilbert order of the boxes' centres) gives the tree
	// tighter nodes, so a search visits fewer of them.
	if len(entries) > 0 {
		b := [4]float64{entries[0].lo[0], entries[0].lo[1], entries[0].hi[0], entries[0].hi[1]}
		for _, e := range entries {
			b = [4]float64{min(b[0], e.lo[0]), min(b[1], e.lo[1]), max(b[2], e.hi[0]), max(b[3], e.hi[1])}
		}
		for i := range entries {
			const n = 1 << 16
			e := &entries[i]
			fx := ((e.lo[0]+e.hi[0])/2 - b[0]) / max(b[2]-b[0], 1e-9)
			fy := ((e.lo[1]+e.hi[1])/2 - b[1]) / max(b[3]-b[1], 1e-9)
			e.key = hilbert(n, uint64(min(fx*n, n-1)), uint64(min(fy*n, n-1)))
		}
		slices.SortFunc(entries, func(a, c entry) int { return cmp.Compare(a.key, c.key) })
	}
	for _, e := range entries {
		x.tree.Insert(e.lo, e.hi, e.it)
	}
	return x
}

// hilbert returns the distance of cell (x, y) along the Hilbert curve filling an n×n grid
// (n a power of two).
func hilbert(n, x, y uint64) uint64 {
	var d uint64
	for s := n / 2; s > 0; s /= 2 {
		var rx, ry uint64
		if x&s > 0 {
			rx = 1
		}
		if y&s > 0 {
			ry = 1
		}
		d += s * s * ((3 * rx) ^ ry)
		if ry == 0 {
			if rx == 1 {
				x, y = s-1-x, s-1-y
			}
			x, y = y, x
		}
	}
	return d
}

// SetZones validates the zones (see ValidateZones) and replaces the whole set.
func (e *Embedded) SetZones(ctx context.Context, zones []Zone) error {
	if e.closed.Load() {
		return ErrClosed
	}
	if err := ValidateZones(zones); err != nil {
		return err
	}
	e.idx.Store(newIndex(slices.Clone(zones)))
	return nil
}

// Update moves a vehicle; see Engine.
func (e *Embedded) Update(ctx context.Context, p Position) ([]Event, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	return e.states.Update(ctx, e.idx.Load(), p)
}

// Crossings returns the raw border crossings of a segment; see Engine.
func (e *Embedded) Crossings(ctx context.Context, from, to Position) ([]Event, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	x := e.idx.Load()
	return x.borderCrossingEvents(from, to, nil), nil
}

// borderCrossingEvents returns the border crossings of the move from→to in time order, from
// the border zones keep accepts (nil: all). Both engines answer Crossings with it.
func (x *index) borderCrossingEvents(from, to Position, keep func(zoneID string) bool) []Event {
	m := Move{From: from, To: to}
	var sc scratch
	x.search(&sc, &m)
	var evs []Event
	for _, h := range sc.groups(x) {
		s := x.shapes[h.shape]
		if s.zone.Kind != KindBorder || (keep != nil && !keep(s.zone.ID)) {
			continue
		}
		start := len(m.Cross)
		m.Cross = x.borderCrossings(&sc, &m, s, sc.hits[h.from:h.to], m.Cross)
		for _, c := range m.Cross[start:] {
			evs = append(evs, Event{Type: BorderCross, ZoneID: s.zone.ID, Kind: KindBorder, Time: m.timeAt(c.At),
				Lat: c.Lat, Lon: c.Lon, PortZoneID: c.PortZoneID, Direction: c.Direction})
		}
	}
	slices.SortStableFunc(evs, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return evs
}

// Containing returns the areas and corridors holding the point, by ID.
func (e *Embedded) Containing(ctx context.Context, lat, lon float64) ([]Zone, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	x := e.idx.Load()
	var out []Zone
	seen := map[int32]bool{}
	x.tree.Search([2]float64{lon, lat}, [2]float64{lon, lat}, func(_, _ [2]float64, it item) bool {
		s := x.shapes[it.shape]
		if seen[it.shape] {
			return true
		}
		switch {
		case isArea(s.zone.Kind) && s.contains(lon, lat),
			s.zone.Kind == KindCorridor && s.segs[it.seg].lineDist(lat, lon) <= s.width:
			seen[it.shape] = true
			out = append(out, s.zone)
		}
		return true
	})
	slices.SortFunc(out, func(a, b Zone) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DistanceM returns the metres from the point to a zone; see Engine.
func (e *Embedded) DistanceM(ctx context.Context, zoneID string, lat, lon float64) (float64, error) {
	if e.closed.Load() {
		return 0, ErrClosed
	}
	return e.idx.Load().distanceM(zoneID, lat, lon)
}

// distanceM is DistanceM from the exact geometry, for both engines.
func (x *index) distanceM(zoneID string, lat, lon float64) (float64, error) {
	s := x.byID[zoneID]
	if s == nil {
		return 0, fmt.Errorf("%w %q", ErrUnknownZone, zoneID)
	}
	return s.distanceM(lat, lon), nil
}

// Forget drops a vehicle's state.
func (e *Embedded) Forget(vehicleID string) { e.states.Forget(vehicleID) }

// Close makes further calls fail with ErrClosed.
func (e *Embedded) Close() error {
	e.closed.Store(true)
	return nil
}

// scratch is a vehicle's reusable working space for Observe.
type scratch struct {
	hits  []item
	ts    []float64
	spans [][2]float64
	grp   []group
}

// group is the run of hits of one shape.
type group struct {
	shape    int32
	from, to int
}

// search collects the R-tree entries whose boxes meet the move's box, sorted by shape.
func (x *index) search(sc *scratch, m *Move) {
	sc.hits = sc.hits[:0]
	lo := [2]float64{min(m.From.Lon, m.To.Lon), min(m.From.Lat, m.To.Lat)}
	hi := [2]float64{max(m.From.Lon, m.To.Lon), max(m.From.Lat, m.To.Lat)}
	x.tree.Search(lo, hi, func(_, _ [2]float64, it item) bool {
		sc.hits = append(sc.hits, it)
		return true
	})
	slices.SortFunc(sc.hits, func(a, b item) int { return cmp.Or(cmp.Compare(a.shape, b.shape), cmp.Compare(a.seg, b.seg)) })
}

func (sc *scratch) groups(x *index) []group {
	sc.grp = sc.grp[:0]
	for i := 0; i < len(sc.hits); {
		j := i + 1
		for j < len(sc.hits) && sc.hits[j].shape == sc.hits[i].shape {
			j++
		}
		sc.grp = append(sc.grp, group{sc.hits[i].shape, i, j})
		i = j
	}
	return sc.grp
}

// Observe reports the move against every zone it touches and every held zone.
func (x *index) Observe(ctx context.Context, m *Move) error {
	sc := scratches.Get().(*scratch)
	x.observe(sc, m, nil)
	scratches.Put(sc)
	return nil
}

// scratches recycles the embedded engine's search buffers: they hold nothing from one move to
// the next, so a vehicle need not keep its own.
var scratches = sync.Pool{New: func() any { return new(scratch) }}

// observe is Observe with the zones narrowed by keep (nil keeps all): a backend that learns
// the candidate zones elsewhere computes the crossings here all the same. A zone keep rejects
// is outside all along; a held one is still reported in its place, so that events of one
// instant come out in the same order from every backend.
func (x *index) observe(sc *scratch, m *Move, keep func(s *shape) bool) {
	x.search(sc, m)
	for _, g := range sc.groups(x) {
		s := x.shapes[g.shape]
		ob := Observation{ZoneID: s.zone.ID, Kind: s.zone.Kind}
		if keep != nil && !keep(s) {
			if slices.Contains(m.Held, ob.ZoneID) {
				m.Obs = append(m.Obs, ob)
			}
			continue
		}
		start := len(m.Cross)
		switch s.zone.Kind {
		case KindBorder:
			m.Cross = x.borderCrossings(sc, m, s, sc.hits[g.from:g.to], m.Cross)
		case KindCorridor:
			ob.StartInside, m.Cross = corridorCrossings(sc, m, s, sc.hits[g.from:g.to], m.Cross)
		default:
			ob.StartInside, m.Cross = areaCrossings(sc, m, s, m.Cross)
		}
		ob.Crossings = m.Cross[start:]
		if ob.StartInside || len(ob.Crossings) > 0 || slices.Contains(m.Held, ob.ZoneID) {
			m.Obs = append(m.Obs, ob)
		}
	}
	for _, id := range m.Held {
		if !slices.ContainsFunc(m.Obs, func(o Observation) bool { return o.ZoneID == id }) {
			// Held but out of the move's reach: outside all along, or deleted.
			ob := Observation{ZoneID: id, Gone: true}
			if s := x.byID[id]; s != nil {
				ob = Observation{ZoneID: id, Kind: s.zone.Kind}
			}
			m.Obs = append(m.Obs, ob)
		}
	}
}

func areaCrossings(sc *scratch, m *Move, s *shape, cross []Crossing) (bool, []Crossing) {
	px, py, qx, qy := m.From.Lon, m.From.Lat, m.To.Lon, m.To.Lat
	inside := s.contains(px, py)
	end := inside
	if px != qx || py != qy {
		end = s.contains(qx, qy)
	}
	sc.ts = s.crossings(px, py, qx, qy, inside, end, sc.ts[:0])
	for _, t := range sc.ts {
		lat, lon := m.pointAt(t)
		cross = append(cross, Crossing{At: t, Lat: lat, Lon: lon})
	}
	return inside, cross
}

// corridorCrossings merges the capsules of the corridor's segments near the move into the
// stretches of the move within the corridor; their ends are the crossings.
func corridorCrossings(sc *scratch, m *Move, s *shape, hits []item, cross []Crossing) (bool, []Crossing) {
	sc.spans = sc.spans[:0]
	for _, h := range hits {
		g := &s.segs[h.seg]
		px, py := (m.From.Lon-g.ax)*g.kx, (m.From.Lat-g.ay)*g.ky
		qx, qy := (m.To.Lon-g.ax)*g.kx, (m.To.Lat-g.ay)*g.ky
		if lo, hi, ok := capsule(px, py, qx, qy, 0, 0, (g.bx-g.ax)*g.kx, (g.by-g.ay)*g.ky, s.width); ok {
			sc.spans = append(sc.spans, [2]float64{lo, hi})
		}
	}
	sp := sc.spans
	for i := 1; i < len(sp); i++ {
		for j := i; j > 0 && sp[j][0] < sp[j-1][0]; j-- {
			sp[j], sp[j-1] = sp[j-1], sp[j]
		}
	}
	inside := len(sp) > 0 && sp[0][0] <= 0
	add := func(t float64) {
		lat, lon := m.pointAt(t)
		cross = append(cross, Crossing{At: t, Lat: lat, Lon: lon})
	}
	for i := 0; i < len(sp); {
		lo, hi := sp[i][0], sp[i][1]
		for i++; i < len(sp) && sp[i][0] <= hi; i++ {
			hi = max(hi, sp[i][1])
		}
		if lo > 0 {
			add(lo)
		}
		if hi < 1 {
			add(hi)
		}
	}
	return inside, cross
}

// borderCrossings appends the move's crossings of the border segments hit, in order.
func (x *index) borderCrossings(sc *scratch, m *Move, s *shape, hits []item, cross []Crossing) []Crossing {
	px, py, qx, qy := m.From.Lon, m.From.Lat, m.To.Lon, m.To.Lat
	start := len(cross)
	for _, h := range hits {
		g := &s.segs[h.seg]
		// Sides by the sign of the cross product (x east, y north): positive is left of the
		// drawing direction, and a point on the line counts as right, so a fix exactly on
		// the line is on one side for the move arriving and the move leaving alike.
		left0 := (g.bx-g.ax)*(py-g.ay)-(g.by-g.ay)*(px-g.ax) > 0
		left1 := (g.bx-g.ax)*(qy-g.ay)-(g.by-g.ay)*(qx-g.ax) > 0
		if left0 == left1 {
			continue
		}
		t, u, ok := segParams(px, py, qx, qy, g.ax, g.ay, g.bx, g.by)
		if !ok || u < 0 || u > 1 || u == 1 && !g.last {
			continue
		}
		t = min(max(t, 0), 1)
		dir := Outbound
		if left0 == s.domesticRight {
			dir = Inbound
		}
		lat, lon := m.pointAt(t)
		cross = append(cross, Crossing{At: t, Lat: lat, Lon: lon, Direction: dir, PortZoneID: x.portAt(lat, lon)})
	}
	c := cross[start:]
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j].At < c[j-1].At; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	// A move through a vertex may meet both segments there despite the half-open rule
	// (rounding): one crossing.
	n := 0
	for i := range c {
		if n > 0 && c[i].Direction == c[n-1].Direction && c[i].At-c[n-1].At < 1e-9 {
			continue
		}
		c[n] = c[i]
		n++
	}
	return cross[:start+n]
}

// portAt returns the ID of a port zone containing the point, the first by ID if several do.
func (x *index) portAt(lat, lon float64) string {
	port := ""
	x.tree.Search([2]float64{lon, lat}, [2]float64{lon, lat}, func(_, _ [2]float64, it item) bool {
		s := x.shapes[it.shape]
		if s.zone.Kind == KindPort && (port == "" || s.zone.ID < port) && s.contains(lon, lat) {
			port = s.zone.ID
		}
		return true
	})
	return port
}

// Beyond reports whether the point is at least metres inside or outside the zone; for the
// border, at least metres from the line.
func (x *index) Beyond(zoneID string, lat, lon, metres float64, inside bool) bool {
	s := x.byID[zoneID]
	if s == nil {
		return !inside
	}
	if isArea(s.zone.Kind) {
		return s.contains(lon, lat) == inside && !s.nearEdge(lat, lon, metres)
	}
	// Lines: the nearest segment within reach decides.
	reach := metres
	if s.zone.Kind == KindCorridor && inside {
		reach = 0
	}
	dx, dy := widen(lat, lat, reach)
	d := math.Inf(1)
	x.tree.Search([2]float64{lon - dx, lat - dy}, [2]float64{lon + dx, lat + dy}, func(_, _ [2]float64, it item) bool {
		if it.shape == s.id {
			d = min(d, s.segs[it.seg].lineDist(lat, lon))
		}
		return true
	})
	switch {
	case s.zone.Kind == KindBorder:
		return d >= metres
	case inside:
		return d <= s.width-metres
	default:
		return d >= s.width+metres
	}
}
