package geofence

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Replies as a Tile38 1.37 server sent them (captured from tile38-server over TCP).
var tile38Frames = []struct {
	name, frame, want string
}{
	{"ok", "+OK\r\n", "OK"},
	{"pong", "+PONG\r\n", "PONG"},
	{"setchan created", ":1\r\n", "1"},
	{"error", "-ERR wrong number of arguments for 'intersects' command\r\n", "ERR(ERR wrong number of arguments for 'intersects' command)"},
	{"get missing id", "$-1\r\n", "nil"},
	{"get object", "$39\r\n{\"type\":\"Point\",\"coordinates\":[171,50]}\r\n", `{"type":"Point","coordinates":[171,50]}`},
	{"intersects ids", "*2\r\n:0\r\n*1\r\n$2\r\nv1\r\n", "[0 [v1]]"},
	{"intersects none", "*2\r\n:0\r\n*0\r\n", "[0 []]"},
	{"psubscribe", "*3\r\n$10\r\npsubscribe\r\n$11\r\ncap:fence:*\r\n:1\r\n", "[psubscribe cap:fence:* 1]"},
	{"pmessage", "*4\r\n$8\r\npmessage\r\n$11\r\ncap:fence:*\r\n$11\r\ncap:fence:z\r\n$211\r\n" +
		`{"command":"set","group":"6b0a5cf8686c821f9681dc9e","detect":"enter","hook":"cap:fence:z","key":"cap:veh","time":"2026-11-28T04:47:52.208785268Z","id":"v1","object":{"type":"Point","coordinates":[111.95,43.62]}}` + "\r\n",
		`[pmessage cap:fence:* cap:fence:z {"command":"set","group":"6b0a5cf8686c821f9681dc9e","detect":"enter","hook":"cap:fence:z","key":"cap:veh","time":"2026-11-28T04:47:52.208785268Z","id":"v1","object":{"type":"Point","coordinates":[111.95,43.62]}}]`},
}

func TestReadRESP(t *testing.T) {
	for _, c := range tile38Frames {
		t.Run(c.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(c.frame + c.frame))
			for range 2 { // twice: a reply must end exactly where the next begins
				v, err := readRESP(r)
				if err != nil {
					t.Fatal(err)
				}
				if got := v.String(); got != c.want {
					t.Errorf("got %s, want %s", got, c.want)
				}
			}
			if _, err := r.ReadByte(); err == nil {
				t.Error("bytes left over")
			}
		})
	}
}

func TestReadRESPMalformed(t *testing.T) {
	for _, frame := range []string{
		"",
		"\r\n",
		"+OK\n",
		"?what\r\n",
		":12x\r\n",
		"$5\r\nabc\r\n",
		"$3\r\nabcde\r\n",
		"$-2\r\n",
		"$99999999999\r\n",
		"*2\r\n:1\r\n",
		"*-5\r\n",
		"*99999999999\r\n",
		strings.Repeat("*1\r\n", respMaxDepth+1) + ":1\r\n",
	} {
		if v, err := readRESP(bufio.NewReader(strings.NewReader(frame))); err == nil {
			t.Errorf("%q: read %v, want an error", frame, v)
		}
	}
}

func TestAppendCmd(t *testing.T) {
	got := string(appendCmd(nil, "SET", "k", "", "POINT"))
	if want := "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n$5\r\nPOINT\r\n"; got != want {
		t.Errorf("appendCmd = %q, want %q", got, want)
	}
	got = string(appendSet(nil, "bw:vehicles", "v 1", 43.7, -111.25))
	if want := "*6\r\n$3\r\nSET\r\n$11\r\nbw:vehicles\r\n$3\r\nv 1\r\n$5\r\nPOINT\r\n$4\r\n43.7\r\n$7\r\n-111.25\r\n"; got != want {
		t.Errorf("appendSet = %q, want %q", got, want)
	}
}

// TestAppendQuery checks the candidate queries are well-formed commands: the array header
// must count the arguments, or the server waits for more and the stream stalls.
func TestAppendQuery(t *testing.T) {
	x := &t38index{key: "bw:zones:1"}
	p := Position{Lat: 43.5, Lon: 111.5}
	q := Position{Lat: 43.6, Lon: 111.75}
	for _, c := range []struct {
		from, to Position
		want     string
	}{
		{p, p, "[INTERSECTS bw:zones:1 LIMIT 1000000 IDS POINT 43.5 111.5]"},
		{p, q, `[INTERSECTS bw:zones:1 LIMIT 1000000 IDS OBJECT {"type":"LineString","coordinates":[[111.5,43.5],[111.75,43.6]]}]`},
	} {
		r := bufio.NewReader(strings.NewReader(string(x.appendQuery(nil, c.from, c.to))))
		v, err := readRESP(r) // a command is a RESP array too
		if err != nil {
			t.Fatal(err)
		}
		if got := v.String(); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
		if r.Buffered() != 0 {
			t.Errorf("%s: %d bytes beyond the array", c.want, r.Buffered())
		}
	}
}

