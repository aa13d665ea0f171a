package geofence

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"time"
)

// States holds every vehicle's zone state and turns a backend's raw observations into events
// with hysteresis. It is the part of an engine that does not depend on the backend: the
// embedded engine and a Tile38 backend feed it the same kind of Observation and get the same
// events.
//
// Vehicles are spread over shards, each with its own lock held only to find a vehicle; a
// vehicle's own lock is held for its Update, so different vehicles never wait for each other.
type States struct {
	opts   Options
	seed   maphash.Seed
	shards [64]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[string]*vehicle
	_  [40]byte // keep neighbouring shards' locks off one cache line
}

// vehicle is one vehicle's state. Every vehicle holds one, so it is 96 bytes: its last
// position without the vehicle's ID (the map's key, and the caller's), which as a Position
// made it 112.
type vehicle struct {
	mu               sync.Mutex
	lastAt           time.Time
	lastLat, lastLon float64
	seen             bool
	states           []zoneState
	// scratch is the observer's Move.Scratch, kept across the vehicle's moves; the rest of a
	// Move is only needed during an Update and comes from moves, not from every vehicle.
	scratch any
}

// last is the vehicle's last position.
func (v *vehicle) last(vehicleID string) Position {
	return Position{VehicleID: vehicleID, Time: v.lastAt, Lat: v.lastLat, Lon: v.lastLon}
}

// moves recycles the Moves of Updates: their slices grow to what the busiest moves need, once
// per process instead of once per vehicle.
var moves = sync.Pool{New: func() any { return new(Move) }}

// zoneState is a vehicle's standing with one zone; it exists while the vehicle is inside or
// a crossing is pending.
//
// Every vehicle holds a few, so each is 32 bytes: the pending crossing, which a zone has for a
// few fixes at a time, is behind a pointer (inline it made each 64).
type zoneState struct {
	zoneID  string
	pending *pendingCrossing // nil while no crossing is pending
	inside  bool             // confirmed (areas and corridors)
}

// pendingCrossing is a raw crossing waiting to be confirmed: its time in Unix nanoseconds (in
// the location of the vehicle's positions when given back), where it happened, and at a border
// its port and direction. It is never changed: a new crossing gets a new one.
type pendingCrossing struct {
	since    int64
	lat, lon float64
	port     string
	outbound bool
}

// sinceTime is when the pending crossing happened, in the location of m's positions.
func (m *Move) sinceTime(p *pendingCrossing) time.Time {
	return time.Unix(0, p.since).In(m.To.Time.Location())
}

// direction is the border crossing's direction.
func (p *pendingCrossing) direction() string {
	if p.outbound {
		return Outbound
	}
	return Inbound
}

// Observation is a backend's raw view of one move against one zone: which side of the fence
// the vehicle was on at the start of the move and where it crossed the fence, in order.
type Observation struct {
	ZoneID      string
	Kind        Kind
	Gone        bool // the zone no longer exists
	StartInside bool // areas and corridors; ignored for the border
	Crossings   []Crossing
}

// Crossing is one raw crossing of a fence along a move.
type Crossing struct {
	At         float64 // fraction of the move, from 0 (From) to 1 (To)
	Lat, Lon   float64
	Direction  string // border: Inbound or Outbound
	PortZoneID string // border: the port zone containing the crossing point
}

// Move is one step of one vehicle, handed to the Observer. From equals To for a vehicle's
// first position.
type Move struct {
	From, To Position
	// Held are the zones the vehicle is in or has a pending crossing of: the observer must
	// report each of them (Gone if it no longer exists). Other zones it need report only when
	// the move touches them.
	Held    []string
	Obs     []Observation // the observer appends here
	Cross   []Crossing    // storage the observer may reuse for the Observations' Crossings
	Scratch any           // the observer's own per-vehicle scratch, kept across moves
}

// Observer is what a backend offers the States.
type Observer interface {
	// Observe appends to m.Obs what the move m shows of every zone in m.Held and every zone
	// whose fence it crosses or starts inside.
	Observe(ctx context.Context, m *Move) error
	// Beyond reports whether the point is at least metres inside (inside true) or outside
	// the zone; for the border, at least metres from the line.
	Beyond(zoneID string, lat, lon, metres float64, inside bool) bool
}

