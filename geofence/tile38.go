package geofence

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// Tile38 is the engine backed by a Tile38 server. Vehicles live in the collection
// <prefix>:vehicles, zones in <prefix>:zones:<engine>.<generation> and as Tile38 fences: one channel
// <prefix>:fence:<zone id> per zone (areas WITHIN … DETECT enter,exit, corridors the same
// with BUFFER width_m around the line, the border INTERSECTS … DETECT cross).
//
// Events come from direct queries, not from the fence notifications. A Tile38 fence fires on
// each SET, asynchronously, judging the new point alone (cross aside), while Update must
// return the events of a move synchronously and see a crossing between two sparse fixes. So
// each Update posts the SET of the vehicle (or holds it, within a read, where no fence can
// tell its positions apart: see place), and the zones a move may touch come from an
// INTERSECTS of the zones with a box around it, the vehicle's cell (t38cell): kept by the
// vehicle, it answers its later moves within it without another query, and a move out of it
// asks for a new cell. The queries have a connection of their own, so that one does not wait
// behind the SETs posted before it (up to 4,096 of them). Corridors are stored
// in the zone collection as polygons covering them, so no BUFFER is needed there. The zones
// Tile38 names are the candidates (a zone it does not name is not touched by the move); where
// along the move each fence was crossed is then computed with the zones' exact geometry, the
// same code the embedded engine uses, and the shared States apply the hysteresis. That is what
// makes both engines give the same events. Containing and Crossings ask Tile38 about the point
// or the segment itself (a POINT, a LineString); DistanceM uses the
// exact geometry alone (Tile38 has no point-to-line distance). While Tile38 is unreachable,
// Update returns the error: there is no fallback to in-process answers. The fences' own notifications are still consumed (PSUBSCRIBE) and offered by
// Notifications, for consumers that want Tile38's view.
//
// On a new connection (first, or after a broken one) the client restores what a restarted
// server may have lost before anything else is sent: the vehicles' last positions first, then
// the zones and fences, so the fences are created around vehicles already in place and fire
// no spurious enter; the States live in this process, so no event is repeated either. The
// queries' connection restores the zones it queries (not the fences): it may reconnect to a
// restarted server before the SETs' connection does.
type Tile38 struct {
	prefix   string
	vehicles string // <prefix>:vehicles, the vehicles' collection
	// owner names this engine's zone collections (<owner>.<generation>) and its connections
	// (CLIENT SETNAME): trackers sharing a prefix each keep their own collections, and a
	// collection whose owner has no connection left is an engine's that is gone.
	owner  string
	client *respClient // SETs, zones, fences
	qry    *respClient // candidate queries
	states *States
	log    *slog.Logger

	zmu  sync.Mutex // serialises SetZones
	idx  atomic.Pointer[t38index]
	last lastPositions

	cellQueries atomic.Uint64

	notes   chan FenceNotification
	dropped atomic.Uint64
	sub     *respClient
	done    chan struct{}
	closed  atomic.Bool
	wg      sync.WaitGroup
}

var _ Engine = (*Tile38)(nil)

// FenceNotification is one message from a Tile38 fence.
type FenceNotification struct {
	ZoneID    string
	VehicleID string
	Detect    string // enter, exit, cross, inside, outside
	Time      time.Time
}

// t38index is one zone set: the exact geometry, and the Tile38 collection holding it.
type t38index struct {
	*index
	t     *Tile38
	zones []Zone
	key   string   // <prefix>:zones:<generation>; "" before the first SetZones
	fence [][]byte // the SETCHAN commands, encoded
}

const (
	tile38DialTimeout = 5 * time.Second
	tile38Limit       = "1000000" // LIMIT of candidate queries: all of them
)

// NewTile38 connects to the Tile38 server at addr ("host:port", optionally followed by
// "/prefix" to name the keys; the prefix defaults to "bw") and returns an engine without
// zones. ctx bounds the connection attempt.
func NewTile38(ctx context.Context, addr string, opts Options) (*Tile38, error) {
	host, prefix, _ := strings.Cut(addr, "/")
	if prefix == "" {
		prefix = "bw"
	}
	if strings.ContainsAny(prefix, " *?[]") {
		return nil, fmt.Errorf("geofence: Tile38 key prefix %q: no spaces or glob characters", prefix)
	}
	t := &Tile38{
		prefix:   prefix,
		vehicles: prefix + ":vehicles",
		owner:    prefix + ":zones:" + strings.ToLower(rand.Text()[:13]),
		states:   NewStates(opts),
		log:      slog.Default(),
		notes:    make(chan FenceNotification, 1024),
		done:     make(chan struct{}),
	}
	t.last.seed = maphash.MakeSeed()
	for i := range t.last.shards {
		t.last.shards[i].m = map[string][2]float64{}
	}
	t.idx.Store(&t38index{index: newIndex(nil), t: t})
	t.client = &respClient{addr: host, timeout: tile38DialTimeout, onConnect: t.restore}
	if _, err := t.client.get(ctx); err != nil {
		return nil, err
	}
	t.qry = &respClient{addr: host, timeout: tile38DialTimeout, onConnect: t.restoreZones}
	if _, err := t.qry.get(ctx); err != nil {
		t.client.close()
		return nil, err
	}
	t.sub = &respClient{addr: host, timeout: tile38DialTimeout}
	t.wg.Go(t.subscribe)
	return t, nil
}

