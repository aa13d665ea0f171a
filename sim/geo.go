package sim

import (
	"math"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// distance is the great-circle distance between a and b in metres.
func distance(a, b orb.Point) float64 { return geofence.GreatCircleM(a[1], a[0], b[1], b[0]) }

// offset moves p by east and north metres on a sphere of the Earth's mean radius; exact enough
// over the few kilometres it is used for. Not geofence.MetresPerDegree (the ellipsoid's): the
// scenarios' routes, and the tests that score them, are drawn with this one.
func offset(p orb.Point, east, north float64) orb.Point {
	const earthRadius = 6371008.8 // metres, mean, as geofence.GreatCircleM's
	dlat := north / earthRadius * 180 / math.Pi
	dlon := east / (earthRadius * math.Cos(p[1]*math.Pi/180)) * 180 / math.Pi
	return orb.Point{p[0] + dlon, p[1] + dlat}
}

// bearing is the initial compass bearing from a to b in degrees, 0–360.
func bearing(a, b orb.Point) float64 { return math.Mod(geo.Bearing(a, b)+360, 360) }

// path is a polyline with its cumulative length, for walking along it by distance.
type path struct {
	pts []orb.Point
	cum []float64 // cum[i]: metres from pts[0] to pts[i]
}

func newPath(line orb.LineString) *path {
	p := &path{pts: append([]orb.Point(nil), line...), cum: make([]float64, len(line))}
	for i := 1; i < len(line); i++ {
		p.cum[i] = p.cum[i-1] + distance(line[i-1], line[i])
	}
	return p
}

func (p *path) length() float64 { return p.cum[len(p.cum)-1] }

// at returns the point s metres along the path and the bearing of the segment there.
func (p *path) at(s float64) (orb.Point, float64) {
	if len(p.pts) == 1 {
		return p.pts[0], 0
	}
	s = math.Max(0, math.Min(s, p.length()))
	i := 1
	for i < len(p.cum)-1 && p.cum[i] < s {
		i++
	}
	a, b := p.pts[i-1], p.pts[i]
	seg := p.cum[i] - p.cum[i-1]
	f := 0.0
	if seg > 0 {
		f = (s - p.cum[i-1]) / seg
	}
	return orb.Point{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])}, bearing(a, b)
}

// reversed returns the path driven the other way.
func (p *path) reversed() *path {
	line := make(orb.LineString, len(p.pts))
	for i, pt := range p.pts {
		line[len(p.pts)-1-i] = pt
	}
	return newPath(line)
}

// join concatenates lines, dropping a repeated joint point.
func join(lines ...orb.LineString) orb.LineString {
	var out orb.LineString
	for _, l := range lines {
		for _, pt := range l {
			if n := len(out); n > 0 && out[n-1] == pt {
				continue
			}
			out = append(out, pt)
		}
	}
	return out
}
