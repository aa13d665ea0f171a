package geofence

import "math"

// Geometry works on planar lon/lat for containment and crossings (exact enough for fences of
// a few hundred km) and on a local metric frame for distances: around a reference latitude the
// ellipsoid's metres per degree are nearly constant, so a distance of a few km is right to well
// under a metre without geodesic iteration.

// MetresPerDegree returns the WGS84 metres per degree of longitude (kx) and latitude (ky) at
// latitude lat (degrees).
func MetresPerDegree(lat float64) (kx, ky float64) {
	φ := lat * math.Pi / 180
	kx = 111412.84*math.Cos(φ) - 93.5*math.Cos(3*φ) + 0.118*math.Cos(5*φ)
	ky = 111132.92 - 559.82*math.Cos(2*φ) + 1.175*math.Cos(4*φ) - 0.0023*math.Cos(6*φ)
	return kx, ky
}

// GreatCircleM is the great-circle (haversine) distance in metres on a sphere of the Earth's
// mean radius. Not orb/geo's: it uses the equatorial radius, which overstates distances by 0.1%.
func GreatCircleM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371008.8
	φ1, φ2 := lat1*math.Pi/180, lat2*math.Pi/180
	dφ, dλ := φ2-φ1, (lon2-lon1)*math.Pi/180
	h := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

// segParams intersects the segment p→q with the segment a→b and returns the fractions along
// each (t on p→q, u on a→b). ok is false when they are parallel.
func segParams(px, py, qx, qy, ax, ay, bx, by float64) (t, u float64, ok bool) {
	rx, ry := qx-px, qy-py
	sx, sy := bx-ax, by-ay
	d := rx*sy - ry*sx
	if d == 0 {
		return 0, 0, false
	}
	wx, wy := ax-px, ay-py
	t = (wx*sy - wy*sx) / d
	u = (wx*ry - wy*rx) / d
	return t, u, true
}

// distSeg returns the distance from (px, py) to the segment a→b, all in one planar frame.
func distSeg(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = ((px-ax)*dx + (py-ay)*dy) / l2
		t = min(max(t, 0), 1)
	}
	return math.Hypot(px-ax-t*dx, py-ay-t*dy)
}

// capsule returns the fractions [lo, hi] of the segment p→q (metres, in the frame of a→b) that
// lie within w of the segment a→b; ok is false when none does. The capsule is convex, so the
// answer is one interval: the hull of the line's intervals through the two end discs and the
// rectangle between them.
func capsule(px, py, qx, qy, ax, ay, bx, by, w float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	add := func(l, h float64) {
		if l <= h {
			lo, hi = min(lo, l), max(hi, h)
		}
	}
	rx, ry := qx-px, qy-py
	disc := func(cx, cy float64) {
		fx, fy := px-cx, py-cy
		a := rx*rx + ry*ry
		b := 2 * (fx*rx + fy*ry)
		c := fx*fx + fy*fy - w*w
		if a == 0 {
			if c <= 0 {
				add(math.Inf(-1), math.Inf(1))
			}
			return
		}
		d := b*b - 4*a*c
		if d < 0 {
			return
		}
		s := math.Sqrt(d)
		add((-b-s)/(2*a), (-b+s)/(2*a))
	}
	disc(ax, ay)
	disc(bx, by)
	if dx, dy := bx-ax, by-ay; dx != 0 || dy != 0 {
		l := math.Hypot(dx, dy)
		ux, uy := dx/l, dy/l
		// along(t) = (p-a)·u + t r·u in [0, l]; across(t) = (p-a)×u + t r×u in [-w, w]
		l0, h0 := slab((px-ax)*ux+(py-ay)*uy, rx*ux+ry*uy, 0, l)
		l1, h1 := slab((px-ax)*uy-(py-ay)*ux, rx*uy-ry*ux, -w, w)
		add(max(l0, l1), min(h0, h1))
	}
	lo, hi = max(lo, 0), min(hi, 1)
	return lo, hi, lo <= hi
}

// slab returns the t for which c + t·k lies in [a, b].
func slab(c, k, a, b float64) (lo, hi float64) {
	if k == 0 {
		if c >= a && c <= b {
			return math.Inf(-1), math.Inf(1)
		}
		return 1, 0
	}
	t0, t1 := (a-c)/k, (b-c)/k
	if t0 > t1 {
		t0, t1 = t1, t0
	}
	return t0, t1
}
