package geofence

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// MaxVertices caps the vertices of one zone: survey data that big is a mistake (an unclipped
// country outline), and it would slow every query that meets it.
const MaxVertices = 100_000

// Problem is one thing wrong with one feature of a collection.
type Problem struct {
	Index   int    // the feature's index in the collection
	ID      string // the feature's id, "" if it has none
	Message string
}

func (p Problem) String() string {
	return fmt.Sprintf("feature %d (id %q): %s", p.Index, p.ID, p.Message)
}

// ValidationError lists every problem found in zones.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return "invalid zones: " + strings.Join(s, "; ")
}

// ParseFeatureCollection decodes a GeoJSON FeatureCollection of zones and validates every
// feature. If anything is wrong it returns a *ValidationError naming every problem.
func ParseFeatureCollection(b []byte) ([]Zone, error) {
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		return nil, fmt.Errorf("not a GeoJSON FeatureCollection: %w", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("not a GeoJSON FeatureCollection: type %q", fc.Type)
	}
	var (
		zones   = make([]Zone, len(fc.Features))
		decoded = make([]bool, len(fc.Features))
		errs    ValidationError
	)
	for i, raw := range fc.Features {
		if err := json.Unmarshal(raw, &zones[i]); err != nil {
			errs.Problems = append(errs.Problems, Problem{Index: i, Message: err.Error()})
			continue
		}
		decoded[i] = true
	}
	errs.Problems = append(errs.Problems, setProblems(zones, decoded)...)
	if len(errs.Problems) > 0 {
		slices.SortStableFunc(errs.Problems, func(a, b Problem) int { return cmp.Compare(a.Index, b.Index) })
		return nil, &errs
	}
	return zones, nil
}