// NewStates returns empty vehicle states with opts' hysteresis.
func NewStates(opts Options) *States {
	s := &States{opts: opts, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = map[string]*vehicle{}
	}
	return s
}

func (s *States) shard(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)%uint64(len(s.shards))]
}

func (s *States) vehicle(id string) *vehicle {
	sh := s.shard(id)
	sh.mu.RLock()
	v := sh.m[id]
	sh.mu.RUnlock()
	if v != nil {
		return v
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if v = sh.m[id]; v == nil {
		v = &vehicle{}
		sh.m[id] = v
	}
	return v
}

// Forget drops a vehicle's state.
func (s *States) Forget(vehicleID string) {
	sh := s.shard(vehicleID)
	sh.mu.Lock()
	delete(sh.m, vehicleID)
	sh.mu.Unlock()
}

// prepare runs fn under the vehicle's lock with its last position (seen is false before its
// first) and its observer's scratch (Move.Scratch): for an observer that answers the coming
// moves ahead of their Updates.
func (s *States) prepare(vehicleID string, fn func(last Position, seen bool, scratch *any)) {
	v := s.vehicle(vehicleID)
	v.mu.Lock()
	defer v.mu.Unlock()
	fn(v.last(vehicleID), v.seen, &v.scratch)
}

// Update moves the vehicle to p, asks o what the move shows and returns the events, in time
// order. On error the vehicle's state is unchanged.
func (s *States) Update(ctx context.Context, o Observer, p Position) ([]Event, error) {
	v := s.vehicle(p.VehicleID)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen && p.Time.Before(v.lastAt) {
		return nil, fmt.Errorf("%w: vehicle %s at %s, last %s", ErrOutOfOrder, p.VehicleID,
			p.Time.Format(time.RFC3339), v.lastAt.Format(time.RFC3339))
	}
	m := moves.Get().(*Move)
	defer func() {
		clear(m.Obs)
		*m = Move{Held: m.Held[:0], Obs: m.Obs[:0], Cross: m.Cross[:0]}
		moves.Put(m)
	}()
	m.From, m.To, m.Scratch = p, p, v.scratch
	if v.seen {
		m.From = v.last(p.VehicleID)
	}
	for i := range v.states {
		m.Held = append(m.Held, v.states[i].zoneID)
	}
	err := o.Observe(ctx, m)
	v.scratch = m.Scratch
	if err != nil {
		return nil, err
	}
	var evs []Event
	for i := range m.Obs {
		evs = s.apply(v, o, m, &m.Obs[i], evs)
	}
	v.states = slices.DeleteFunc(v.states, func(z zoneState) bool { return !z.inside && z.pending == nil })
	v.lastAt, v.lastLat, v.lastLon, v.seen = p.Time, p.Lat, p.Lon, true
	slices.SortStableFunc(evs, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return evs, nil
}

func (s *States) apply(v *vehicle, o Observer, m *Move, ob *Observation, evs []Event) []Event {
	i := slices.IndexFunc(v.states, func(z zoneState) bool { return z.zoneID == ob.ZoneID })
	if ob.Gone {
		if i >= 0 {
			if v.states[i].inside {
				evs = append(evs, Event{Type: ZoneExit, ZoneID: ob.ZoneID, Kind: ob.Kind,
					Time: m.To.Time, Lat: m.To.Lat, Lon: m.To.Lon})
			}
			v.states[i] = zoneState{}
		}
		return evs
	}
	st := zoneState{zoneID: ob.ZoneID}
	if i >= 0 {
		st = v.states[i]
	}
	if ob.Kind == KindBorder {
		evs = s.border(&st, o, m, ob, evs)
	} else {
		evs = s.area(&st, o, m, ob, evs)
	}
	switch {
	case i >= 0:
		v.states[i] = st
	case st.inside || st.pending != nil:
		if len(v.states) == cap(v.states) {
			// One more, not twice as many: a vehicle is in a few zones at a time, every
			// vehicle holds them, and entering one is rare.
			v.states = append(make([]zoneState, 0, len(v.states)+1), v.states...)
		}
		v.states = append(v.states, st)
	}
	return evs
}

// area runs the enter/exit state machine of an area or corridor over the move's intervals
// between raw crossings.
func (s *States) area(st *zoneState, o Observer, m *Move, ob *Observation, evs []Event) []Event {
	h := s.opts.hysteresis(ob.Kind)
	raw := ob.StartInside
	// A mismatch at the start means a first position or changed geometry: it is pending from
	// the start of the move like any crossing.
	if raw == st.inside {
		st.pending = nil
	} else if st.pending == nil {
		st.pending = &pendingCrossing{since: m.From.Time.UnixNano(), lat: m.From.Lat, lon: m.From.Lon}
	}
	b0 := 0.0
	for k := 0; k <= len(ob.Crossings); k++ {
		b1 := 1.0
		if k < len(ob.Crossings) {
			b1 = ob.Crossings[k].At
		}
		if p := st.pending; p != nil {
			margin := h.ExitM
			if raw {
				margin = h.EnterM
			}
			if s.confirmed(p, o, m, ob.ZoneID, b0, b1, margin, h.Dwell, raw) {
				typ := ZoneExit
				if raw {
					typ = ZoneEnter
				}
				evs = append(evs, Event{Type: typ, ZoneID: ob.ZoneID, Kind: ob.Kind,
					Time: m.sinceTime(p), Lat: p.lat, Lon: p.lon})
				st.inside, st.pending = raw, nil
			}
		}
		if k == len(ob.Crossings) {
			break
		}
		c := &ob.Crossings[k]
		raw = !raw
		if raw == st.inside {
			st.pending = nil
		} else {
			st.pending = &pendingCrossing{since: m.timeAt(c.At).UnixNano(), lat: c.Lat, lon: c.Lon}
		}
		b0 = b1
	}
	return evs
}

// border runs the crossing state machine: a crossing is pending until confirmed, and a
// crossing back before that cancels it.
func (s *States) border(st *zoneState, o Observer, m *Move, ob *Observation, evs []Event) []Event {
	h := s.opts.hysteresis(KindBorder)
	margin := max(h.EnterM, h.ExitM)
	b0 := 0.0
	for k := 0; k <= len(ob.Crossings); k++ {
		b1 := 1.0
		if k < len(ob.Crossings) {
			b1 = ob.Crossings[k].At
		}
		if p := st.pending; p != nil && s.confirmed(p, o, m, ob.ZoneID, b0, b1, margin, h.Dwell, false) {
			evs = append(evs, Event{Type: BorderCross, ZoneID: ob.ZoneID, Kind: KindBorder,
				Time: m.sinceTime(p), Lat: p.lat, Lon: p.lon, PortZoneID: p.port, Direction: p.direction()})
			st.pending = nil
		}
		if k == len(ob.Crossings) {
			break
		}
		c := &ob.Crossings[k]
		switch {
		case st.pending != nil && st.pending.direction() != c.Direction:
			st.pending = nil
		case st.pending == nil:
			*st = zoneState{zoneID: st.zoneID, pending: &pendingCrossing{since: m.timeAt(c.At).UnixNano(),
				lat: c.Lat, lon: c.Lon, outbound: c.Direction == Outbound, port: c.PortZoneID}}
		}
		b0 = b1
	}
	return evs
}

// confirmed reports whether the pending crossing p is confirmed by the stretch [b0, b1]
// of the move that the vehicle spent on the new side: long enough there since the crossing,
// or far enough in (sampled at the fix ending the move, or mid-stretch between two crossings).
func (s *States) confirmed(p *pendingCrossing, o Observer, m *Move, zoneID string, b0, b1, margin float64, dwell time.Duration, inside bool) bool {
	if margin <= 0 || dwell > 0 && time.Duration(m.timeAt(b1).UnixNano()-p.since) >= dwell {
		return true
	}
	lat, lon := m.To.Lat, m.To.Lon
	if b1 < 1 {
		lat, lon = m.pointAt((b0 + b1) / 2)
	}
	return o.Beyond(zoneID, lat, lon, margin, inside)
}

func (m *Move) timeAt(f float64) time.Time {
	if f >= 1 {
		return m.To.Time
	}
	return m.From.Time.Add(time.Duration(math.Round(float64(m.To.Time.Sub(m.From.Time)) * f)))
}

func (m *Move) pointAt(f float64) (lat, lon float64) {
	return m.From.Lat + (m.To.Lat-m.From.Lat)*f, m.From.Lon + (m.To.Lon-m.From.Lon)*f
}