// TestAppendCellQuery: a cell's query is a well-formed command asking for the box widened by
// t38CellPad on every side.
func TestAppendCellQuery(t *testing.T) {
	x := &t38index{key: "bw:zones:1"}
	box := [4]float64{43.5, 111.5, 43.6, 111.75}
	r := bufio.NewReader(strings.NewReader(string(x.appendCellQuery(nil, box))))
	v, err := readRESP(r)
	if err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != 0 {
		t.Errorf("%d bytes beyond the array", r.Buffered())
	}
	if got, want := v.String(), "[INTERSECTS bw:zones:1 LIMIT 1000000 IDS BOUNDS "; len(v.arr) != 10 || !strings.HasPrefix(got, want) {
		t.Fatalf("got %s, want %s and 4 numbers", got, want)
	}
	for i, want := range []float64{box[0] - t38CellPad, box[1] - t38CellPad, box[2] + t38CellPad, box[3] + t38CellPad} {
		if got, err := strconv.ParseFloat(string(v.arr[6+i].str), 64); err != nil || got != want {
			t.Errorf("bound %d: %q, want %v", i, v.arr[6+i].str, want)
		}
	}
	// At the edge of the world the padded box stops there: no latitude beyond 90°.
	v, err = readRESP(bufio.NewReader(strings.NewReader(string(x.appendCellQuery(nil, [4]float64{-90, -180, 90, 180})))))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.String(), "[INTERSECTS bw:zones:1 LIMIT 1000000 IDS BOUNDS -90 -180 90 180]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func FuzzReadRESP(f *testing.F) {
	for _, c := range tile38Frames {
		f.Add([]byte(c.frame))
	}
	f.Add([]byte("*3\r\n$1\r\na\r\n*1\r\n:5\r\n-ERR x\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(strings.NewReader(string(b)))
		for {
			v, err := readRESP(r)
			if err != nil {
				return
			}
			// What was read renders, and a bulk string is never longer than the input.
			_ = v.String()
			if len(v.str) > len(b) {
				t.Fatalf("bulk of %d bytes from %d bytes of input", len(v.str), len(b))
			}
		}
	})
}

// TestTile38Restore plays a Tile38 restart that lost everything (keys and fences dropped,
// connection broken) and a plain broken connection, and checks the engine puts back the
// vehicle, zones and fences, that no event repeats, and that Tile38's fences send no second
// enter for the vehicle already inside.
func TestTile38Restore(t *testing.T) {
	ctx := context.Background()
	e, addr, prefix, yard := restoreEngine(t, "restore")
	line := Zone{ID: "border", Kind: KindBorder, Geometry: orb.LineString{{111.5, 43.70}, {112.5, 43.70}}}
	if err := e.SetZones(ctx, []Zone{yard, line}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	step := 0
	move := func(lat float64) []Event {
		t.Helper()
		step++
		evs, err := e.Update(ctx, Position{VehicleID: "v", Time: t0.Add(time.Duration(step) * 10 * time.Second), Lat: lat, Lon: 111.95})
		if err != nil {
			t.Fatalf("Update after step %d: %v", step, err)
		}
		return evs
	}
	// notice waits for Tile38's next fence message about v, failing on any enter of the yard
	// before it.
	notice := func(zone, detect string, enterAllowed bool) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case n := <-e.Notifications():
				if n.VehicleID != "v" {
					continue
				}
				if n.ZoneID == zone && n.Detect == detect {
					return
				}
				if n.ZoneID == "yard" && n.Detect == "enter" && !enterAllowed {
					t.Fatalf("a second enter notification while waiting for %s %s", zone, detect)
				}
			case <-timeout:
				t.Fatalf("no %s notification of %s", detect, zone)
			}
		}
	}
	move(43.80)
	if evs := move(43.62); len(evs) != 2 || evs[0].Type != BorderCross || evs[1].Type != ZoneEnter {
		t.Fatalf("driving into the yard: %v, want border_cross and zone_enter", evs)
	}
	notice("yard", "enter", true)

	other, err := dialRESP(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.fail(errRESPClosed)
	x := e.idx.Load()
	for _, c := range []struct {
		name  string
		wipe  []byte
		nwipe int
	}{
		{"connection broken", nil, 0},
		{"server lost everything", append(append(appendCmd(nil, "DROP", prefix+":vehicles"),
			appendCmd(nil, "DROP", x.key)...), appendCmd(nil, "PDELCHAN", prefix+":fence:*")...), 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.wipe != nil {
				rs, err := other.do(ctx, c.wipe, c.nwipe)
				if err != nil || firstError(rs) != nil {
					t.Fatalf("wiping: %v %v", err, rs)
				}
			}
			e.client.kill()
			if evs := move(43.62); len(evs) != 0 {
				t.Fatalf("events after the reconnect, staying put: %v", evs)
			}
			rs, err := other.do(ctx, append(append(appendCmd(nil, "GET", prefix+":vehicles", "v"),
				appendCmd(nil, "GET", x.key, "yard")...), appendCmd(nil, "CHANS", prefix+":fence:*")...), 3)
			if err != nil {
				t.Fatal(err)
			}
			if rs[0].typ != '$' || rs[1].typ != '$' || len(rs[2].arr) != 2 {
				t.Fatalf("after the reconnect: vehicle %v, zone %v, fences %v", rs[0], rs[1], rs[2])
			}
		})
	}
	// Leaving: one exit, from the engine and from Tile38's fence, and no enter in between.
	var evs []Event
	for _, lat := range []float64{43.61, 43.59, 43.55} {
		evs = append(evs, move(lat)...)
	}
	if len(evs) != 1 || evs[0].Type != ZoneExit {
		t.Fatalf("leaving the yard: %v, want one zone_exit", evs)
	}
	notice("yard", "exit", false)

	// A zone deleted takes its fence along; the others stay.
	if err := e.SetZones(ctx, []Zone{yard}); err != nil {
		t.Fatal(err)
	}
	rs, err := other.do(ctx, appendCmd(nil, "CHANS", prefix+":fence:*"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs[0].arr) != 1 || string(rs[0].arr[0].arr[0].str) != prefix+":fence:yard" {
		t.Fatalf("fences after deleting the border: %v", rs[0])
	}
}