// ParseTile38URL turns tile38://host[:port][/prefix] into the addr NewTile38 takes; the port
// defaults to Tile38's 9851.
func ParseTile38URL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("geofence: Tile38 URL %q: %w", s, err)
	}
	if u.Scheme != "tile38" || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("geofence: Tile38 URL %q: want tile38://host:port[/prefix]", s)
	}
	port := u.Port()
	if port == "" {
		port = "9851"
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	if p := strings.Trim(u.Path, "/"); p != "" {
		addr += "/" + p
	}
	return addr, nil
}

func (t *Tile38) vehiclesKey() string { return t.vehicles }
func (t *Tile38) fencePrefix() string { return t.prefix + ":fence:" }

// restore runs on every new connection: it checks the server is Tile38 and puts back the
// vehicles, zones and fences.
func (t *Tile38) restore(ctx context.Context, l *respLink) error {
	b := appendCmd(appendCmd(nil, "SERVER"), "CLIENT", "SETNAME", t.owner)
	n := 2
	vk := t.vehiclesKey()
	t.last.each(func(id string, ll [2]float64) {
		b = appendSet(b, vk, id, ll[0], ll[1])
		n++
	})
	x := t.idx.Load()
	if x.key != "" {
		var k int
		b, k = x.appendZones(b)
		n += k
	}
	return restoreDo(ctx, l, b, n)
}

// restoreZones runs on every new connection of the queries: it checks the server is Tile38
// and puts back the zone collection the queries ask about.
func (t *Tile38) restoreZones(ctx context.Context, l *respLink) error {
	b := appendCmd(appendCmd(nil, "SERVER"), "CLIENT", "SETNAME", t.owner)
	n := 2
	if x := t.idx.Load(); x.key != "" {
		var k int
		b, k = x.appendZoneObjects(b)
		n += k
	}
	return restoreDo(ctx, l, b, n)
}

// restoreDo sends a restore's batch, which begins with SERVER, and checks the replies.
func restoreDo(ctx context.Context, l *respLink, b []byte, n int) error {
	rs, err := l.do(ctx, b, n)
	if err != nil {
		return err
	}
	if rs[0].typ == '-' {
		return fmt.Errorf("not a Tile38 server (SERVER: %s)", rs[0].str)
	}
	return firstError(rs)
}

// appendZones appends the SETs of the zones and their SETCHANs.
func (x *t38index) appendZones(b []byte) ([]byte, int) {
	b, n := x.appendZoneObjects(b)
	for _, f := range x.fence {
		b = append(b, f...)
		n++
	}
	return b, n
}

// appendZoneObjects appends the SETs of the zones. A corridor is stored as a polygon covering
// it (see corridorCover), so that the candidate queries need no BUFFER: Tile38 buffering the
// query of every Update cost five times the rest of the query.
func (x *t38index) appendZoneObjects(b []byte) ([]byte, int) {
	n := 0
	for _, z := range x.zones {
		geom := z.Geometry
		if z.Kind == KindCorridor {
			geom = corridorCover(x.byID[z.ID])
		}
		g, _ := geojson.NewGeometry(geom).MarshalJSON()
		b = appendArrayHeader(b, 5)
		b = appendBulk(b, "SET")
		b = appendBulk(b, x.key)
		b = appendBulk(b, z.ID)
		b = appendBulk(b, "OBJECT")
		b = appendBulkBytes(b, g)
		n++
	}
	return b, n
}

// corridorCover returns rectangles covering the corridor's capsules: each segment's, widened
// by a little more than the width on every side, in the same frame the exact geometry uses, so
// whatever the exact test finds within the corridor Tile38 finds within the cover. Rectangles
// may overlap; Tile38 only tests intersection with them.
func corridorCover(s *shape) orb.MultiPolygon {
	w := s.width*1.01 + 1
	var mp orb.MultiPolygon
	for _, g := range s.segs {
		dx, dy := (g.bx-g.ax)*g.kx, (g.by-g.ay)*g.ky
		ux, uy := 1.0, 0.0
		if l := math.Hypot(dx, dy); l > 0 {
			ux, uy = dx/l, dy/l
		}
		nx, ny := -uy, ux
		at := func(x, y float64) orb.Point { return orb.Point{g.ax + x/g.kx, g.ay + y/g.ky} }
		r := orb.Ring{
			at(-ux*w-nx*w, -uy*w-ny*w),
			at(dx+ux*w-nx*w, dy+uy*w-ny*w),
			at(dx+ux*w+nx*w, dy+uy*w+ny*w),
			at(-ux*w+nx*w, -uy*w+ny*w),
		}
		mp = append(mp, orb.Polygon{append(r, r[0])})
	}
	return mp
}