// ValidateZones validates every zone and checks their IDs are unique. If anything is wrong it
// returns a *ValidationError naming every problem, by the zone's index in zones.
func ValidateZones(zones []Zone) error {
	if p := setProblems(zones, nil); len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// setProblems checks the zones for which check is true (all if check is nil).
func setProblems(zones []Zone, check []bool) []Problem {
	var out []Problem
	first := map[string]int{}
	for i, z := range zones {
		if check != nil && !check[i] {
			continue
		}
		for _, msg := range z.problems() {
			out = append(out, Problem{Index: i, ID: z.ID, Message: msg})
		}
		if j, dup := first[z.ID]; dup && z.ID != "" {
			out = append(out, Problem{Index: i, ID: z.ID, Message: fmt.Sprintf("duplicate id (feature %d has it too)", j)})
		} else {
			first[z.ID] = i
		}
	}
	return out
}

// Validate reports everything wrong with z, or nil.
func (z Zone) Validate() error {
	p := z.problems()
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

func (z Zone) problems() []string {
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	if strings.TrimSpace(z.ID) == "" {
		add("empty id")
	}
	if z.Geometry == nil {
		add("no geometry")
		return out
	}
	gtype := z.Geometry.GeoJSONType()
	switch z.Kind {
	case KindPort, KindControlZone, KindYard, KindServiceArea, KindRestricted, KindMine:
		if gtype != "Polygon" && gtype != "MultiPolygon" {
			add("a %s zone needs a Polygon or MultiPolygon, not a %s", z.Kind, gtype)
		}
	case KindCorridor:
		if gtype != "LineString" {
			add("a corridor needs a LineString centre line, not a %s", gtype)
		}
		if !(z.WidthM > 0) || math.IsInf(z.WidthM, 0) {
			add("a corridor needs width_m > 0, got %v", z.WidthM)
		}
	case KindBorder:
		if gtype != "LineString" && gtype != "MultiLineString" {
			add("the border needs a LineString or MultiLineString, not a %s", gtype)
		}
		if s := z.DomesticSide; s != "" && s != "right" && s != "left" {
			add("domestic_side must be right or left, got %q", s)
		}
	default:
		add("unknown kind %q", z.Kind)
	}
	if z.Kind == KindMine {
		if g, _ := z.Properties["grade"].(string); strings.TrimSpace(g) == "" || len(g) > 100 {
			add("a mine needs a grade property: a string of 1 to 100 bytes")
		}
	}
	if p := coordProblem(z.Geometry); p != "" {
		add("%s", p)
		return out
	}
	switch g := z.Geometry.(type) {
	case orb.Polygon:
		out = append(out, polygonProblems(orb.MultiPolygon{g})...)
	case orb.MultiPolygon:
		out = append(out, polygonProblems(g)...)
	case orb.LineString:
		out = append(out, lineProblems(orb.MultiLineString{g})...)
	case orb.MultiLineString:
		out = append(out, lineProblems(g)...)
	}
	return out
}

// coordProblem checks the vertex count and every coordinate's range.
func coordProblem(g orb.Geometry) string {
	var pts []orb.Point
	switch g := g.(type) {
	case orb.Point:
		pts = []orb.Point{g}
	case orb.LineString:
		pts = g
	case orb.MultiLineString:
		for _, l := range g {
			pts = append(pts, l...)
		}
	case orb.Polygon:
		for _, r := range g {
			pts = append(pts, r...)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			for _, r := range p {
				pts = append(pts, r...)
			}
		}
	default:
		return fmt.Sprintf("unsupported geometry %s", g.GeoJSONType())
	}
	if len(pts) > MaxVertices {
		return fmt.Sprintf("%d vertices, more than the %d allowed", len(pts), MaxVertices)
	}
	bad, first := 0, -1
	for i, p := range pts {
		if !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90) {
			if bad++; first < 0 {
				first = i
			}
		}
	}
	if bad == 0 {
		return ""
	}
	p := pts[first]
	msg := fmt.Sprintf("%d coordinates out of range, the first [%v, %v] (vertex %d)", bad, p[0], p[1], first)
	if math.Abs(p[1]) <= 180 && math.Abs(p[0]) <= 90 {
		msg += ": latitude and longitude look swapped (GeoJSON positions are [lon, lat])"
	}
	return msg
}

func lineProblems(lines orb.MultiLineString) []string {
	var out []string
	for i, l := range lines {
		if len(l) < 2 {
			out = append(out, fmt.Sprintf("line %d has %d points, needs at least 2", i, len(l)))
			continue
		}
		if b := l.Bound(); b.Min == b.Max {
			out = append(out, fmt.Sprintf("line %d has no length", i))
		}
	}
	return out
}

func polygonProblems(polys orb.MultiPolygon) []string {
	var out []string
	ok := true
	for i, p := range polys {
		if len(p) == 0 {
			out = append(out, fmt.Sprintf("polygon %d has no rings", i))
			ok = false
		}
		for j, r := range p {
			switch {
			case len(r) < 4:
				out = append(out, fmt.Sprintf("polygon %d ring %d has %d points, needs at least 4", i, j, len(r)))
				ok = false
			case r[0] != r[len(r)-1]:
				out = append(out, fmt.Sprintf("polygon %d ring %d is not closed (first point %v, last %v)", i, j, r[0], r[len(r)-1]))
				ok = false
			}
		}
	}
	if ok {
		if at, found := crossingEdges(polys); found {
			out = append(out, fmt.Sprintf("rings intersect themselves or each other near [%.6f, %.6f]", at[0], at[1]))
		}
	}
	return out
}

// crossingEdges finds two edges of the polygons' closed rings that meet, other than
// neighbours in one ring at their shared vertex.
func crossingEdges(polys orb.MultiPolygon) (orb.Point, bool) {
	type edge struct {
		a, b      orb.Point
		ring, pos int // pos in the ring; the ring's edge count in n
		n         int
	}
	var edges []edge
	ring := 0
	for _, p := range polys {
		for _, r := range p {
			// Repeated vertices make no edge; dropping them keeps neighbours neighbours.
			pts := make([]orb.Point, 0, len(r))
			for _, q := range r {
				if len(pts) == 0 || pts[len(pts)-1] != q {
					pts = append(pts, q)
				}
			}
			n := len(pts) - 1
			for i := 0; i < n; i++ {
				edges = append(edges, edge{pts[i], pts[i+1], ring, i, n})
			}
			ring++
		}
	}
	var tr rtree.RTreeG[int]
	box := func(e edge) ([2]float64, [2]float64) {
		return [2]float64{min(e.a[0], e.b[0]), min(e.a[1], e.b[1])}, [2]float64{max(e.a[0], e.b[0]), max(e.a[1], e.b[1])}
	}
	for i, e := range edges {
		lo, hi := box(e)
		tr.Insert(lo, hi, i)
	}
	var at orb.Point
	found := false
	for i, e := range edges {
		lo, hi := box(e)
		tr.Search(lo, hi, func(_, _ [2]float64, j int) bool {
			if j <= i {
				return true
			}
			f := edges[j]
			// Neighbours share a vertex; they are wrong only if they fold back on each other.
			if e.ring == f.ring && f.pos == e.pos+1 {
				found = orient(e.a, e.b, f.b) == 0 && dot(e.a, e.b, f.b) < 0
				at = e.b
				return !found
			}
			if e.ring == f.ring && e.pos == 0 && f.pos == e.n-1 {
				found = orient(f.a, e.a, e.b) == 0 && dot(f.a, e.a, e.b) < 0
				at = e.a
				return !found
			}
			if segmentsMeet(e.a, e.b, f.a, f.b) {
				at, found = e.a, true
				if t, _, ok := segParams(e.a[0], e.a[1], e.b[0], e.b[1], f.a[0], f.a[1], f.b[0], f.b[1]); ok {
					at = orb.Point{e.a[0] + t*(e.b[0]-e.a[0]), e.a[1] + t*(e.b[1]-e.a[1])}
				}
			}
			return !found
		})
		if found {
			break
		}
	}
	return at, found
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

// dot is (b-a)·(c-b): negative when c turns back from b towards a.
func dot(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[0]-b[0]) + (b[1]-a[1])*(c[1]-b[1])
}

// segmentsMeet reports whether the closed segments ab and cd share a point.
func segmentsMeet(a, b, c, d orb.Point) bool {
	o1, o2, o3, o4 := orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
	if (o1 > 0) != (o2 > 0) && o1 != 0 && o2 != 0 && (o3 > 0) != (o4 > 0) && o3 != 0 && o4 != 0 {
		return true
	}
	on := func(p, q, r orb.Point) bool { // r on segment pq, given collinear
		return min(p[0], q[0]) <= r[0] && r[0] <= max(p[0], q[0]) && min(p[1], q[1]) <= r[1] && r[1] <= max(p[1], q[1])
	}
	return o1 == 0 && on(a, b, c) || o2 == 0 && on(a, b, d) || o3 == 0 && on(c, d, a) || o4 == 0 && on(c, d, b)
}
