package district

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

var update = flag.Bool("update", false, "rewrite testdata/district.geojson")

// china is the area south of the border line within the district's longitudes: the line closed
// by a loop far to the south. A point inside it is on the Chinese side, independently of the
// line's drawing direction.
func china(border orb.LineString) orb.Polygon {
	r := append(orb.Ring{}, border...)
	r = append(r, orb.Point{border[len(border)-1].Lon(), 30}, orb.Point{border[0].Lon(), 30}, border[0])
	return orb.Polygon{r}
}

// sideOf is the signed distance in metres from p to the border's nearest segment: negative to
// the right of the drawing direction, positive to the left.
func sideOf(border orb.LineString, p orb.Point) float64 {
	pos, d := nearest(border, p)
	pl := planeAt(p)
	ax, ay := pl.xy(border[pos.seg])
	bx, by := pl.xy(border[pos.seg+1])
	if (bx-ax)*(0-ay)-(by-ay)*(0-ax) < 0 {
		return -d
	}
	return d
}

// segmentsCross reports whether segments ab and cd intersect, in the plane of lon/lat, and where.
func segmentsCross(a, b, c, d orb.Point) (orb.Point, bool) {
	rx, ry := b[0]-a[0], b[1]-a[1]
	sx, sy := d[0]-c[0], d[1]-c[1]
	den := rx*sy - ry*sx
	if den == 0 {
		return orb.Point{}, false
	}
	t := ((c[0]-a[0])*sy - (c[1]-a[1])*sx) / den
	u := ((c[0]-a[0])*ry - (c[1]-a[1])*rx) / den
	if t < 0 || t > 1 || u < 0 || u > 1 {
		return orb.Point{}, false
	}
	return orb.Point{a[0] + t*rx, a[1] + t*ry}, true
}

