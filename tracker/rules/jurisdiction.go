package rules

import (
	"math"
	"sync/atomic"

	"github.com/paulmach/orb"

	"github.com/borderwatch/borderwatch/geofence"
)

// jurisdiction knows the border lines and which side of them is domestic. Stops beyond the
// border are not customs' business: trucks queue at Mongolian mines every day.
type jurisdiction struct {
	lines atomic.Pointer[[]borderLine]
	ports atomic.Pointer[[]portSpot] // where a crossing is lawful (unverified.go)
}

type borderLine struct {
	pts   []orb.Point
	right bool // the domestic side is right of the drawing direction
}

// set takes the border and port zones out of a zone set.
func (j *jurisdiction) set(zones []geofence.Zone) {
	var lines []borderLine
	for _, z := range zones {
		if z.Kind != geofence.KindBorder {
			continue
		}
		right := z.DomesticSide != "left"
		switch g := z.Geometry.(type) {
		case orb.LineString:
			lines = append(lines, borderLine{pts: g, right: right})
		case orb.MultiLineString:
			for _, ls := range g {
				lines = append(lines, borderLine{pts: ls, right: right})
			}
		}
	}
	j.lines.Store(&lines)
	ports := portSpots(zones)
	j.ports.Store(&ports)
}

// domestic reports whether the point is on the domestic side of the nearest border line; with
// no border known everything is domestic.
func (j *jurisdiction) domestic(lat, lon float64) bool {
	lines := j.lines.Load()
	if lines == nil || len(*lines) == 0 {
		return true
	}
	kx := math.Cos(lat * math.Pi / 180) // metres per degree of longitude relative to latitude
	best, side := math.Inf(1), true
	for _, l := range *lines {
		for i := 1; i < len(l.pts); i++ {
			ax, ay := l.pts[i-1][0]*kx, l.pts[i-1][1]
			bx, by := l.pts[i][0]*kx, l.pts[i][1]
			px, py := lon*kx, lat
			dx, dy := bx-ax, by-ay
			t := 0.0
			if n := dx*dx + dy*dy; n > 0 {
				t = max(0, min(1, ((px-ax)*dx+(py-ay)*dy)/n))
			}
			cx, cy := ax+t*dx-px, ay+t*dy-py
			if d := cx*cx + cy*cy; d < best {
				best = d
				cross := dx*(py-ay) - dy*(px-ax) // > 0: left of the direction
				side = (cross < 0) == l.right
			}
		}
	}
	return side
}
