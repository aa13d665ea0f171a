// Package enginetest is the conformance suite of geofence.Engine implementations: scripted
// vehicle tracks through a small port layout, the events every engine must give for them,
// and a shared benchmark. Engines are expected to run with geofence.DefaultHysteresis.
package enginetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/paulmach/orb"
)

// The layout lives in a local metric frame (x east, y north, metres) around a point near
// Erenhot; the border runs along y = 0 with China to the south.
const lat0, lon0 = 43.70, 111.95

var kx, ky = geofence.MetresPerDegree(lat0)

func pt(x, y float64) orb.Point { return orb.Point{lon0 + x/kx, lat0 + y/ky} }

func xy(lat, lon float64) (x, y float64) { return (lon - lon0) * kx, (lat - lat0) * ky }

func square(x0, y0, x1, y1 float64) orb.Ring {
	return orb.Ring{pt(x0, y0), pt(x1, y0), pt(x1, y1), pt(x0, y1), pt(x0, y0)}
}

// Zone IDs of the layout.
const (
	border    = "border"
	port1     = "port-1" // straddles the border at x = 0
	port2     = "port-2" // straddles it at x = -40 km
	yard      = "yard-1"
	corridor  = "corridor-1" // from port-1 to the yard, 100 m wide
	multi     = "cz-multi"   // two squares
	holed     = "cz-hole"    // a square with a square hole
	small     = "small-1"    // 200 m square
	t0Seconds = 1_780_000_000
)

var t0 = time.Unix(t0Seconds, 0).UTC()

// layout returns the test zones. The border is drawn west to east (eastward) or east to west,
// with domestic side side; China is south of it either way when the side is right for an
// eastward line or left for a westward one.
func layout(eastward bool, side string) []geofence.Zone {
	var line orb.LineString
	for x := -60000.0; x <= 60000; x += 15000 {
		line = append(line, pt(x, 0))
	}
	if !eastward {
		slices.Reverse(line)
	}
	return []geofence.Zone{
		{ID: border, Name: "border", Kind: geofence.KindBorder, Geometry: line, DomesticSide: side},
		{ID: port1, Name: "port one", Kind: geofence.KindPort, Geometry: orb.Polygon{square(-1000, -1000, 1000, 1000)}},
		{ID: port2, Name: "port two", Kind: geofence.KindPort, Geometry: orb.Polygon{square(-41000, -1000, -39000, 1000)}},
		{ID: yard, Name: "yard", Kind: geofence.KindYard, Geometry: orb.Polygon{square(-250, -6000, 250, -5500)}},
		{ID: corridor, Name: "corridor", Kind: geofence.KindCorridor, WidthM: 100,
			Geometry: orb.LineString{pt(0, -1000), pt(0, -3000), pt(200, -5500)}},
		{ID: multi, Name: "multi", Kind: geofence.KindControlZone, Geometry: orb.MultiPolygon{
			{square(10000, -10000, 11000, -9000)}, {square(13000, -10000, 14000, -9000)}}},
		{ID: holed, Name: "holed", Kind: geofence.KindControlZone, Geometry: orb.Polygon{
			square(20000, -12000, 24000, -8000), square(21000, -11000, 23000, -9000)}},
		{ID: small, Name: "small", Kind: geofence.KindRestricted, Geometry: orb.Polygon{square(-10100, -10100, -9900, -9900)}},
	}
}

// defaultLayout has China south of an eastward border.
func defaultLayout() []geofence.Zone { return layout(true, "right") }

// pos is a fix of vehicle v at t0+sec at (x, y).
func pos(v string, sec, x, y float64) geofence.Position {
	p := pt(x, y)
	return geofence.Position{VehicleID: v, Time: t0.Add(time.Duration(sec * float64(time.Second))), Lat: p[1], Lon: p[0]}
}

