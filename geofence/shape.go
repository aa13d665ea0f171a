package geofence

import (
	"math"

	"github.com/paulmach/orb"
)

// shape is a zone compiled for fast queries: flat edges of all rings (areas, even-odd over
// all rings, which for valid GeoJSON is "inside an outer ring and outside its holes") or flat
// segments of the lines (corridors, border).
type shape struct {
	zone Zone
	id   int32
	bbox [4]float64 // minLon, minLat, maxLon, maxLat; corridors: widened by WidthM

	edges []segment // areas
	// Edges by latitude band, so a point or a short move looks at a few edges of a big
	// polygon; nil for small polygons.
	bands    [][]int32
	bandMinY float64
	bandH    float64

	segs          []segment // corridors and the border
	width         float64
	domesticRight bool
}

// segment is one edge or line segment in lon/lat, with the local metres per degree at its
// middle and whether it ends its line (so a line's end vertex counts).
type segment struct {
	ax, ay, bx, by float64
	kx, ky         float64
	last           bool
}

func (g *segment) box() (lo, hi [2]float64) {
	return [2]float64{min(g.ax, g.bx), min(g.ay, g.by)}, [2]float64{max(g.ax, g.bx), max(g.ay, g.by)}
}

func isArea(k Kind) bool { return k != KindCorridor && k != KindBorder }