// TestCorridorCover checks the polygon stored for a corridor covers every point the exact
// geometry puts inside it, so Tile38's candidates never miss a corridor.
func TestCorridorCover(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for k := range 50 {
		lat0, lon0 := 40+rng.Float64()*6, 97+rng.Float64()*23
		line := orb.LineString{{lon0, lat0}}
		for range 1 + rng.Intn(6) {
			p := line[len(line)-1]
			line = append(line, orb.Point{p[0] + (rng.Float64()-0.5)*0.05, p[1] + (rng.Float64()-0.5)*0.05})
		}
		z := Zone{ID: "c", Kind: KindCorridor, WidthM: 50 + rng.Float64()*1000, Geometry: line}
		s := compile(z, 0)
		cover := corridorCover(s)
		b := s.bbox
		for range 2000 {
			lon, lat := b[0]+rng.Float64()*(b[2]-b[0]), b[1]+rng.Float64()*(b[3]-b[1])
			if s.distanceM(lat, lon) <= s.width && !planar.MultiPolygonContains(cover, orb.Point{lon, lat}) {
				t.Fatalf("corridor %d: (%v, %v) is %.1f m from the line of a %.0f m corridor but outside the cover",
					k, lat, lon, s.distanceM(lat, lon), s.width)
			}
		}
	}
}

func TestRESPClientClosed(t *testing.T) {
	c := &respClient{addr: "127.0.0.1:1", timeout: time.Second}
	c.close()
	if _, err := c.do(context.Background(), appendCmd(nil, "PING"), 1); !errors.Is(err, errRESPClosed) {
		t.Fatalf("do on a closed client: %v, want errRESPClosed", err)
	}
}

// TestTile38QueriesRestoreZones: the server lost its zones and only the queries' connection
// has noticed (it broke; the SETs' connection has not been used since): a vehicle's first
// move into a zone must still be answered with the zone, so that connection puts the zones
// back before its first query.
func TestTile38QueriesRestoreZones(t *testing.T) {
	ctx := context.Background()
	e, addr, _, yard := restoreEngine(t, "qrestore")
	if err := e.SetZones(ctx, []Zone{yard}); err != nil {
		t.Fatal(err)
	}
	other, err := dialRESP(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.fail(errRESPClosed)
	if rs, err := other.do(ctx, appendCmd(nil, "DROP", e.idx.Load().key), 1); err != nil || firstError(rs) != nil {
		t.Fatalf("dropping the zones: %v %v", err, rs)
	}
	e.qry.kill()
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	if _, err := e.Update(ctx, Position{VehicleID: "v", Time: t0, Lat: 43.70, Lon: 111.95}); err != nil {
		t.Fatal(err)
	}
	evs, err := e.Update(ctx, Position{VehicleID: "v", Time: t0.Add(time.Minute), Lat: 43.62, Lon: 111.95})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != ZoneEnter || evs[0].ZoneID != "yard" {
		t.Fatalf("driving into the yard after the zones were lost: %v, want one zone_enter", evs)
	}
}

// restoreEngine skips without TILE38_ADDR, or returns an engine on keys of its own (dropped
// after the test), the server's address, the key prefix and a yard zone (not set).
func restoreEngine(t *testing.T, name string) (e *Tile38, addr, prefix string, yard Zone) {
	t.Helper()
	addr = os.Getenv("TILE38_ADDR")
	if addr == "" {
		t.Skip("TILE38_ADDR not set: Tile38 backend tests need a running tile38-server (see README)")
	}
	prefix = fmt.Sprintf("bwtest-%s-%d-%d", name, os.Getpid(), time.Now().UnixNano())
	e, err := NewTile38(context.Background(), addr+"/"+prefix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Drop(context.Background())
		e.Close()
	})
	yard = Zone{ID: "yard", Kind: KindYard, Geometry: orb.Polygon{{{111.90, 43.60}, {112.00, 43.60}, {112.00, 43.65}, {111.90, 43.65}, {111.90, 43.60}}}}
	return e, addr, prefix, yard
}