// drive returns fixes of vehicle v every 10 s at speed m/s from the first waypoint through the
// others, starting at t0+sec, ending exactly at the last waypoint.
func drive(v string, sec, speed float64, way ...[2]float64) []geofence.Position {
	var out []geofence.Position
	total := 0.0
	for i := 1; i < len(way); i++ {
		total += math.Hypot(way[i][0]-way[i-1][0], way[i][1]-way[i-1][1])
	}
	at := func(s float64) (x, y float64) { // the point s metres along the way
		for i := 1; i < len(way); i++ {
			a, b := way[i-1], way[i]
			l := math.Hypot(b[0]-a[0], b[1]-a[1])
			if s <= l && l > 0 {
				return a[0] + (b[0]-a[0])*s/l, a[1] + (b[1]-a[1])*s/l
			}
			s -= l
		}
		return way[len(way)-1][0], way[len(way)-1][1]
	}
	s := 0.0
	for ; s < total; s += 10 * speed {
		x, y := at(s)
		out = append(out, pos(v, sec+s/speed, x, y))
	}
	last := way[len(way)-1]
	return append(out, pos(v, sec+total/speed, last[0], last[1]))
}

// run feeds the fixes to e and returns all events, checking each call's events are in time
// order.
func run(t *testing.T, e geofence.Engine, fixes []geofence.Position) []geofence.Event {
	t.Helper()
	var all []geofence.Event
	for _, p := range fixes {
		evs, err := e.Update(context.Background(), p)
		if err != nil {
			t.Fatalf("Update(%v): %v", p, err)
		}
		if !slices.IsSortedFunc(evs, func(a, b geofence.Event) int { return a.Time.Compare(b.Time) }) {
			t.Errorf("Update(%v) events out of time order: %v", p, evs)
		}
		all = append(all, evs...)
	}
	return all
}

// seq renders the events of one zone as "type" strings, border crossings with port and
// direction.
func seq(evs []geofence.Event, zoneID string) string {
	var s []string
	for _, e := range evs {
		if e.ZoneID != zoneID {
			continue
		}
		if e.Type == geofence.BorderCross {
			s = append(s, fmt.Sprintf("%s(%s,%q)", e.Type, e.Direction, e.PortZoneID))
		} else {
			s = append(s, string(e.Type))
		}
	}
	return strings.Join(s, " ")
}

func setup(t *testing.T, newEngine func(t *testing.T) geofence.Engine, zones []geofence.Zone) geofence.Engine {
	t.Helper()
	e := newEngine(t)
	if err := e.SetZones(context.Background(), zones); err != nil {
		t.Fatalf("SetZones: %v", err)
	}
	return e
}

// near fails the test unless the event happened within tolM metres and tolS seconds of (x, y)
// at t0+sec.
func near(t *testing.T, what string, e geofence.Event, sec, x, y, tolS, tolM float64) {
	t.Helper()
	ex, ey := xy(e.Lat, e.Lon)
	if d := math.Hypot(ex-x, ey-y); d > tolM {
		t.Errorf("%s at (%.0f, %.0f), want (%.0f, %.0f) ±%.0f m", what, ex, ey, x, y, tolM)
	}
	if d := e.Time.Sub(t0).Seconds(); math.Abs(d-sec) > tolS {
		t.Errorf("%s at t0+%.1fs, want t0+%.1fs ±%.0fs", what, d, sec, tolS)
	}
}

func find(evs []geofence.Event, typ geofence.EventType, zoneID string) (geofence.Event, bool) {
	for _, e := range evs {
		if e.Type == typ && e.ZoneID == zoneID {
			return e, true
		}
	}
	return geofence.Event{}, false
}

// Run runs the conformance suite; newEngine returns a fresh engine without zones, with the
// default hysteresis.
func Run(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	t.Run("PortCrossing", func(t *testing.T) { testPortCrossing(t, newEngine) })
	t.Run("DrawingDirections", func(t *testing.T) { testDrawingDirections(t, newEngine) })
	t.Run("OutsidePort", func(t *testing.T) { testOutsidePort(t, newEngine) })
	t.Run("SparseFixes", func(t *testing.T) { testSparse(t, newEngine) })
	t.Run("SmallZoneBetweenFixes", func(t *testing.T) { testSmallZone(t, newEngine) })
	t.Run("JitterAtEdge", func(t *testing.T) { testJitterEdge(t, newEngine) })
	t.Run("JitterAtBorder", func(t *testing.T) { testJitterBorder(t, newEngine) })
	t.Run("CorridorExitAndReturn", func(t *testing.T) { testCorridor(t, newEngine) })
	t.Run("MultiPolygon", func(t *testing.T) { testMulti(t, newEngine) })
	t.Run("Hole", func(t *testing.T) { testHole(t, newEngine) })
	t.Run("ZoneEdited", func(t *testing.T) { testEdited(t, newEngine) })
	t.Run("ZoneDeleted", func(t *testing.T) { testDeleted(t, newEngine) })
	t.Run("InvalidZones", func(t *testing.T) { testInvalid(t, newEngine) })
	t.Run("Forget", func(t *testing.T) { testForget(t, newEngine) })
	t.Run("OutOfOrder", func(t *testing.T) { testOutOfOrder(t, newEngine) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newEngine) })
	t.Run("Crossings", func(t *testing.T) { testCrossings(t, newEngine) })
	t.Run("Containing", func(t *testing.T) { testContaining(t, newEngine) })
	t.Run("DistanceM", func(t *testing.T) { testDistance(t, newEngine) })
}

