package geofence

import (
	"math"
	"slices"

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
	grid  *grid     // big polygons only

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
					g.kx, g.ky = MetresPerDegree((g.ay + g.by) / 2)
					s.edges = append(s.edges, g)
				}
			}
		}
		s.buildGrid()
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
				g.kx, g.ky = MetresPerDegree((g.ay + g.by) / 2)
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
	kx, ky := MetresPerDegree(min(lat, 89))
	return metres * 1.01 / kx, metres * 1.01 / ky
}

// grid indexes a big polygon's edges by cell: every edge is listed in the cells its box
// covers, and each cell knows whether its centre is inside, so a point is decided by the few
// edges between it and its cell's centre.
type grid struct {
	x0, y0, cw, ch float64
	nx, ny         int
	cells          [][]int32
	inside         []bool
}

func (s *shape) buildGrid() {
	n := len(s.edges)
	if n <= 16 {
		return
	}
	b := s.zone.Geometry.Bound()
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	if w <= 0 || h <= 0 {
		return
	}
	nx := min(max(int(math.Sqrt(float64(n)*w/h)), 1), 1024)
	ny := min(max(n/nx, 1), 1024)
	g := &grid{x0: b.Min[0], y0: b.Min[1], cw: w / float64(nx), ch: h / float64(ny), nx: nx, ny: ny,
		cells: make([][]int32, nx*ny), inside: make([]bool, nx*ny)}
	rows := make([][]float64, ny) // x of the edges crossing each row's centre line
	for i := range s.edges {
		e := &s.edges[i]
		cx0, cy0, cx1, cy1 := g.cellRange(min(e.ax, e.bx), min(e.ay, e.by), max(e.ax, e.bx), max(e.ay, e.by))
		for cy := cy0; cy <= cy1; cy++ {
			for cx := cx0; cx <= cx1; cx++ {
				g.cells[cy*nx+cx] = append(g.cells[cy*nx+cx], int32(i))
			}
			if y := g.y0 + (float64(cy)+0.5)*g.ch; (e.ay > y) != (e.by > y) {
				rows[cy] = append(rows[cy], e.ax+(y-e.ay)*(e.bx-e.ax)/(e.by-e.ay))
			}
		}
	}
	// A centre is inside when an odd number of edges cross its row to its right.
	for cy, xs := range rows {
		slices.Sort(xs)
		k := 0
		for cx := range nx {
			x := g.x0 + (float64(cx)+0.5)*g.cw
			for k < len(xs) && xs[k] <= x {
				k++
			}
			g.inside[cy*nx+cx] = (len(xs)-k)%2 == 1
		}
	}
	s.grid = g
}

// cellRange returns the cells covering a box, clamped to the grid.
func (g *grid) cellRange(x0, y0, x1, y1 float64) (cx0, cy0, cx1, cy1 int) {
	clamp := func(v float64, n int) int { return min(max(int(v), 0), n-1) }
	return clamp((x0-g.x0)/g.cw, g.nx), clamp((y0-g.y0)/g.ch, g.ny), clamp((x1-g.x0)/g.cw, g.nx), clamp((y1-g.y0)/g.ch, g.ny)
}

// eachEdge calls f with every edge whose box may meet the box, each once, until f returns
// false.
func (s *shape) eachEdge(x0, y0, x1, y1 float64, f func(e *segment) bool) {
	g := s.grid
	if g == nil {
		for i := range s.edges {
			if !f(&s.edges[i]) {
				return
			}
		}
		return
	}
	qx0, qy0, qx1, qy1 := g.cellRange(x0, y0, x1, y1)
	for cy := qy0; cy <= qy1; cy++ {
		for cx := qx0; cx <= qx1; cx++ {
			for _, i := range g.cells[cy*g.nx+cx] {
				e := &s.edges[i]
				// An edge in several cells is visited in the first of them the query covers.
				ex0, ey0, _, _ := g.cellRange(min(e.ax, e.bx), min(e.ay, e.by), 0, 0)
				if max(ex0, qx0) != cx || max(ey0, qy0) != cy {
					continue
				}
				if !f(e) {
					return
				}
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
	g := s.grid
	if g == nil {
		in := false
		for i := range s.edges {
			e := &s.edges[i]
			if (e.ay > y) != (e.by > y) && x < e.ax+(y-e.ay)*(e.bx-e.ax)/(e.by-e.ay) {
				in = !in
			}
		}
		return in
	}
	cx, cy, _, _ := g.cellRange(x, y, x, y)
	c := cy*g.nx + cx
	// From the cell's centre to the point, each edge crossed flips the answer; points on a
	// line count on its non-positive side, consistently.
	mx, my := g.x0+(float64(cx)+0.5)*g.cw, g.y0+(float64(cy)+0.5)*g.ch
	in := g.inside[c]
	for _, i := range g.cells[c] {
		e := &s.edges[i]
		if (turn(mx, my, x, y, e.ax, e.ay) > 0) != (turn(mx, my, x, y, e.bx, e.by) > 0) &&
			(turn(e.ax, e.ay, e.bx, e.by, mx, my) > 0) != (turn(e.ax, e.ay, e.bx, e.by, x, y) > 0) {
			in = !in
		}
	}
	return in
}

// turn is positive when a→b→c turns left.
func turn(ax, ay, bx, by, cx, cy float64) float64 {
	return (bx-ax)*(cy-ay) - (by-ay)*(cx-ax)
}

// crossings appends the fractions of the move p→q at which it crosses an area's edges, in
// order, consistent with in0 and in1, the containment of p and q.
func (s *shape) crossings(px, py, qx, qy float64, in0, in1 bool, ts []float64) []float64 {
	n := len(ts)
	x0, x1 := min(px, qx), max(px, qx)
	s.eachEdge(min(px, qx), min(py, qy), max(px, qx), max(py, qy), func(e *segment) bool {
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
	if (len(found)%2 == 1) != (in0 != in1) {
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
	kx, ky := MetresPerDegree(lat)
	dx, dy := metres/kx, metres/ky
	near := false
	s.eachEdge(lon-dx, lat-dy, lon+dx, lat+dy, func(e *segment) bool {
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
