package geofence

import (
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// randomRing returns a simple star-shaped ring of n vertices around (cx, cy).
func randomRing(rng *rand.Rand, cx, cy, r float64, n int) orb.Ring {
	ring := make(orb.Ring, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * (float64(i) + rng.Float64()*0.8) / float64(n)
		rr := r * (0.2 + 0.8*rng.Float64())
		ring = append(ring, orb.Point{cx + rr*math.Cos(a), cy + rr*math.Sin(a)})
	}
	return append(ring, ring[0])
}

// randomPolygon returns a star-shaped polygon near (112, 43), sometimes with a small hole
// around its centre (inside every star-shaped ring's kernel by construction).
func randomPolygon(rng *rand.Rand) orb.Polygon {
	n := 3 + rng.Intn(300)
	p := orb.Polygon{randomRing(rng, 112, 43, 0.1, n)}
	if rng.Intn(2) == 0 {
		p = append(p, randomRing(rng, 112, 43, 0.015, 3+rng.Intn(8)))
	}
	return p
}

func randomPoint(rng *rand.Rand) (x, y float64) {
	return 112 + (rng.Float64()*2-1)*0.12, 43 + (rng.Float64()*2-1)*0.12
}

func TestContainsMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for range 100 {
		poly := randomPolygon(rng)
		s := compile(Zone{ID: "p", Kind: KindYard, Geometry: poly}, 0)
		for range 300 {
			x, y := randomPoint(rng)
			want := planar.PolygonContains(poly, orb.Point{x, y})
			if got := s.contains(x, y); got != want && !onBoundary(poly, x, y) {
				t.Fatalf("contains(%v, %v) = %v, brute force %v; polygon of %d vertices", x, y, got, want, len(poly[0]))
			}
		}
	}
}

func onBoundary(poly orb.Polygon, x, y float64) bool {
	for _, r := range poly {
		for i := 0; i+1 < len(r); i++ {
			if distSeg(x, y, r[i][0], r[i][1], r[i+1][0], r[i+1][1]) < 1e-12 {
				return true
			}
		}
	}
	return false
}

// flips samples the move p→q at n+1 points and returns the fractions where inside changes.
func flips(n int, px, py, qx, qy float64, inside func(x, y float64) bool) []float64 {
	var out []float64
	prev := inside(px, py)
	for i := 1; i <= n; i++ {
		f := float64(i) / float64(n)
		in := inside(px+(qx-px)*f, py+(qy-py)*f)
		if in != prev {
			out = append(out, f)
		}
		prev = in
	}
	return out
}

// sameCrossings reports whether each crossing lies in the sampled step ending at its flip;
// ambiguous is true when crossings come too close together for the sampling to tell.
func sameCrossings(got, sampled []float64, n int) (same, ambiguous bool) {
	for i := 1; i < len(got); i++ {
		if got[i]-got[i-1] < 2/float64(n) {
			return false, true
		}
	}
	if len(got) != len(sampled) {
		return false, false
	}
	for i := range got {
		if got[i] > sampled[i]+1e-9 || got[i] < sampled[i]-1/float64(n)-1e-9 {
			return false, false
		}
	}
	return true, false
}

func TestAreaCrossingsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	const n = 2000
	checked := 0
	for range 60 {
		poly := randomPolygon(rng)
		s := compile(Zone{ID: "p", Kind: KindYard, Geometry: poly}, 0)
		for range 25 {
			px, py := randomPoint(rng)
			qx, qy := randomPoint(rng)
			got := s.crossings(px, py, qx, qy, s.contains(px, py), s.contains(qx, qy), nil)
			sampled := flips(n, px, py, qx, qy, s.contains)
			same, ambiguous := sameCrossings(got, sampled, n)
			if ambiguous {
				continue
			}
			checked++
			if !same {
				t.Fatalf("move (%v,%v)→(%v,%v): crossings %v, sampled flips %v", px, py, qx, qy, got, sampled)
			}
		}
	}
	if checked < 1100 {
		t.Fatalf("only %d of 1500 moves unambiguous", checked)
	}
}

// randomLine returns a wandering line of n vertices through the sample area.
func randomLine(rng *rand.Rand, n int) orb.LineString {
	l := orb.LineString{{111.88, 43 + (rng.Float64()*2-1)*0.1}}
	for i := 1; i < n; i++ {
		l = append(l, orb.Point{111.88 + 0.24*float64(i)/float64(n-1), 43 + (rng.Float64()*2-1)*0.1})
	}
	return l
}

func TestBorderCrossingsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	t0 := time.Unix(0, 0)
	for i := range 100 {
		line := randomLine(rng, 2+rng.Intn(200))
		side := []string{"right", "left"}[i%2]
		x := newIndex([]Zone{{ID: "b", Kind: KindBorder, Geometry: line, DomesticSide: side}})
		for range 50 {
			px, py := randomPoint(rng)
			qx, qy := randomPoint(rng)
			m := Move{From: Position{Time: t0, Lat: py, Lon: px}, To: Position{Time: t0.Add(time.Hour), Lat: qy, Lon: qx}}
			var sc scratch
			x.search(&sc, &m)
			var got []Crossing
			for _, g := range sc.groups(x) {
				got = x.borderCrossings(&sc, &m, x.shapes[g.shape], sc.hits[g.from:g.to], got)
			}
			// Brute force: every segment, proper intersections by orientation signs.
			var want []Crossing
			for j := 0; j+1 < len(line); j++ {
				a, b := line[j], line[j+1]
				o1 := orient(a, b, orb.Point{px, py})
				o2 := orient(a, b, orb.Point{qx, qy})
				o3 := orient(orb.Point{px, py}, orb.Point{qx, qy}, a)
				o4 := orient(orb.Point{px, py}, orb.Point{qx, qy}, b)
				if o1*o2 < 0 && o3*o4 < 0 {
					tt, _, _ := segParams(px, py, qx, qy, a[0], a[1], b[0], b[1])
					// Moving from the left (o1 > 0) to the right.
					dir := Outbound
					if (o1 > 0) == (side == "right") {
						dir = Inbound
					}
					want = append(want, Crossing{At: tt, Direction: dir})
				}
			}
			sortCrossings(want)
			if len(got) != len(want) {
				t.Fatalf("move (%v,%v)→(%v,%v): %d crossings, brute force %d", px, py, qx, qy, len(got), len(want))
			}
			for k := range got {
				if math.Abs(got[k].At-want[k].At) > 1e-9 || got[k].Direction != want[k].Direction {
					t.Fatalf("crossing %d: %+v, brute force %+v", k, got[k], want[k])
				}
			}
			// Alternating directions: a straight move crossing a line that runs west to
			// east can only go back and forth.
			for k := 1; k < len(got); k++ {
				if got[k].Direction == got[k-1].Direction {
					t.Fatalf("two %s crossings in a row on a west-east line", got[k].Direction)
				}
			}
		}
	}
}

func sortCrossings(c []Crossing) {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j].At < c[j-1].At; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

func TestBorderCrossingThroughVertexCountsOnce(t *testing.T) {
	line := orb.LineString{{111, 43}, {112, 43}, {113, 43.5}}
	x := newIndex([]Zone{{ID: "b", Kind: KindBorder, Geometry: line}})
	t0 := time.Unix(0, 0)
	for _, c := range []struct {
		name           string
		px, py, qx, qy float64
		want           int
	}{
		{"through the vertex", 112, 44, 112, 42, 1},
		{"diagonal through the vertex", 111.5, 44, 112.5, 42, 1},
		{"touching the vertex from below", 111.5, 42, 112, 43, 0},
		{"leaving the vertex downwards", 112, 43, 112, 42, 0},
		{"through the end vertex", 113, 44, 113, 43, 1},
	} {
		m := Move{From: Position{Time: t0, Lat: c.py, Lon: c.px}, To: Position{Time: t0.Add(time.Hour), Lat: c.qy, Lon: c.qx}}
		var sc scratch
		x.search(&sc, &m)
		var got []Crossing
		for _, g := range sc.groups(x) {
			got = x.borderCrossings(&sc, &m, x.shapes[g.shape], sc.hits[g.from:g.to], got)
		}
		if len(got) != c.want {
			t.Errorf("%s: %d crossings %v, want %d", c.name, len(got), got, c.want)
		}
	}
}

func TestCorridorCrossingsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	const n = 1000
	t0 := time.Unix(0, 0)
	checked := 0
	for range 60 {
		line := randomLine(rng, 2+rng.Intn(30))
		width := 200 + rng.Float64()*2000
		x := newIndex([]Zone{{ID: "c", Kind: KindCorridor, WidthM: width, Geometry: line}})
		s := x.shapes[0]
		inside := func(lon, lat float64) bool { return minDist(lat, lon, s.segs) <= width }
		for range 25 {
			px, py := randomPoint(rng)
			qx, qy := randomPoint(rng)
			m := Move{From: Position{Time: t0, Lat: py, Lon: px}, To: Position{Time: t0.Add(time.Hour), Lat: qy, Lon: qx}}
			var sc scratch
			x.search(&sc, &m)
			var cross []Crossing
			start := false
			for _, g := range sc.groups(x) {
				start, cross = corridorCrossings(&sc, &m, s, sc.hits[g.from:g.to], cross)
			}
			var got []float64
			for _, c := range cross {
				got = append(got, c.At)
			}
			same, ambiguous := sameCrossings(got, flips(n, px, py, qx, qy, inside), n)
			if ambiguous || math.Abs(minDist(py, px, s.segs)-width) < 1 {
				continue
			}
			checked++
			if start != inside(px, py) || !same {
				t.Fatalf("move (%v,%v)→(%v,%v) width %.0f: start %v, crossings %v; brute force %v, %v",
					px, py, qx, qy, width, start, got, inside(px, py), flips(n, px, py, qx, qy, inside))
			}
		}
	}
	if checked < 1200 {
		t.Fatalf("only %d of 1500 moves unambiguous", checked)
	}
}