// A truck from Mongolia through port-1 onto the corridor, 10 m/s.
func portTrack(v string) []geofence.Position {
	return drive(v, 0, 10, [2]float64{0, 5030}, [2]float64{0, -1500})
}

func testPortCrossing(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	evs := run(t, e, portTrack("truck"))
	for _, c := range []struct{ zone, want string }{
		{border, `border_cross(inbound,"port-1")`},
		{port1, "zone_enter zone_exit"},
		{corridor, "zone_enter"},
		{yard, ""},
		{port2, ""},
	} {
		if got := seq(evs, c.zone); got != c.want {
			t.Errorf("%s events: %s, want %s", c.zone, got, c.want)
		}
	}
	if ev, ok := find(evs, geofence.BorderCross, border); ok {
		near(t, "border_cross", ev, 503, 0, 0, 1, 10)
		if ev.Kind != geofence.KindBorder {
			t.Errorf("border_cross kind %q", ev.Kind)
		}
	}
	if ev, ok := find(evs, geofence.ZoneEnter, port1); ok {
		near(t, "port enter", ev, 403, 0, 1000, 1, 10)
		if ev.Kind != geofence.KindPort {
			t.Errorf("port enter kind %q", ev.Kind)
		}
	}
	if ev, ok := find(evs, geofence.ZoneExit, port1); ok {
		near(t, "port exit", ev, 603, 0, -1000, 1, 10)
	}
	if ev, ok := find(evs, geofence.ZoneEnter, corridor); ok {
		near(t, "corridor enter", ev, 593, 0, -900, 1, 10)
	}
}

func testDrawingDirections(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	for _, c := range []struct {
		eastward bool
		side     string
		south    string // direction of a move from north to south
	}{
		{true, "right", geofence.Inbound},
		{true, "left", geofence.Outbound},
		{false, "right", geofence.Outbound},
		{false, "left", geofence.Inbound},
		{true, "", geofence.Inbound}, // right by default
	} {
		t.Run(fmt.Sprintf("eastward=%v,side=%q", c.eastward, c.side), func(t *testing.T) {
			e := setup(t, newEngine, layout(c.eastward, c.side))
			other := geofence.Outbound
			if c.south == other {
				other = geofence.Inbound
			}
			south := run(t, e, portTrack("south"))
			if got, want := seq(south, border), fmt.Sprintf(`border_cross(%s,"port-1")`, c.south); got != want {
				t.Errorf("north to south: %s, want %s", got, want)
			}
			north := run(t, e, drive("north", 0, 10, [2]float64{22500, -3000}, [2]float64{22500, 3000}))
			if got, want := seq(north, border), fmt.Sprintf(`border_cross(%s,"")`, other); got != want {
				t.Errorf("south to north: %s, want %s", got, want)
			}
		})
	}
}

func testOutsidePort(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	evs := run(t, e, drive("smuggler", 0, 15, [2]float64{22500, 3000}, [2]float64{22500, -3000}))
	if got, want := seq(evs, border), `border_cross(inbound,"")`; got != want {
		t.Fatalf("border events %s, want %s (all: %v)", got, want, evs)
	}
	ev, _ := find(evs, geofence.BorderCross, border)
	near(t, "border_cross", ev, 200, 22500, 0, 1, 10)
}

func testSparse(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	fixes := []geofence.Position{pos("sparse", 0, -20000, 10000), pos("sparse", 1800, -20000, -10000),
		pos("sparse", 3600, -20000, 10000)}
	evs := run(t, e, fixes)
	if got, want := seq(evs, border), `border_cross(inbound,"") border_cross(outbound,"")`; got != want {
		t.Fatalf("border events %s, want %s", got, want)
	}
	near(t, "inbound crossing", evs[0], 900, -20000, 0, 1, 20)
	near(t, "outbound crossing", evs[1], 2700, -20000, 0, 1, 20)
}

