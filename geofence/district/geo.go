package district

import (
	"math"

	"github.com/paulmach/orb"
)

// plane is a local equirectangular projection in metres around an origin: east is x, north is
// y. Within a few tens of kilometres of the origin its error is far below the precision of the
// estimated coordinates it is used with. Spherical (orb.EarthRadius), not
// geofence.MetresPerDegree's ellipsoid: the district's zones are drawn in it, and
// testdata/district.geojson pins them to the vertex.
type plane struct {
	origin orb.Point
	kx, ky float64 // metres per degree of longitude and latitude
}

func planeAt(origin orb.Point) plane {
	ky := orb.EarthRadius * math.Pi / 180
	return plane{origin: origin, kx: ky * math.Cos(origin.Lat()*math.Pi/180), ky: ky}
}

func (pl plane) xy(p orb.Point) (x, y float64) {
	return (p.Lon() - pl.origin.Lon()) * pl.kx, (p.Lat() - pl.origin.Lat()) * pl.ky
}

func (pl plane) point(x, y float64) orb.Point {
	return orb.Point{pl.origin.Lon() + x/pl.kx, pl.origin.Lat() + y/pl.ky}
}

// offset returns the point east and north metres from p.
func offset(p orb.Point, east, north float64) orb.Point {
	return planeAt(p).point(east, north)
}

// distance is the distance in metres between two nearby points.
func distance(a, b orb.Point) float64 {
	x, y := planeAt(a).xy(b)
	return math.Hypot(x, y)
}

// linePos is a position on a LineString: segment i, fraction t of the way from ls[i] to ls[i+1].
type linePos struct {
	seg int
	t   float64
}

func (lp linePos) point(ls orb.LineString) orb.Point {
	a, b := ls[lp.seg], ls[lp.seg+1]
	return orb.Point{a[0] + lp.t*(b[0]-a[0]), a[1] + lp.t*(b[1]-a[1])}
}

// nearest returns the position on ls closest to p and its distance in metres.
func nearest(ls orb.LineString, p orb.Point) (linePos, float64) {
	pl := planeAt(p)
	best, bestD := linePos{}, math.Inf(1)
	for i := 0; i+1 < len(ls); i++ {
		ax, ay := pl.xy(ls[i])
		bx, by := pl.xy(ls[i+1])
		dx, dy := bx-ax, by-ay
		t := 0.0
		if l2 := dx*dx + dy*dy; l2 > 0 {
			t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l2))
		}
		if d := math.Hypot(ax+t*dx, ay+t*dy); d < bestD {
			best, bestD = linePos{i, t}, d
		}
	}
	return best, bestD
}

// walk returns the position d metres along ls from pos, forward for d > 0 and backward for
// d < 0, stopping at the line's ends.
func walk(ls orb.LineString, pos linePos, d float64) linePos {
	if d >= 0 {
		for i := pos.seg; i+1 < len(ls); i++ {
			segLen := distance(ls[i], ls[i+1])
			left := (1 - pos.t) * segLen
			if i != pos.seg {
				left = segLen
			}
			if d <= left && segLen > 0 {
				return linePos{i, 1 - (left-d)/segLen}
			}
			d -= left
		}
		return linePos{len(ls) - 2, 1}
	}
	d = -d
	for i := pos.seg; i >= 0; i-- {
		segLen := distance(ls[i], ls[i+1])
		left := pos.t * segLen
		if i != pos.seg {
			left = segLen
		}
		if d <= left && segLen > 0 {
			return linePos{i, (left - d) / segLen}
		}
		d -= left
	}
	return linePos{0, 0}
}

// circleExit follows ls from pos in the direction dir (+1 or -1) and returns the index of the
// last vertex strictly inside the circle of radius r around pos's point, and the point where
// the line first leaves the circle.
func circleExit(ls orb.LineString, pos linePos, dir int, r float64) (last int, exit orb.Point) {
	c := pos.point(ls)
	pl := planeAt(c)
	prev := c
	i := pos.seg + 1
	if dir < 0 {
		i = pos.seg
	}
	for ; i >= 0 && i < len(ls); i += dir {
		if distance(c, ls[i]) >= r {
			// Solve |prev + s·(ls[i]-prev)| = r for s in [0,1] in the local plane.
			px, py := pl.xy(prev)
			qx, qy := pl.xy(ls[i])
			dx, dy := qx-px, qy-py
			a := dx*dx + dy*dy
			b := 2 * (px*dx + py*dy)
			cc := px*px + py*py - r*r
			s := (-b + math.Sqrt(b*b-4*a*cc)) / (2 * a)
			return i - dir, pl.point(px+s*dx, py+s*dy)
		}
		prev = ls[i]
	}
	return i - dir, ls[i-dir]
}

// bearingXY is the compass bearing, in radians clockwise from north, of the vector (x, y).
func bearingXY(x, y float64) float64 {
	b := math.Atan2(x, y)
	if b < 0 {
		b += 2 * math.Pi
	}
	return b
}

// lineLength is the length of ls in metres.
func lineLength(ls orb.LineString) float64 {
	var l float64
	for i := 0; i+1 < len(ls); i++ {
		l += distance(ls[i], ls[i+1])
	}
	return l
}

// ringCCW closes r if needed and orders it counter-clockwise, as RFC 7946 asks of exterior rings.
func ringCCW(r orb.Ring) orb.Ring {
	if !r.Closed() {
		r = append(r, r[0])
	}
	if r.Orientation() == orb.CW {
		r.Reverse()
	}
	return r
}

// round6 rounds every coordinate of g to 1e-6 degrees (≈0.1 m): the data is only good to metres,
// and rounding keeps the encoded GeoJSON identical on every platform.
func round6[G orb.Geometry](g G) G {
	return orb.Round(g, 1e6).(G)
}