// fenceCmd returns the SETCHAN of zone z.
func fenceCmd(chname, vehicles string, z Zone) []byte {
	g, _ := geojson.NewGeometry(z.Geometry).MarshalJSON()
	switch z.Kind {
	case KindBorder:
		return appendCmd(nil, "SETCHAN", chname, "INTERSECTS", vehicles, "FENCE", "DETECT", "cross", "OBJECT", string(g))
	case KindCorridor:
		return appendCmd(nil, "SETCHAN", chname, "WITHIN", vehicles, "BUFFER", strconv.FormatFloat(z.WidthM, 'f', -1, 64),
			"FENCE", "DETECT", "enter,exit", "OBJECT", string(g))
	default:
		return appendCmd(nil, "SETCHAN", chname, "WITHIN", vehicles, "FENCE", "DETECT", "enter,exit", "OBJECT", string(g))
	}
}

func appendSet(b []byte, key, id string, lat, lon float64) []byte {
	b = appendArrayHeader(b, 6)
	b = appendBulk(b, "SET")
	b = appendBulk(b, key)
	b = appendBulk(b, id)
	b = appendBulk(b, "POINT")
	b = appendBulkFloat(b, lat)
	return appendBulkFloat(b, lon)
}

// SetZones validates the zones and replaces the whole set: a new zone collection is written,
// the fences are set (those of deleted zones deleted), and then the engine switches to the new
// set. The collection before
// is kept until the next SetZones, for queries still in flight.
func (t *Tile38) SetZones(ctx context.Context, zones []Zone) error {
	if t.closed.Load() {
		return ErrClosed
	}
	if err := checkZones(zones); err != nil {
		return err
	}
	t.zmu.Lock()
	defer t.zmu.Unlock()
	old := t.idx.Load()
	zones = slices.Clone(zones)
	x := &t38index{index: newIndex(zones), t: t, zones: zones,
		key: t.owner + "." + strconv.FormatInt(time.Now().UnixNano(), 36)}
	if x.key == old.key { // a coarse clock must not reuse a generation
		x.key = old.key + "0"
	}
	for _, z := range zones {
		x.fence = append(x.fence, fenceCmd(t.fencePrefix()+z.ID, t.vehiclesKey(), z))
	}
	// SETCHAN replaces a fence of the same name in place; only fences of zones gone are
	// deleted, so the fences of unchanged zones never miss a message.
	// Zone collections are dropped by their owner when it moves on (but the one before, for
	// queries in flight), or by anyone once their owner has no connection left (it died, or a
	// version that named them otherwise). A fence is shared by the engines of a prefix, which
	// set it alike from the same zones: a zone some still have is set again at their next
	// change or reconnection.
	b := appendCmd(nil, "KEYS", t.prefix+":zones:*")
	b = appendCmd(b, "CHANS", t.fencePrefix()+"*")
	rs, err := t.client.do(ctx, appendCmd(b, "CLIENT", "LIST"), 3)
	if err != nil {
		return err
	}
	if err := firstError(rs); err != nil {
		return err
	}
	live := map[string]bool{}
	for line := range strings.Lines(string(rs[2].str)) {
		for f := range strings.FieldsSeq(line) {
			if name, ok := strings.CutPrefix(f, "name="); ok && name != "" {
				live[name] = true
			}
		}
	}
	b = nil
	n := 0
	for _, k := range rs[0].arr {
		key := string(k.str)
		owner := key[:max(strings.LastIndexByte(key, '.'), 0)] // a prefix may hold dots; a generation none
		if owner == t.owner && key != old.key || owner != t.owner && !live[owner] {
			b = appendCmd(b, "DROP", key)
			n++
		}
	}
	for _, ch := range rs[1].arr {
		if len(ch.arr) == 0 {
			continue
		}
		name := string(ch.arr[0].str)
		if _, ok := x.byID[strings.TrimPrefix(name, t.fencePrefix())]; !ok {
			b = appendCmd(b, "DELCHAN", name)
			n++
		}
	}
	b, k := x.appendZones(b)
	if rs, err = t.client.do(ctx, b, n+k); err != nil {
		return err
	}
	if err := firstError(rs); err != nil {
		return fmt.Errorf("geofence: Tile38 refused the zones: %w", err)
	}
	t.idx.Store(x)
	return nil
}