func testSmallZone(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	evs := run(t, e, []geofence.Position{pos("fast", 0, -12000, -10000), pos("fast", 600, -8000, -10000)})
	if got := seq(evs, small); got != "zone_enter zone_exit" {
		t.Fatalf("small zone events %q, want enter and exit (all: %v)", got, evs)
	}
	near(t, "enter", evs[0], 285, -10100, -10000, 1, 10)
	near(t, "exit", evs[1], 315, -9900, -10000, 1, 10)
}

func testJitterEdge(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	// A truck parks on the yard's west fence; its fixes scatter ±20 m for 20 minutes.
	fixes := drive("parked", 0, 10, [2]float64{-1000, -5750}, [2]float64{-250, -5750})
	rng := rand.New(rand.NewSource(1))
	sec := fixes[len(fixes)-1].Time.Sub(t0).Seconds()
	for range 120 {
		sec += 10
		fixes = append(fixes, pos("parked", sec, -250+rng.Float64()*40-20, -5750+rng.Float64()*40-20))
	}
	evs := run(t, e, fixes)
	if got := seq(evs, yard); got != "zone_enter" {
		t.Fatalf("yard events with jitter: %q, want one enter", got)
	}
	// Leaving for real is still seen.
	evs = run(t, e, drive("parked", sec+10, 10, [2]float64{-250, -5750}, [2]float64{-1000, -5750}))
	if got := seq(evs, yard); got != "zone_exit" {
		t.Fatalf("yard events on leaving: %q, want one exit", got)
	}
}

func testJitterBorder(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	// A car waits at the line for 20 minutes, its fixes scattering ±20 m across it.
	fixes := drive("waiting", 0, 10, [2]float64{22500, 3000}, [2]float64{22500, 15})
	rng := rand.New(rand.NewSource(2))
	sec := fixes[len(fixes)-1].Time.Sub(t0).Seconds()
	for range 120 {
		sec += 10
		fixes = append(fixes, pos("waiting", sec, 22500+rng.Float64()*40-20, rng.Float64()*40-20))
	}
	if evs := run(t, e, fixes); seq(evs, border) != "" {
		t.Fatalf("border events while waiting at the line: %s", seq(evs, border))
	}
	evs := run(t, e, drive("waiting", sec+10, 10, [2]float64{22500, 0}, [2]float64{22500, -2000}))
	if got, want := seq(evs, border), `border_cross(inbound,"")`; got != want {
		t.Fatalf("border events on driving on: %s, want %s", got, want)
	}
}

func testCorridor(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	evs := run(t, e, drive("detour", 0, 10, [2]float64{0, -1200}, [2]float64{0, -2000},
		[2]float64{300, -2300}, [2]float64{300, -2800}, [2]float64{0, -3000}, [2]float64{200, -5500}, [2]float64{200, -5700}))
	// The last exit is at the corridor's end, into the yard.
	if got := seq(evs, corridor); got != "zone_enter zone_exit zone_enter zone_exit" {
		t.Fatalf("corridor events %q, want enter, exit, enter, exit", got)
	}
	if got := seq(evs, yard); got != "zone_enter" {
		t.Errorf("yard events %q, want enter", got)
	}
	exit, _ := find(evs, geofence.ZoneExit, corridor)
	// Leaving at 45°: 100 m from the line after 141 m on the diagonal.
	near(t, "corridor exit", exit, 80+14.1, 100, -2100, 1, 10)
}

func testMulti(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	evs := run(t, e, drive("m", 0, 20, [2]float64{9000, -9500}, [2]float64{15000, -9500}))
	if got := seq(evs, multi); got != "zone_enter zone_exit zone_enter zone_exit" {
		t.Fatalf("multipolygon events %q", got)
	}
}

func testHole(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	evs := run(t, e, drive("h", 0, 20, [2]float64{19000, -10000}, [2]float64{25000, -10000}))
	if got := seq(evs, holed); got != "zone_enter zone_exit zone_enter zone_exit" {
		t.Fatalf("events of a polygon with a hole: %q", got)
	}
	near(t, "exit into the hole", evs[1], 100, 21000, -10000, 1, 10)
}