// crossings returns where line crosses the border.
func crossings(border, line orb.LineString) []orb.Point {
	var out []orb.Point
	for i := 0; i+1 < len(line); i++ {
		for j := 0; j+1 < len(border); j++ {
			if p, ok := segmentsCross(line[i], line[i+1], border[j], border[j+1]); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// samples returns points every step metres along ls, and its vertices.
func samples(ls orb.LineString, step float64) []orb.Point {
	var out []orb.Point
	for i := 0; i+1 < len(ls); i++ {
		n := int(math.Ceil(distance(ls[i], ls[i+1]) / step))
		for k := 0; k < n; k++ {
			f := float64(k) / float64(n)
			out = append(out, orb.Point{ls[i][0] + f*(ls[i+1][0]-ls[i][0]), ls[i][1] + f*(ls[i+1][1]-ls[i][1])})
		}
	}
	return append(out, ls[len(ls)-1])
}

func zoneMap(t *testing.T) map[string]geofence.Zone {
	t.Helper()
	m := map[string]geofence.Zone{}
	for _, z := range Zones() {
		if _, dup := m[z.ID]; dup {
			t.Fatalf("duplicate zone ID %q", z.ID)
		}
		m[z.ID] = z
	}
	return m
}

func polygonOf(t *testing.T, z geofence.Zone) orb.Polygon {
	t.Helper()
	p, ok := z.Geometry.(orb.Polygon)
	if !ok {
		t.Fatalf("zone %s: geometry %T, want orb.Polygon", z.ID, z.Geometry)
	}
	return p
}

func TestZonesValid(t *testing.T) {
	stops := map[geofence.Kind]bool{geofence.KindPort: true, geofence.KindYard: true, geofence.KindServiceArea: true, geofence.KindMine: true}
	prefixes := map[geofence.Kind]string{geofence.KindBorder: BorderID, geofence.KindPort: "port-",
		geofence.KindControlZone: "control-", geofence.KindYard: "yard-", geofence.KindCorridor: "corridor-",
		geofence.KindServiceArea: "service-", geofence.KindMine: "mine-"}
	kinds := map[geofence.Kind]int{}
	for id, z := range zoneMap(t) {
		kinds[z.Kind]++
		// geofence.Zone.Validate is the engine's own check; asserted through an interface so
		// this test also builds against a geofence package that does not have it yet.
		if v, ok := any(z).(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
		if z.Name == "" || z.Properties["name_en"] == "" || z.Properties["name_en"] == nil {
			t.Errorf("%s: want a Chinese name and a name_en, got %q and %v", id, z.Name, z.Properties["name_en"])
		}
		if z.Properties["source"] == nil {
			t.Errorf("%s: no source property", id)
		}
		if got, want := z.Properties["stop_allowed"] == true, stops[z.Kind]; got != want {
			t.Errorf("%s (%s): stop_allowed %v, want %v", id, z.Kind, z.Properties["stop_allowed"], want)
		}
		if prefix, ok := prefixes[z.Kind]; !ok || !strings.HasPrefix(id, prefix) {
			t.Errorf("%s: ID does not start with its kind's prefix %q", id, prefix)
		}
		b := z.Geometry.Bound()
		if b.Min.Lon() < 90 || b.Max.Lon() > 125 || b.Min.Lat() < 39 || b.Max.Lat() > 50 {
			t.Errorf("%s: bound %v outside the district", id, b)
		}
		switch z.Kind {
		case geofence.KindBorder, geofence.KindCorridor:
			ls, ok := z.Geometry.(orb.LineString)
			if !ok || len(ls) < 2 {
				t.Errorf("%s: geometry %T, want a LineString of 2 or more points", id, z.Geometry)
				continue
			}
			for i := 1; i < len(ls); i++ {
				if ls[i] == ls[i-1] {
					t.Errorf("%s: repeated point %v at %d", id, ls[i], i)
				}
			}
			if z.Kind == geofence.KindCorridor && z.WidthM != corridorWidth {
				t.Errorf("%s: width_m %v, want %v", id, z.WidthM, corridorWidth)
			}
			if z.Kind == geofence.KindBorder && z.DomesticSide != "right" {
				t.Errorf("%s: domestic_side %q, want right", id, z.DomesticSide)
			}
		default:
			p := polygonOf(t, z)
			if len(p) != 1 {
				t.Errorf("%s: %d rings, want 1", id, len(p))
			}
			r := p[0]
			if len(r) < 4 || !r.Closed() {
				t.Errorf("%s: ring of %d points, closed %v", id, len(r), r.Closed())
				continue
			}
			if r.Orientation() != orb.CCW {
				t.Errorf("%s: exterior ring is not counter-clockwise", id)
			}
			if n := len(crossingsInRing(r)); n > 0 {
				t.Errorf("%s: ring crosses itself %d times", id, n)
			}
		}
	}
	for _, k := range []geofence.Kind{geofence.KindBorder, geofence.KindPort, geofence.KindControlZone,
		geofence.KindYard, geofence.KindCorridor, geofence.KindServiceArea, geofence.KindMine} {
		if kinds[k] == 0 {
			t.Errorf("no zone of kind %s", k)
		}
	}
	if kinds[geofence.KindPort] != 5 || kinds[geofence.KindBorder] != 1 {
		t.Errorf("%d ports and %d borders, want 5 and 1", kinds[geofence.KindPort], kinds[geofence.KindBorder])
	}
}

// crossingsInRing returns the points where non-adjacent edges of r meet.
func crossingsInRing(r orb.Ring) []orb.Point {
	var out []orb.Point
	n := len(r) - 1
	for i := 0; i < n; i++ {
		for j := i + 2; j < n; j++ {
			if i == 0 && j == n-1 {
				continue
			}
			if p, ok := segmentsCross(r[i], r[i+1], r[j], r[j+1]); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

func TestBorderLine(t *testing.T) {
	b := Border()
	if b[0].Lon() != 97 || b[len(b)-1].Lon() < 119.8 {
		t.Errorf("border runs from %v to %v, want 97°E to ≈119.9°E", b[0], b[len(b)-1])
	}
	if km := lineLength(b) / 1000; km < 2300 || km > 2550 {
		t.Errorf("border is %.0f km long, want 2,300–2,550 km (the district's ≈2,400 km)", km)
	}
	if len(b) < 1000 {
		t.Errorf("border has %d vertices, want the full resolution of the source (> 1,000)", len(b))
	}
	// Continuous: one line, no repeated points, no jumps beyond the long straight stretches of
	// the Gobi boundary, and it never crosses itself.
	for i := 1; i < len(b); i++ {
		if d := distance(b[i-1], b[i]); d == 0 || d > 60e3 {
			t.Errorf("segment %d: %v → %v is %.0f m", i, b[i-1], b[i], d)
		}
	}
	for i := 0; i+1 < len(b); i++ {
		for j := i + 2; j+1 < len(b); j++ {
			if p, ok := segmentsCross(b[i], b[i+1], b[j], b[j+1]); ok {
				t.Fatalf("border crosses itself at %v (segments %d and %d)", p, i, j)
			}
		}
	}
}

func TestDomesticSide(t *testing.T) {
	b := Border()
	cn := china(b)
	var erenhot Port
	for _, p := range Ports() {
		if p.ID == "port-erenhot" {
			erenhot = p
		}
	}
	tests := []struct {
		name  string
		p     orb.Point
		china bool
	}{
		{"5 km south of the line near Erenhot", offset(erenhot.Crossing, 0, -5000), true},
		{"5 km north of the line near Erenhot", offset(erenhot.Crossing, 0, 5000), false},
		{"Erenhot city", ll(43.650, 111.983), true},
		{"Zamyn-Üüd", ll(43.717, 111.900), false},
		{"Ejin Banner", ll(41.96, 101.07), true},
		{"Ovoot Tolgoi mine", ll(43.018, 101.217), false},
		{"Urad Middle Banner", ll(41.57, 108.52), true},
		{"Oyu Tolgoi mine", ll(43.01, 106.85), false},
		{"Baotou", ll(40.656, 109.835), true},
		{"Hohhot Baita airport", ll(40.851, 111.824), true},
		{"Sainshand", ll(44.89, 110.14), false},
		{"Ulaanbaatar", ll(47.92, 106.92), false},
	}
	for _, tt := range tests {
		if got := planar.PolygonContains(cn, tt.p); got != tt.china {
			t.Errorf("%s %v: in China %v, want %v", tt.name, tt.p, got, tt.china)
		}
		// domestic_side "right": points near the line on the Chinese side are to its right.
		if _, d := nearest(b, tt.p); d < 50e3 {
			if right := sideOf(b, tt.p) < 0; right != tt.china {
				t.Errorf("%s %v: right of the line %v, want %v", tt.name, tt.p, right, tt.china)
			}
		}
	}
}

func TestPortsStraddleBorder(t *testing.T) {
	b := Border()
	zones := zoneMap(t)
	ports := Ports()
	if len(ports) != 5 {
		t.Fatalf("%d ports, want 5", len(ports))
	}
	for i, p := range ports {
		if i > 0 && p.Crossing.Lon() <= ports[i-1].Crossing.Lon() {
			t.Errorf("%s: ports are not listed west to east", p.ID)
		}
		z, ok := zones[p.ID]
		if !ok || z.Kind != geofence.KindPort {
			t.Fatalf("%s: no port zone", p.ID)
		}
		poly := polygonOf(t, z)
		if !planar.PolygonContains(poly, p.Crossing) {
			t.Errorf("%s: crossing %v outside the port zone", p.ID, p.Crossing)
		}
		if _, d := nearest(b, p.Crossing); d > 0.5 {
			t.Errorf("%s: crossing %v is %.1f m off the border line", p.ID, p.Crossing, d)
		}
		if n := len(crossings(b, orb.LineString(poly[0]))); n < 2 {
			t.Errorf("%s: border crosses the port zone's edge %d times, want 2 or more", p.ID, n)
		}
		var north, south bool
		for _, v := range poly[0] {
			s := sideOf(b, v)
			north = north || s > 0
			south = south || s < 0
		}
		if !north || !south {
			t.Errorf("%s: port zone on one side only (Mongolian side %v, Chinese side %v)", p.ID, north, south)
		}
		if km2 := area(poly) / 1e6; km2 < 4 || km2 > 50 {
			t.Errorf("%s: port zone of %.1f km², want a few km", p.ID, km2)
		}
		if !p.Hours.IsOpen(time.Date(2026, 7, 1, 10, 0, 0, 0, cst)) {
			t.Errorf("%s: closed on a July morning", p.ID)
		}
	}
}

// area is the area of p in square metres.
func area(p orb.Polygon) float64 {
	pl := planeAt(p[0][0])
	var a float64
	for i := 0; i+1 < len(p[0]); i++ {
		x1, y1 := pl.xy(p[0][i])
		x2, y2 := pl.xy(p[0][i+1])
		a += x1*y2 - x2*y1
	}
	return math.Abs(a) / 2
}

func TestControlZones(t *testing.T) {
	b := Border()
	cn := china(b)
	zones := zoneMap(t)
	for _, p := range Ports() {
		z, ok := zones[p.ControlZoneID]
		if !ok || z.Kind != geofence.KindControlZone || z.Properties["port_id"] != p.ID {
			t.Fatalf("%s: no control zone %q for it", p.ID, p.ControlZoneID)
		}
		poly := polygonOf(t, z)
		for _, v := range poly[0] {
			if _, d := nearest(b, v); d > 1 && !planar.PolygonContains(cn, v) {
				t.Errorf("%s: vertex %v on the Mongolian side", z.ID, v)
			}
		}
		// The line bounds the zone: no part of it lies inside.
		for _, v := range b {
			if planar.PolygonContains(poly, v) && !onRing(poly[0], v) {
				t.Errorf("%s: border vertex %v inside the zone", z.ID, v)
			}
		}
		if d := distance(poly.Bound().Center(), p.Crossing); d > controlRadius {
			t.Errorf("%s: centred %.0f m from the crossing", z.ID, d)
		}
		// About a half disc of the control radius.
		half := math.Pi * controlRadius * controlRadius / 2
		if a := area(poly); a < 0.6*half || a > 1.4*half {
			t.Errorf("%s: %.0f km², want about %.0f km²", z.ID, a/1e6, half/1e6)
		}
		if !planar.PolygonContains(poly, offset(p.Crossing, 0, -3000)) {
			t.Errorf("%s: does not cover the port's Chinese side", z.ID)
		}
	}
}

func onRing(r orb.Ring, p orb.Point) bool {
	for _, v := range r {
		if v == p {
			return true
		}
	}
	return false
}

func TestCorridors(t *testing.T) {
	b := Border()
	cn := china(b)
	zones := zoneMap(t)
	var n int
	for _, p := range Ports() {
		for _, r := range p.Routes {
			n++
			c, y := zones[r.CorridorID], zones[r.YardID]
			if c.Kind != geofence.KindCorridor || y.Kind != geofence.KindYard {
				t.Fatalf("%s: route %+v: kinds %q and %q", p.ID, r, c.Kind, y.Kind)
			}
			if c.Properties["port_id"] != p.ID || c.Properties["yard_id"] != r.YardID {
				t.Errorf("%s: port_id %v, yard_id %v, want %s and %s", c.ID,
					c.Properties["port_id"], c.Properties["yard_id"], p.ID, r.YardID)
			}
			ls := c.Geometry.(orb.LineString)
			if !planar.PolygonContains(polygonOf(t, zones[p.ID]), ls[0]) {
				t.Errorf("%s: starts at %v, outside %s", c.ID, ls[0], p.ID)
			}
			if !planar.PolygonContains(polygonOf(t, y), ls[len(ls)-1]) {
				t.Errorf("%s: ends at %v, outside %s", c.ID, ls[len(ls)-1], y.ID)
			}
			// On the Chinese side, all of its width, and through no other yard.
			for _, s := range samples(ls, 100) {
				if other := yardAt(zones, s); other != "" && other != y.ID {
					t.Errorf("%s: passes through %s at %v", c.ID, other, s)
					break
				}
				if !planar.PolygonContains(cn, s) {
					t.Errorf("%s: %v on the Mongolian side", c.ID, s)
					break
				}
				if _, d := nearest(b, s); d < c.WidthM {
					t.Errorf("%s: %v is %.0f m from the border, within the corridor's width", c.ID, s, d)
					break
				}
			}
		}
	}
	var corridors int
	for _, z := range zones {
		if z.Kind == geofence.KindCorridor {
			corridors++
		}
	}
	if n != corridors {
		t.Errorf("ports list %d routes, zones hold %d corridors", n, corridors)
	}
}

func yardAt(zones map[string]geofence.Zone, p orb.Point) string {
	for id, z := range zones {
		if z.Kind == geofence.KindYard && planar.PolygonContains(z.Geometry.(orb.Polygon), p) {
			return id
		}
	}
	return ""
}

func TestYardsAndServiceAreas(t *testing.T) {
	cn := china(Border())
	zones := zoneMap(t)
	for id, z := range zones {
		switch z.Kind {
		case geofence.KindYard, geofence.KindServiceArea:
		default:
			continue
		}
		poly := polygonOf(t, z)
		for _, v := range poly[0] {
			if !planar.PolygonContains(cn, v) {
				t.Errorf("%s: vertex %v on the Mongolian side", id, v)
			}
		}
		if port, ok := zones[z.Properties["port_id"].(string)]; !ok || port.Kind != geofence.KindPort {
			t.Errorf("%s: port_id %v is not a port", id, z.Properties["port_id"])
		}
		if town, _ := z.Properties["town"].(bool); town {
			continue // a port town lies on no corridor
		}
		if z.Kind == geofence.KindServiceArea {
			c := zones[z.Properties["corridor_id"].(string)]
			if _, d := nearest(c.Geometry.(orb.LineString), poly.Bound().Center()); d > 1 {
				t.Errorf("%s: %.0f m off its corridor %s", id, d, c.ID)
			}
		}
	}
}

func TestRoads(t *testing.T) {
	b := Border()
	cn := china(b)
	zones := zoneMap(t)
	roads := map[string]Road{}
	for _, r := range Roads() {
		if _, dup := roads[r.ID]; dup {
			t.Fatalf("duplicate road %s", r.ID)
		}
		if r.Name == "" || len(r.Line) < 2 {
			t.Errorf("%s: name %q, %d points", r.ID, r.Name, len(r.Line))
		}
		roads[r.ID] = r
	}
	used := map[string]bool{}
	road := func(id string) Road {
		t.Helper()
		r, ok := roads[id]
		if !ok {
			t.Fatalf("no road %s", id)
		}
		used[id] = true
		return r
	}
	for _, p := range Ports() {
		port := polygonOf(t, zones[p.ID])
		// Roads meet the border at the port's crossing, inside the port zone, and nowhere else.
		if !planar.PolygonContains(port, p.Crossing) {
			t.Errorf("%s: crossing outside the port zone", p.ID)
		}
		check := func(r Road) {
			t.Helper()
			for _, x := range crossings(b, r.Line) {
				if distance(x, p.Crossing) > 1 {
					t.Errorf("%s: meets the border at %v, away from %s's crossing", r.ID, x, p.ID)
				}
			}
		}
		for _, id := range p.Feeders {
			r := road(id)
			if r.Line[len(r.Line)-1] != p.Crossing {
				t.Errorf("%s: ends at %v, not at %s's crossing %v", id, r.Line[len(r.Line)-1], p.ID, p.Crossing)
			}
			for _, v := range r.Line[:len(r.Line)-1] {
				if planar.PolygonContains(cn, v) {
					t.Errorf("%s: %v on the Chinese side", id, v)
				}
			}
			check(r)
		}
		for _, rt := range p.Routes {
			r := road(rt.RoadID)
			corridor := zones[rt.CorridorID].Geometry.(orb.LineString)
			if r.Line[0] != p.Crossing || !reflect.DeepEqual(r.Line[1:], corridor) {
				t.Errorf("%s: want the crossing then the centre line of %s", r.ID, rt.CorridorID)
			}
			if !planar.PolygonContains(polygonOf(t, zones[rt.YardID]), r.Line[len(r.Line)-1]) {
				t.Errorf("%s: does not end in %s", r.ID, rt.YardID)
			}
			check(r)
		}
		loop := road(p.TownLoop)
		if loop.Line[0] != loop.Line[len(loop.Line)-1] || planar.PolygonContains(cn, loop.Line[0]) {
			t.Errorf("%s: want a loop from the Mongolian side and back", loop.ID)
		}
		var in, out int
		for i := 1; i+1 < len(loop.Line); i++ {
			if loop.Line[i] != p.Crossing {
				continue
			}
			before, after := planar.PolygonContains(cn, loop.Line[i-1]), planar.PolygonContains(cn, loop.Line[i+1])
			switch {
			case !before && after:
				in++
			case before && !after:
				out++
			}
		}
		if in != 1 || out != 1 {
			t.Errorf("%s: enters China %d times and leaves %d times at the crossing, want once each", loop.ID, in, out)
		}
		check(loop)
	}
	for id := range roads {
		if !used[id] {
			t.Errorf("road %s belongs to no port", id)
		}
	}
	// The copper concentrate run ends in Baotou.
	var baotou bool
	for _, r := range roads {
		end := r.Line[len(r.Line)-1]
		baotou = baotou || strings.HasPrefix(r.ID, "road-ganqimaodu-") && distance(end, ll(40.656, 109.835)) < 20e3
	}
	if !baotou {
		t.Error("no road from Ganqimaodu to Baotou")
	}
}

func TestHours(t *testing.T) {
	day := Hours{Open: 9 * time.Hour, Close: 17*time.Hour + 30*time.Minute}
	seasonal := Hours{Open: day.Open, Close: day.Close, Months: []time.Month{time.March, time.November}}
	tests := []struct {
		h    Hours
		t    time.Time
		open bool
	}{
		{day, time.Date(2026, 1, 5, 8, 59, 59, 0, cst), false},
		{day, time.Date(2026, 1, 5, 9, 0, 0, 0, cst), true},
		{day, time.Date(2026, 1, 5, 17, 29, 59, 0, cst), true},
		{day, time.Date(2026, 1, 5, 17, 30, 0, 0, cst), false},
		{day, time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC), true},   // 09:00 CST
		{day, time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC), false}, // 18:00 CST
		{seasonal, time.Date(2026, 3, 1, 10, 0, 0, 0, cst), true},
		{seasonal, time.Date(2026, 2, 28, 10, 0, 0, 0, cst), false},
		{seasonal, time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC), true},
		{seasonal, time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC), false}, // 1 December CST
	}
	for _, tt := range tests {
		if got := tt.h.IsOpen(tt.t); got != tt.open {
			t.Errorf("%v.IsOpen(%v) = %v, want %v", tt.h, tt.t, got, tt.open)
		}
	}
	if got, want := seasonal.String(), "09:00-17:30, March to November"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestFeatureCollection(t *testing.T) {
	fc := FeatureCollection()
	var doc struct {
		Type     string
		Features []geofence.Zone
	}
	if err := json.Unmarshal(fc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Type != "FeatureCollection" {
		t.Errorf("type %q", doc.Type)
	}
	if want := Zones(); !reflect.DeepEqual(doc.Features, want) {
		t.Errorf("FeatureCollection does not decode to Zones()")
	}
	if len(fc) > 1<<20 {
		t.Errorf("%d bytes, want less than 1 MB", len(fc))
	}
	if !bytes.Contains(fc, []byte("© OpenStreetMap contributors")) {
		t.Error("no OpenStreetMap attribution in the GeoJSON")
	}

	const golden = "testdata/district.geojson"
	if *update {
		if err := os.WriteFile(golden, fc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fc, want) {
		t.Errorf("FeatureCollection differs from %s; review and run go test -update", golden)
	}
}

func TestFreshCopies(t *testing.T) {
	z := Zones()
	z[0].Geometry.(orb.LineString)[0] = orb.Point{}
	z[1].Properties["name_en"] = "changed"
	p := Ports()
	p[0].Routes[0].YardID = "changed"
	r := Roads()
	r[0].Line[0] = orb.Point{}
	if Zones()[0].Geometry.(orb.LineString)[0] == (orb.Point{}) || Zones()[1].Properties["name_en"] == "changed" ||
		Ports()[0].Routes[0].YardID == "changed" || Roads()[0].Line[0] == (orb.Point{}) || Border()[0] == (orb.Point{}) {
		t.Error("a caller's change reached the package's data")
	}
}

func TestNotice(t *testing.T) {
	b, err := os.ReadFile("data/NOTICE.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"© OpenStreetMap contributors", "ODbL", "derive-border.mjs"} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("data/NOTICE.md does not mention %q", s)
		}
	}
}

// Zones copies every geometry on each call; a server calls it once, on first start.
func BenchmarkZones(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Zones()
	}
}

// The mines lie in Mongolia, each with a grade, and the feeder roads that start at one start
// inside it: a truck that loads there is in the zone.
func TestMines(t *testing.T) {
	cn := china(Border())
	zones := zoneMap(t)
	mines := 0
	for _, z := range zones {
		if z.Kind != geofence.KindMine {
			continue
		}
		mines++
		for _, v := range polygonOf(t, z)[0] {
			if planar.PolygonContains(cn, v) {
				t.Errorf("%s: vertex %v on the Chinese side", z.ID, v)
			}
		}
		if g, _ := z.Properties["grade"].(string); g == "" {
			t.Errorf("%s: no grade", z.ID)
		}
	}
	if mines < 4 {
		t.Errorf("%d mines, want the 4 near Ceke and Ganqimaodu", mines)
	}
	for _, r := range Roads() {
		for _, m := range []string{"ovoottolgoi", "oyutolgoi", "tavantolgoi"} {
			if strings.Contains(r.ID, "road-"+m+"-") && !planar.PolygonContains(polygonOf(t, zones["mine-"+m]), r.Line[0]) {
				t.Errorf("%s starts at %v, outside mine-%s", r.ID, r.Line[0], m)
			}
		}
	}
}