// checkZones is SetZones' validation, the same as the embedded engine's.
func checkZones(zones []Zone) error {
	var errs []string
	seen := make(map[string]bool, len(zones))
	for i, z := range zones {
		if err := z.Validate(); err != nil {
			errs = append(errs, fmt.Sprintf("zone %d (%q): %v", i, z.ID, err))
		}
		if seen[z.ID] {
			errs = append(errs, fmt.Sprintf("zone %d (%q): duplicate id", i, z.ID))
		}
		seen[z.ID] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("geofence: invalid zones: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Update moves a vehicle; see Engine and the type's comment.
func (t *Tile38) Update(ctx context.Context, p Position) ([]Event, error) {
	if t.closed.Load() {
		return nil, ErrClosed
	}
	return t.states.Update(ctx, t.idx.Load(), p)
}

// t38scratch is what the backend keeps of a vehicle across its moves: the cell its moves were
// last asked about, and which of its positions Tile38 was sent (see held).
type t38scratch struct {
	cell t38cell
	// readEnd is the time (Unix ns) of the newest fix of the vehicle's read being evaluated,
	// from Prefetch, and readLeft how many of its moves are still to come: such a move before
	// readEnd is followed by another of the same read. Counted, so that a read whose newest
	// fix is refused leaves no later move unsent.
	readEnd  int64
	readLeft int
	// placed: Tile38 was sent a position of the vehicle. held: the vehicle's last position
	// was not sent, and since is the box (minLat, minLon, maxLat, maxLon) of the positions
	// from the last one sent on.
	placed, held bool
	since        [4]float64
}

// t38cell is a box and the zones Tile38 named as touching it. Every zone a move within the box
// touches is among them, so such a move needs no query: the exact geometry decides, among
// these zones, what it crosses, as it does among the zones a query of the move itself would
// name. A cell belongs to one zone set (of) and is dropped with it.
type t38cell struct {
	of    *t38index
	box   [4]float64 // minLat, minLon, maxLat, maxLon
	zones []int32    // the zones' shape ids, sorted
	// fences are boxes (minLat, minLon, maxLat, maxLon) covering, within the box, where
	// Tile38's fences of these zones can tell two positions apart: the areas' edges, the
	// corridors' lines widened by twice their width, the border's line (see quiet).
	fences [][4]float64
}

// t38CellMargin is how far, in degrees, a queried cell reaches beyond the positions it was
// asked for: about 2 km north and south, 1.6 km east and west at the district's latitudes.
// A wider cell is asked for less often and names more zones to test exactly; at 2 km a
// vehicle reporting every 10 s at 80 km/h needs a query every ten fixes or so, one whose
// fixes are 8 m apart (the bench's terminals) one every few hundred.
const t38CellMargin = 0.02

// t38CellPad is how far the box asked of Tile38 reaches beyond the cell, so that a move on a
// cell's edge is well inside what Tile38 tested.
const t38CellPad = 0.0001

// covers reports whether the cell of zone set x holds the points.
func (c *t38cell) covers(x *t38index, ps ...Position) bool {
	if c.of != x {
		return false
	}
	for _, p := range ps {
		if p.Lat < c.box[0] || p.Lon < c.box[1] || p.Lat > c.box[2] || p.Lon > c.box[3] {
			return false
		}
	}
	return true
}

// quiet reports whether no fence of Tile38 can tell apart any two positions of box (minLat,
// minLon, maxLat, maxLon), nor fire on a line between them: the box is within the cell and
// touches none of its fences' boxes. A WITHIN fence (an area, a corridor's BUFFER) fires enter
// or exit on a SET whose position is inside it where the previous one was not or the other
// way round, and a box crossing none of its edges is inside or outside it all along; the
// border's INTERSECTS fires cross on a SET whose line from the previous position meets the
// border, which no line within the box does.
func (c *t38cell) quiet(box [4]float64) bool {
	if box[0] < c.box[0] || box[1] < c.box[1] || box[2] > c.box[2] || box[3] > c.box[3] {
		return false
	}
	for _, f := range c.fences {
		if box[0] <= f[2] && box[2] >= f[0] && box[1] <= f[3] && box[3] >= f[1] {
			return false
		}
	}
	return true
}

// t38FencePad is how far, in degrees (~10 m), a fence's box in a cell reaches beyond the
// geometry it covers: Tile38 tests points with its own arithmetic, and a point on an edge may
// fall either side of it.
const t38FencePad = 0.0001

// fenceBoxes returns the boxes of the cell's fences (see t38cell.fences) that reach into box.
func (x *t38index) fenceBoxes(box [4]float64, zones []int32) [][4]float64 {
	var out [][4]float64
	add := func(g *segment, dx, dy float64) {
		lo, hi := g.box()
		f := [4]float64{lo[1] - dy, lo[0] - dx, hi[1] + dy, hi[0] + dx}
		if f[0] <= box[2] && f[2] >= box[0] && f[1] <= box[3] && f[3] >= box[1] {
			out = append(out, f)
		}
	}
	for _, id := range zones {
		s := x.shapes[id]
		for i := range s.edges {
			add(&s.edges[i], t38FencePad, t38FencePad)
		}
		for i := range s.segs {
			g := &s.segs[i]
			dx, dy := 0.0, 0.0
			if s.zone.Kind == KindCorridor {
				// Tile38's BUFFER is its own approximation of the width around the line:
				// twice the width is beyond any of it.
				dx, dy = widen(g.ay, g.by, 2*s.width)
			}
			add(g, dx+t38FencePad, dy+t38FencePad)
		}
	}
	return out
}

// keeps reports whether Tile38 named s for the cell.
func (c *t38cell) keeps(s *shape) bool {
	_, ok := slices.BinarySearch(c.zones, s.id)
	return ok
}

// cellAround returns the box of the points widened by t38CellMargin.
func cellAround(ps ...Position) [4]float64 {
	b := [4]float64{ps[0].Lat, ps[0].Lon, ps[0].Lat, ps[0].Lon}
	for _, p := range ps[1:] {
		b = [4]float64{min(b[0], p.Lat), min(b[1], p.Lon), max(b[2], p.Lat), max(b[3], p.Lon)}
	}
	return widenBox(b, t38CellMargin)
}

// unionBox returns the smallest box (minLat, minLon, maxLat, maxLon) holding a and b.
func unionBox(a, b [4]float64) [4]float64 {
	return [4]float64{min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])}
}

// widenBox returns the box (minLat, minLon, maxLat, maxLon) widened by d degrees on every side,
// within the world.
func widenBox(b [4]float64, d float64) [4]float64 {
	return [4]float64{max(b[0]-d, -90), max(b[1]-d, -180), min(b[2]+d, 90), min(b[3]+d, 180)}
}

// appendCellQuery appends the INTERSECTS of the zones with the box (padded by t38CellPad)
// returning IDs.
func (x *t38index) appendCellQuery(b []byte, box [4]float64) []byte {
	box = widenBox(box, t38CellPad)
	b = appendArrayHeader(b, 10)
	b = appendBulk(b, "INTERSECTS")
	b = appendBulk(b, x.key)
	b = appendBulk(b, "LIMIT")
	b = appendBulk(b, tile38Limit)
	b = appendBulk(b, "IDS")
	b = appendBulk(b, "BOUNDS")
	b = appendBulkFloat(b, box[0])
	b = appendBulkFloat(b, box[1])
	b = appendBulkFloat(b, box[2])
	return appendBulkFloat(b, box[3])
}

// newCell makes the cell of box from Tile38's reply to its query.
func (x *t38index) newCell(box [4]float64, reply respValue) (t38cell, error) {
	ids, err := candidates(reply, nil)
	if err != nil {
		return t38cell{}, err
	}
	c := t38cell{of: x, box: box, zones: make([]int32, 0, len(ids))}
	for _, id := range ids {
		if s := x.byID[id]; s != nil {
			c.zones = append(c.zones, s.id)
		}
	}
	slices.Sort(c.zones)
	c.fences = x.fenceBoxes(box, c.zones)
	return c, nil
}

// Prefetch asks Tile38, in one round trip, for a cell holding all of a vehicle's coming
// positions (and the one it is at), unless its cell holds them already; see Prefetcher. An
// error leaves the Updates to ask.
func (t *Tile38) Prefetch(ctx context.Context, ps []Position) {
	x := t.idx.Load()
	if len(ps) == 0 || t.closed.Load() || x.key == "" {
		return
	}
	for _, p := range ps {
		if p.VehicleID != ps[0].VehicleID {
			return
		}
	}
	box := cellAround(ps...)
	covered := false
	t.states.prepare(ps[0].VehicleID, func(last Position, seen bool, scratch *any) {
		sc, _ := (*scratch).(*t38scratch)
		if sc == nil {
			sc = &t38scratch{}
			*scratch = sc
		}
		sc.readEnd, sc.readLeft = ps[0].Time.UnixNano(), len(ps)
		for _, p := range ps[1:] {
			sc.readEnd = max(sc.readEnd, p.Time.UnixNano())
		}
		if seen {
			covered = sc.cell.covers(x, last) && sc.cell.covers(x, ps...)
			box = unionBox(box, cellAround(last)) // the widened box of last and ps
		}
	})
	if covered {
		return
	}
	t.cellQueries.Add(1)
	rs, err := t.qry.do(ctx, x.appendCellQuery(nil, box), 1)
	if err != nil {
		return
	}
	c, err := x.newCell(box, rs[0])
	if err != nil {
		return
	}
	t.states.prepare(ps[0].VehicleID, func(_ Position, _ bool, scratch *any) {
		(*scratch).(*t38scratch).cell = c
	})
}

// candidates returns the IDs of an INTERSECTS … IDS reply.
func candidates(v respValue, ids []string) ([]string, error) {
	if v.typ == '-' {
		return nil, respError(v.str)
	}
	if v.typ != '*' || len(v.arr) != 2 || v.arr[1].typ != '*' {
		return nil, fmt.Errorf("tile38: unexpected INTERSECTS reply %v", v)
	}
	for _, id := range v.arr[1].arr {
		ids = append(ids, string(id.str))
	}
	return ids, nil
}

// t38work is an Update's working space: the exact geometry's buffers and the SET being
// encoded. It holds nothing from one move to the next, so it comes from a pool, not from
// every vehicle.
type t38work struct {
	scratch
	buf []byte
}

var t38works = sync.Pool{New: func() any { return new(t38work) }}

// Observe posts the vehicle's SET and reports the move with exact geometry against the zones
// of its cell, as the embedded engine does against all; a move out of the vehicle's cell first
// asks for a new cell around the move. The SET's reply is not waited for: the events come from
// the cell and the exact geometry, not from Tile38's copy of the vehicle, and the promise of an
// acknowledgement is about the store. Should the SET be lost with its connection, the next
// connection restores every vehicle's last position before anything else; a connection known
// to be broken fails the post, so a fix is not acknowledged while Tile38 is unreachable
// (TestTile38Outage).
func (x *t38index) Observe(ctx context.Context, m *Move) error {
	sc, _ := m.Scratch.(*t38scratch)
	if sc == nil {
		sc = &t38scratch{}
		m.Scratch = sc
	}
	w := t38works.Get().(*t38work)
	defer t38works.Put(w)
	if x.key != "" && !sc.cell.covers(x, m.From, m.To) {
		box := cellAround(m.From, m.To)
		x.t.cellQueries.Add(1)
		rs, err := x.t.qry.do(ctx, x.appendCellQuery(w.buf[:0], box), 1)
		if err != nil {
			return err
		}
		if sc.cell, err = x.newCell(box, rs[0]); err != nil {
			return err
		}
	}
	if err := x.place(ctx, w, sc, m); err != nil {
		return err
	}
	x.observe(&w.scratch, m, sc.cell.keeps)
	return nil
}

// place sends Tile38 the vehicle's SET, or holds it: a move of a prefetched read followed by
// another of the read, where no fence can tell apart the positions since the last one sent
// (t38cell.quiet), is not sent. Tile38's fences then fire as they would have on every SET: on
// none of those held, and on the next one sent as on the move before it, since a move that is
// not quiet sends the position it starts from first if that was held. After each read Tile38
// holds the vehicle's newest position. The events come from the cell and the exact geometry
// either way.
func (x *t38index) place(ctx context.Context, w *t38work, sc *t38scratch, m *Move) error {
	box := [4]float64{m.To.Lat, m.To.Lon, m.To.Lat, m.To.Lon}
	if sc.held {
		box = unionBox(box, sc.since)
	} else {
		box = unionBox(box, [4]float64{m.From.Lat, m.From.Lon, m.From.Lat, m.From.Lon})
	}
	later := false
	if sc.readLeft > 0 {
		sc.readLeft--
		later = m.To.Time.UnixNano() < sc.readEnd
	}
	quiet := x.key != "" && sc.placed && sc.cell.quiet(box)
	// Nothing is held on a link known to be broken: the post fails, so that no fix is
	// acknowledged while Tile38 is unreachable, as without holding.
	if quiet && later && x.t.client.up() {
		sc.held, sc.since = true, box
		return nil
	}
	// Recorded before the post: a link that dies with the SET unsent is replaced by one whose
	// restore reads this (a restore that ran first made the post take the new link). A
	// refused fix may leave its position here, to be restored; its terminal sends it again.
	// A held position is not recorded: a restore puts back the last one sent, where Tile38
	// had the vehicle.
	x.t.last.set(m.To.VehicleID, m.To.Lat, m.To.Lon)
	w.buf = w.buf[:0]
	n := 1
	if sc.held && !quiet {
		w.buf, n = appendSet(w.buf, x.t.vehiclesKey(), m.From.VehicleID, m.From.Lat, m.From.Lon), 2
	}
	w.buf = appendSet(w.buf, x.t.vehiclesKey(), m.To.VehicleID, m.To.Lat, m.To.Lon)
	if err := x.t.client.post(ctx, w.buf, n); err != nil {
		return err
	}
	sc.placed, sc.held = true, false
	return nil
}

// appendQuery appends the INTERSECTS of the zones with the move from→to returning IDs: the
// query of Crossings and Containing, which have no cell to use.
func (x *t38index) appendQuery(b []byte, from, to Position) []byte {
	n := 5
	point := from.Lat == to.Lat && from.Lon == to.Lon
	if point {
		n += 3 // POINT lat lon
	} else {
		n += 2 // OBJECT geojson
	}
	b = appendArrayHeader(b, n)
	b = appendBulk(b, "INTERSECTS")
	b = appendBulk(b, x.key)
	b = appendBulk(b, "LIMIT")
	b = appendBulk(b, tile38Limit)
	b = appendBulk(b, "IDS")
	if point {
		b = appendBulk(b, "POINT")
		b = appendBulkFloat(b, to.Lat)
		return appendBulkFloat(b, to.Lon)
	}
	b = appendBulk(b, "OBJECT")
	var tmp [128]byte
	g := append(tmp[:0], `{"type":"LineString","coordinates":[[`...)
	g = strconv.AppendFloat(g, from.Lon, 'f', -1, 64)
	g = append(g, ',')
	g = strconv.AppendFloat(g, from.Lat, 'f', -1, 64)
	g = append(g, "],["...)
	g = strconv.AppendFloat(g, to.Lon, 'f', -1, 64)
	g = append(g, ',')
	g = strconv.AppendFloat(g, to.Lat, 'f', -1, 64)
	g = append(g, "]]}"...)
	return appendBulkBytes(b, g)
}

// query runs one candidate query and returns the IDs.
func (t *Tile38) query(ctx context.Context, x *t38index, from, to Position) ([]string, error) {
	if x.key == "" {
		return nil, nil
	}
	rs, err := t.qry.do(ctx, x.appendQuery(nil, from, to), 1)
	if err != nil {
		return nil, err
	}
	return candidates(rs[0], nil)
}

// Crossings returns the raw border crossings of a segment; see Engine.
func (t *Tile38) Crossings(ctx context.Context, from, to Position) ([]Event, error) {
	if t.closed.Load() {
		return nil, ErrClosed
	}
	x := t.idx.Load()
	cands, err := t.query(ctx, x, from, to)
	if err != nil {
		return nil, err
	}
	return x.borderCrossingEvents(from, to, func(id string) bool { return slices.Contains(cands, id) }), nil
}

// Containing returns the areas and corridors holding the point: Tile38's candidates, checked
// with exact geometry (a corridor is a distance from its line, which Tile38 does not hold).
func (t *Tile38) Containing(ctx context.Context, lat, lon float64) ([]Zone, error) {
	if t.closed.Load() {
		return nil, ErrClosed
	}
	x := t.idx.Load()
	p := Position{Lat: lat, Lon: lon}
	cands, err := t.query(ctx, x, p, p)
	if err != nil {
		return nil, err
	}
	var out []Zone
	for _, id := range cands {
		s := x.byID[id]
		switch {
		case s == nil:
		case isArea(s.zone.Kind) && s.contains(lon, lat),
			s.zone.Kind == KindCorridor && s.distanceM(lat, lon) <= s.width:
			out = append(out, s.zone)
		}
	}
	slices.SortFunc(out, func(a, b Zone) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DistanceM returns the metres from the point to a zone, from the zone's exact geometry kept
// in this process (Tile38 has no point-to-line distance).
func (t *Tile38) DistanceM(ctx context.Context, zoneID string, lat, lon float64) (float64, error) {
	if t.closed.Load() {
		return 0, ErrClosed
	}
	return t.idx.Load().distanceM(zoneID, lat, lon)
}

// Forget drops a vehicle's state and deletes it from the vehicles collection (without waiting
// for the server).
func (t *Tile38) Forget(vehicleID string) {
	t.states.Forget(vehicleID)
	t.last.del(vehicleID)
	if l, err := t.client.get(context.Background()); err == nil {
		l.send(appendCmd(nil, "DEL", t.vehiclesKey(), vehicleID), 1, true)
	}
}

// Drop deletes every key and fence under the engine's prefix from the server: the vehicles,
// the zone collections and the channels. The engine's own state is kept.
func (t *Tile38) Drop(ctx context.Context) error {
	rs, err := t.client.do(ctx, appendCmd(nil, "KEYS", t.prefix+":*"), 1)
	if err != nil {
		return err
	}
	if err := firstError(rs); err != nil {
		return err
	}
	b := appendCmd(nil, "PDELCHAN", t.fencePrefix()+"*")
	for _, k := range rs[0].arr {
		b = appendCmd(b, "DROP", string(k.str))
	}
	if rs, err = t.client.do(ctx, b, 1+len(rs[0].arr)); err != nil {
		return err
	}
	return firstError(rs)
}

// Ping reports whether the Tile38 server answers: for readiness, since a fix the engine cannot
// evaluate is not acknowledged.
func (t *Tile38) Ping(ctx context.Context) error {
	rs, err := t.client.do(ctx, appendCmd(nil, "PING"), 1)
	if err != nil {
		return fmt.Errorf("tile38: %w", err)
	}
	if err := firstError(rs); err != nil {
		return fmt.Errorf("tile38: %w", err)
	}
	return nil
}

// Tile38Stats counts the engine's traffic since it started, for benchmarks, tests and metrics
// (restores and the fence subscription left out).
type Tile38Stats struct {
	RoundTrips  uint64 // batches of commands sent and waited for (SETs posted are not)
	CellQueries uint64 // INTERSECTS of a vehicle's cell (t38cell)
	Commands    uint64 // commands sent, posted or not
	Bytes       uint64 // bytes of the commands sent
	// RefusedPosts counts error replies to posted commands (SETs), which nobody waits for:
	// Tile38 refusing writes (its maxmemory reached, say) shows here.
	RefusedPosts uint64
}

// Stats returns the engine's traffic so far.
func (t *Tile38) Stats() Tile38Stats {
	var s Tile38Stats
	for _, c := range []*respClient{t.client, t.qry} {
		s.RoundTrips += c.roundTrips.Load()
		s.Commands += c.commands.Load()
		s.Bytes += c.bytes.Load()
		s.RefusedPosts += c.refusedPosts.Load()
	}
	s.CellQueries = t.cellQueries.Load()
	return s
}

// Notifications returns Tile38's fence messages as they arrive. Messages are dropped while
// nobody reads (see Dropped); events never depend on them.
func (t *Tile38) Notifications() <-chan FenceNotification { return t.notes }

// Dropped returns how many fence messages were dropped because nobody read them.
func (t *Tile38) Dropped() uint64 { return t.dropped.Load() }

// Close disconnects; further calls fail with ErrClosed.
func (t *Tile38) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	close(t.done)
	t.client.close()
	t.qry.close()
	t.sub.close()
	t.wg.Wait()
	return nil
}

// subscribe consumes the fence channels until Close, subscribing again after a broken
// connection.
func (t *Tile38) subscribe() {
	wait := 100 * time.Millisecond
	for {
		err := t.subscribeOnce()
		select {
		case <-t.done:
			return
		case <-time.After(wait):
		}
		t.log.Warn("tile38 fence subscription lost, subscribing again", "err", err)
		wait = min(2*wait, 10*time.Second)
	}
}

func (t *Tile38) subscribeOnce() error {
	ctx, cancel := context.WithTimeout(context.Background(), tile38DialTimeout)
	l, err := dialRESP(ctx, t.sub.addr)
	cancel()
	if err != nil {
		return err
	}
	t.sub.mu.Lock()
	if t.sub.closed {
		t.sub.mu.Unlock()
		l.fail(errRESPClosed)
		return errRESPClosed
	}
	t.sub.link = l
	t.sub.mu.Unlock()
	// A subscribed connection answers with an unbounded stream: the reader takes one message
	// per queued call, so one call is queued per message until the link dies.
	call, err := l.send(appendCmd(nil, "PSUBSCRIBE", t.fencePrefix()+"*"), 1, false)
	if err != nil {
		return err
	}
	for {
		select {
		case <-call.done:
		case <-l.dead:
			return l.err
		}
		if call.err != nil {
			return call.err
		}
		t.note(call.replies[0])
		call = &respCall{want: 1, replies: make([]respValue, 0, 1), done: make(chan struct{})}
		select {
		case l.pending <- call:
		case <-l.dead:
			return l.err
		}
	}
}

// note forwards one pmessage.
func (t *Tile38) note(v respValue) {
	if v.typ != '*' || len(v.arr) != 4 || string(v.arr[0].str) != "pmessage" {
		return
	}
	var msg struct {
		Detect string `json:"detect"`
		Hook   string `json:"hook"`
		ID     string `json:"id"`
		Time   string `json:"time"`
	}
	if json.Unmarshal(v.arr[3].str, &msg) != nil || msg.Detect == "" {
		return
	}
	n := FenceNotification{ZoneID: strings.TrimPrefix(msg.Hook, t.fencePrefix()), VehicleID: msg.ID, Detect: msg.Detect}
	n.Time, _ = time.Parse(time.RFC3339Nano, msg.Time)
	select {
	case t.notes <- n:
	default:
		t.dropped.Add(1)
	}
}

// lastPositions keeps every vehicle's last position, to restore a restarted server.
type lastPositions struct {
	seed   maphash.Seed
	shards [64]lastShard
}

type lastShard struct {
	mu sync.Mutex
	m  map[string][2]float64
}

func (lp *lastPositions) shard(id string) *lastShard {
	return &lp.shards[maphash.String(lp.seed, id)%uint64(len(lp.shards))]
}

func (lp *lastPositions) set(id string, lat, lon float64) {
	sh := lp.shard(id)
	sh.mu.Lock()
	sh.m[id] = [2]float64{lat, lon}
	sh.mu.Unlock()
}

func (lp *lastPositions) del(id string) {
	sh := lp.shard(id)
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
}

func (lp *lastPositions) each(f func(id string, ll [2]float64)) {
	for i := range lp.shards {
		sh := &lp.shards[i]
		sh.mu.Lock()
		for id, ll := range sh.m {
			f(id, ll)
		}
		sh.mu.Unlock()
	}
}