func testEdited(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	ctx := context.Background()
	zones := defaultLayout()
	e := setup(t, newEngine, zones)
	// a and b park in the yard, c next to it.
	parked := []struct {
		id            string
		x, y          float64
		before, after string
	}{
		{"a", -200, -5950, "zone_enter", "zone_exit"},
		{"b", 0, -5750, "zone_enter", ""},
		{"c", 400, -5750, "", "zone_enter"},
	}
	for _, v := range parked {
		evs := run(t, e, []geofence.Position{pos(v.id, 0, v.x, v.y), pos(v.id, 10, v.x, v.y)})
		if got := seq(evs, yard); got != v.before {
			t.Fatalf("%s: yard events %q, want %q", v.id, got, v.before)
		}
	}
	// The yard's fence moves: now x in [-100, 500], y in [-5800, -5500].
	edited := slices.Clone(zones)
	for i := range edited {
		if edited[i].ID == yard {
			edited[i].Geometry = orb.Polygon{square(-100, -5800, 500, -5500)}
			edited[i].Version++
		}
	}
	if err := e.SetZones(ctx, edited); err != nil {
		t.Fatal(err)
	}
	for _, v := range parked {
		evs := run(t, e, []geofence.Position{pos(v.id, 20, v.x, v.y)})
		if got := seq(evs, yard); got != v.after {
			t.Errorf("%s after the edit: yard events %q, want %q", v.id, got, v.after)
		}
		for _, ev := range evs {
			if ev.Time.Before(t0.Add(10*time.Second)) || ev.Time.After(t0.Add(20*time.Second)) {
				t.Errorf("%s: event %v outside the move that saw it", v.id, ev)
			}
		}
	}
}

func testDeleted(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	ctx := context.Background()
	zones := defaultLayout()
	e := setup(t, newEngine, zones)
	if got := seq(run(t, e, []geofence.Position{pos("v", 0, 0, -5750)}), yard); got != "zone_enter" {
		t.Fatalf("yard events %q, want enter", got)
	}
	if err := e.SetZones(ctx, slices.DeleteFunc(slices.Clone(zones), func(z geofence.Zone) bool { return z.ID == yard })); err != nil {
		t.Fatal(err)
	}
	evs := run(t, e, []geofence.Position{pos("v", 10, 0, -5750)})
	if got := seq(evs, yard); got != "zone_exit" {
		t.Fatalf("yard events after deleting it: %q, want exit", got)
	}
	if got := seq(run(t, e, []geofence.Position{pos("v", 20, 0, -5750)}), yard); got != "" {
		t.Fatalf("yard events later: %q, want none", got)
	}
}

func testInvalid(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	ctx := context.Background()
	e := setup(t, newEngine, defaultLayout())
	bad := append(defaultLayout(), geofence.Zone{ID: "bow-tie", Kind: geofence.KindYard,
		Geometry: orb.Polygon{{pt(0, 0), pt(100, 100), pt(100, 0), pt(0, 100), pt(0, 0)}}})
	if err := e.SetZones(ctx, bad); err == nil {
		t.Fatal("SetZones accepted a self-intersecting polygon")
	}
	// The old set stays.
	if got := seq(run(t, e, []geofence.Position{pos("v", 0, 0, -5750)}), yard); got != "zone_enter" {
		t.Fatalf("yard events after a refused SetZones: %q, want enter", got)
	}
}

func testForget(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	run(t, e, []geofence.Position{pos("v", 0, 0, -5750)})
	e.Forget("v")
	if got := seq(run(t, e, []geofence.Position{pos("v", 10, 0, -5750)}), yard); got != "zone_enter" {
		t.Fatalf("yard events after Forget: %q, want enter", got)
	}
}

func testOutOfOrder(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	run(t, e, []geofence.Position{pos("v", 10, 0, -5750)})
	if _, err := e.Update(context.Background(), pos("v", 0, 0, 5000)); !errors.Is(err, geofence.ErrOutOfOrder) {
		t.Fatalf("older position: err %v, want ErrOutOfOrder", err)
	}
	if got := seq(run(t, e, []geofence.Position{pos("v", 20, 0, -7000)}), yard); got != "zone_exit" {
		t.Fatalf("yard events after a refused position: %q, want exit", got)
	}
}