// compile builds the shape of a valid zone.
func compile(z Zone, id int32) *shape {
	s := &shape{zone: z, id: id, width: z.WidthM, domesticRight: z.domesticSide() == "right"}
	if isArea(z.Kind) {
		var polys orb.MultiPolygon
		switch g := z.Geometry.(type) {
		case orb.Polygon:
			polys = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			polys = g
		}
		for _, p := range polys {
			for _, r := range p {
				for i := 0; i+1 < len(r); i++ {
					g := segment{ax: r[i][0], ay: r[i][1], bx: r[i+1][0], by: r[i+1][1]}
					g.kx, g.ky = metresPerDegree((g.ay + g.by) / 2)
					s.edges = append(s.edges, g)
				}
			}
		}
		s.buildBands()
	} else {
		var lines orb.MultiLineString
		switch g := z.Geometry.(type) {
		case orb.LineString:
			lines = orb.MultiLineString{g}
		case orb.MultiLineString:
			lines = g
		}
		for _, l := range lines {
			for i := 0; i+1 < len(l); i++ {
				g := segment{ax: l[i][0], ay: l[i][1], bx: l[i+1][0], by: l[i+1][1], last: i+2 == len(l)}
				g.kx, g.ky = metresPerDegree((g.ay + g.by) / 2)
				s.segs = append(s.segs, g)
			}
		}
	}
	b := z.Geometry.Bound()
	s.bbox = [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
	if z.Kind == KindCorridor {
		dx, dy := widen(b.Min[1], b.Max[1], z.WidthM)
		s.bbox = [4]float64{b.Min[0] - dx, b.Min[1] - dy, b.Max[0] + dx, b.Max[1] + dy}
	}
	return s
}

// widen returns generous degrees of longitude and latitude covering metres at latitudes
// between lat0 and lat1.
func widen(lat0, lat1, metres float64) (dx, dy float64) {
	lat := max(math.Abs(lat0), math.Abs(lat1))
	kx, ky := metresPerDegree(min(lat, 89))
	return metres * 1.01 / kx, metres * 1.01 / ky
}

func (s *shape) buildBands() {
	n := len(s.edges) / 8
	if n < 2 {
		return
	}
	n = min(n, 8192)
	s.bandMinY, s.bandH = s.zone.Geometry.Bound().Min[1], (s.zone.Geometry.Bound().Max[1]-s.zone.Geometry.Bound().Min[1])/float64(n)
	if s.bandH <= 0 {
		return
	}
	s.bands = make([][]int32, n)
	for i := range s.edges {
		b0, b1 := s.bandRange(min(s.edges[i].ay, s.edges[i].by), max(s.edges[i].ay, s.edges[i].by))
		for b := b0; b <= b1; b++ {
			s.bands[b] = append(s.bands[b], int32(i))
		}
	}
}

func (s *shape) bandRange(y0, y1 float64) (b0, b1 int) {
	n := len(s.bands) - 1
	b0 = min(max(int((y0-s.bandMinY)/s.bandH), 0), n)
	b1 = min(max(int((y1-s.bandMinY)/s.bandH), 0), n)
	return b0, b1
}

// eachEdge calls f with every edge whose latitude range may meet [y0, y1], each once, until
// f returns false.
func (s *shape) eachEdge(y0, y1 float64, f func(e *segment) bool) {
	if s.bands == nil {
		for i := range s.edges {
			if !f(&s.edges[i]) {
				return
			}
		}
		return
	}
	b0, b1 := s.bandRange(y0, y1)
	for b := b0; b <= b1; b++ {
		for _, i := range s.bands[b] {
			e := &s.edges[i]
			// An edge spanning several bands is visited in the first of them the query covers.
			if eb, _ := s.bandRange(min(e.ay, e.by), 0); max(eb, b0) != b {
				continue
			}
			if !f(e) {
				return
			}
		}
	}
}

// contains reports whether an area holds the point (even-odd; half-open edges so a ray
// through a vertex counts once).
func (s *shape) contains(x, y float64) bool {
	if x < s.bbox[0] || x > s.bbox[2] || y < s.bbox[1] || y > s.bbox[3] {
		return false
	}
	in := false
	s.eachEdge(y, y, func(e *segment) bool {
		if (e.ay > y) != (e.by > y) && x < e.ax+(y-e.ay)*(e.bx-e.ax)/(e.by-e.ay) {
			in = !in
		}
		return true
	})
	return in
}

// crossings appends the fractions of the move p→q at which it crosses an area's edges, in
// order, consistent with contains at both ends.
func (s *shape) crossings(px, py, qx, qy float64, ts []float64) []float64 {
	n := len(ts)
	x0, x1 := min(px, qx), max(px, qx)
	s.eachEdge(min(py, qy), max(py, qy), func(e *segment) bool {
		if max(e.ax, e.bx) < x0 || min(e.ax, e.bx) > x1 || max(e.ay, e.by) < min(py, qy) || min(e.ay, e.by) > max(py, qy) {
			return true
		}
		if t, u, ok := segParams(px, py, qx, qy, e.ax, e.ay, e.bx, e.by); ok && t > 0 && t <= 1 && u >= 0 && u < 1 {
			ts = append(ts, t)
		}
		return true
	})
	found := ts[n:]
	sortFloats(found)
	// Two crossings at one point are a touch at a vertex, or rounding at a vertex passed
	// through; the parity check below settles the second case.
	k := 0
	for i := 0; i < len(found); i++ {
		if i+1 < len(found) && found[i+1]-found[i] < 1e-12 {
			i++
			continue
		}
		found[k] = found[i]
		k++
	}
	ts, found = ts[:n+k], found[:k]
	// Degenerate touches (through a vertex, along an edge) can break the parity; the ends'
	// containment is the truth.
	if (len(found)%2 == 1) != (s.contains(px, py) != s.contains(qx, qy)) {
		if len(found) > 0 {
			ts = ts[:len(ts)-1]
		} else {
			ts = append(ts, 1)
		}
	}
	return ts
}

// nearEdge reports whether an area's boundary passes within metres of the point.
func (s *shape) nearEdge(lat, lon, metres float64) bool {
	kx, ky := metresPerDegree(lat)
	dx, dy := metres/kx, metres/ky
	near := false
	s.eachEdge(lat-dy, lat+dy, func(e *segment) bool {
		if max(e.ax, e.bx) < lon-dx || min(e.ax, e.bx) > lon+dx || max(e.ay, e.by) < lat-dy || min(e.ay, e.by) > lat+dy {
			return true
		}
		near = e.lineDist(lat, lon) < metres
		return !near
	})
	return near
}

// distanceM is DistanceM for one shape.
func (s *shape) distanceM(lat, lon float64) float64 {
	if isArea(s.zone.Kind) {
		if s.contains(lon, lat) {
			return 0
		}
		return minDist(lat, lon, s.edges)
	}
	return minDist(lat, lon, s.segs)
}

func minDist(lat, lon float64, segs []segment) float64 {
	d := math.Inf(1)
	for i := range segs {
		d = min(d, segs[i].lineDist(lat, lon))
	}
	return d
}

// lineDist returns the metres from the point to the segment, in the segment's frame, the
// frame the corridors' capsules use too.
func (g *segment) lineDist(lat, lon float64) float64 {
	return distSeg((lon-g.ax)*g.kx, (lat-g.ay)*g.ky, 0, 0, (g.bx-g.ax)*g.kx, (g.by-g.ay)*g.ky)
}

// sortFloats sorts a handful of floats without allocating.
func sortFloats(a []float64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