func testConcurrent(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	e := setup(t, newEngine, defaultLayout())
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 32 {
		wg.Go(func() {
			v := fmt.Sprintf("truck-%d", i)
			var all []geofence.Event
			for _, p := range portTrack(v) {
				evs, err := e.Update(context.Background(), p)
				if err != nil {
					errs <- err.Error()
					return
				}
				all = append(all, evs...)
			}
			if got, want := seq(all, border)+" "+seq(all, port1), `border_cross(inbound,"port-1") zone_enter zone_exit`; got != want {
				errs <- fmt.Sprintf("%s: %s, want %s", v, got, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Error(s)
	}
}

func testCrossings(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	ctx := context.Background()
	e := setup(t, newEngine, defaultLayout())
	for _, c := range []struct {
		name     string
		from, to geofence.Position
		want     string
	}{
		{"through port-1", pos("", 0, 0, 5000), pos("", 100, 0, -5000), `border_cross(inbound,"port-1")`},
		{"through port-2", pos("", 0, -40000, -5000), pos("", 100, -40000, 5000), `border_cross(outbound,"port-2")`},
		{"zigzag", pos("", 0, -20000, -5000), pos("", 100, 20000, 5000), `border_cross(outbound,"port-1")`},
		{"along", pos("", 0, -20000, 100), pos("", 100, 20000, 100), ``},
		{"no move", pos("", 0, 0, 0), pos("", 0, 0, 0), ``},
	} {
		evs, err := e.Crossings(ctx, c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		if got := seq(evs, border); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		if c.name == "through port-1" && len(evs) == 1 {
			near(t, c.name, evs[0], 50, 0, 0, 0.5, 10)
		}
	}
	// Crossings leaves the vehicle's state alone.
	if _, err := e.Crossings(ctx, pos("v", 0, 0, 5000), pos("v", 100, 0, -5000)); err != nil {
		t.Fatal(err)
	}
	if got := seq(run(t, e, []geofence.Position{pos("v", 0, 0, -5750)}), yard); got != "zone_enter" {
		t.Fatalf("first Update after Crossings: yard %q, want enter", got)
	}
}

func testContaining(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	ctx := context.Background()
	e := setup(t, newEngine, defaultLayout())
	for _, c := range []struct {
		x, y float64
		want string
	}{
		{0, 500, port1},
		{0, -950, corridor + " " + port1},
		{0, -2000, corridor},
		{90, -2000, corridor},
		{110, -2000, ""},
		{0, -5700, yard},
		{10500, -9500, multi},
		{13500, -9500, multi},
		{12000, -9500, ""},
		{20500, -10000, holed},
		{22000, -10000, ""},
		{0, 20000, ""},
	} {
		p := pt(c.x, c.y)
		zs, err := e.Containing(ctx, p[1], p[0])
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, z := range zs {
			ids = append(ids, z.ID)
		}
		if got := strings.Join(ids, " "); got != c.want {
			t.Errorf("Containing(%v, %v) = %q, want %q", c.x, c.y, got, c.want)
		}
	}
}

func testDistance(t *testing.T, newEngine func(t *testing.T) geofence.Engine) {
	ctx := context.Background()
	e := setup(t, newEngine, defaultLayout())
	for _, c := range []struct {
		zone string
		x, y float64
		want float64
	}{
		{port1, 0, 0, 0},
		{port1, 0, 2000, 1000},
		{port1, 3000, 0, 2000},
		{corridor, 50, -2000, 50},
		{corridor, 0, -2000, 0},
		{corridor, 0, 0, 1000},
		{border, 5000, 700, 700},
		{border, 5000, -300, 300},
		{holed, 22000, -10000, 1000},
	} {
		p := pt(c.x, c.y)
		d, err := e.DistanceM(ctx, c.zone, p[1], p[0])
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(d-c.want) > 1+c.want*0.002 {
			t.Errorf("DistanceM(%s, %v, %v) = %.1f, want %.1f", c.zone, c.x, c.y, d, c.want)
		}
	}
	if _, err := e.DistanceM(ctx, "nowhere", lat0, lon0); !errors.Is(err, geofence.ErrUnknownZone) {
		t.Errorf("DistanceM of an unknown zone: err %v, want ErrUnknownZone", err)
	}
}
