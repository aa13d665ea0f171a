package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/paulmach/orb"

	"github.com/borderwatch/borderwatch/geofence/district"
)

// report is one position a terminal sends, in simulated time.
type report struct {
	Time     time.Time
	Lat, Lon float64
	SpeedKmh float64
	Heading  float64
	Locked   bool // the e-seal on the cargo holds (terminal jt701)
}

// reporter sends a vehicle's positions over its terminal's protocol. blind marks a backfill
// of positions buffered while the terminal had no signal.
type reporter interface {
	Send(ctx context.Context, rs []report, blind bool) error
	Close() error
}

// Movement constants: heavy trucks accelerate and brake gently.
const (
	accel      = 0.4 // m/s²
	decel      = 0.6 // m/s²
	step       = time.Second
	portKmh    = 20 // through the port
	yardKmh    = 25 // inside yards and the last stretch before them
	townKmh    = 35 // port towns
	queueShort = 500.0
)

// slowZone caps the speed within radius metres of a point s along a path.
type slowZone struct {
	s, r, kmh float64
}

// vehicle is one simulated vehicle and its terminal.
type vehicle struct {
	w        *world
	id       string
	plate    string
	card     string
	driver   string // the certificate number on the driver's card (JT/T 808 terminals have a reader)
	deviceID string
	fleet    *Fleet
	port     district.Port
	src      *rand.PCG // rng's source, saved with the checkpoint
	rng      *rand.Rand
	out      reporter
	cruise   float64 // m/s
	interval time.Duration

	t          time.Time // simulated now
	pos        orb.Point
	v          float64 // m/s
	heading    float64
	nextReport time.Time
	dark       bool
	buffer     []report
	nextDrop   time.Time // next short dropout
	dropUntil  time.Time
	noise      float64 // metres; raised for jitter
	stopped    bool
	decl       string // active declaration ID
	seq        int
	swapDriver bool           // another driver's card is in the reader until the yard
	review     int            // the emergency_review injection of an emergency trip until the yard; -1: none
	locked     bool           // the e-seal holds
	home, into orb.Point      // rovers: where they park, and where they go across the line
	sent       chan orb.Point // patrol cars: where the inspection loop sends them (patrol.go)

	// Resuming (state.go): before resumeAt everything was sent by the run that saved the state;
	// replay is that run's log of this trip, to take in order. cp and log, the trip's
	// checkpoint and its log so far, are guarded by the world's mu.
	resumeAt time.Time
	replay   []decision
	cp       *checkpoint
	log      []decision
}

// tick reports the position when a report is due.
func (v *vehicle) tick(ctx context.Context) error {
	if v.t.Before(v.nextReport) {
		return nil
	}
	v.nextReport = v.t.Add(v.interval)
	r := v.observe()
	if v.fleet.DropoutsPerHour > 0 && !v.dark && v.isJT808() {
		if v.nextDrop.IsZero() {
			v.nextDrop = v.t.Add(expDuration(v.rng, v.fleet.DropoutsPerHour))
		}
		if !v.t.Before(v.nextDrop) {
			v.dropUntil = v.t.Add(time.Minute + time.Duration(v.rng.Int64N(int64(time.Minute))))
			v.nextDrop = v.t.Add(expDuration(v.rng, v.fleet.DropoutsPerHour))
		}
	}
	if v.dark || v.t.Before(v.dropUntil) {
		v.buffer = append(v.buffer, r)
		return nil
	}
	if v.replaying() {
		v.buffer = v.buffer[:0] // sent before the restart, buffer and all
		return nil
	}
	if err := v.w.clock.SleepUntil(ctx, v.t); err != nil {
		return err
	}
	if len(v.buffer) > 0 {
		if err := v.flush(ctx); err != nil {
			return err
		}
	}
	return v.out.Send(ctx, []report{r}, false)
}

// flush backfills the buffered positions, oldest first.
func (v *vehicle) flush(ctx context.Context) error {
	for len(v.buffer) > 0 {
		n := min(len(v.buffer), 30)
		if err := v.out.Send(ctx, v.buffer[:n], true); err != nil {
			return err
		}
		v.buffer = v.buffer[n:]
	}
	v.buffer = nil
	return nil
}

func (v *vehicle) isJT808() bool {
	return v.fleet.Terminal == TerminalJT808v2013 || v.fleet.Terminal == TerminalJT808v2019
}

// observe is what the GNSS receiver reports: the position with noise.
func (v *vehicle) observe() report {
	p := v.pos
	if sd := v.noise; sd > 0 {
		p = offset(p, v.rng.NormFloat64()*sd, v.rng.NormFloat64()*sd)
	}
	kmh := v.v * 3.6
	if kmh > 1 {
		kmh = math.Max(0, kmh+v.rng.NormFloat64()*0.8)
	} else {
		kmh = 0
	}
	return report{Time: v.t, Lat: p[1], Lon: p[0], SpeedKmh: kmh, Heading: v.heading, Locked: v.locked}
}

// sealed reports whether the vehicle's cargo carries an e-seal.
func (v *vehicle) sealed() bool { return v.fleet.Terminal == TerminalJT701 }

// lock seals the cargo: the next reports say so.
func (v *vehicle) lock() { v.locked = v.sealed() }

// unlock opens the seal with card, reported at once as the seal's lock event. The event gets a
// second of its own: the server tells a device's reports apart by their time.
func (v *vehicle) unlock(ctx context.Context, card string) error {
	s, ok := v.out.(sealer)
	if !ok || !v.locked {
		return nil
	}
	v.locked = false
	v.t = v.t.Add(step)
	if err := v.w.clock.SleepUntil(ctx, v.t); err != nil {
		return err
	}
	if r := v.observe(); !v.replaying() {
		if err := s.Unlock(ctx, r, card); err != nil {
			return err
		}
	}
	if !v.nextReport.After(v.t) {
		v.nextReport = v.t.Add(step)
	}
	return nil
}

// insertCard puts a driver's card in the terminal's reader, reported at once, in a second of
// its own like an unlock.
func (v *vehicle) insertCard(ctx context.Context, certificate, name string) error {
	c, ok := v.out.(cardReader)
	if !ok {
		return nil
	}
	v.t = v.t.Add(step)
	if err := v.w.clock.SleepUntil(ctx, v.t); err != nil {
		return err
	}
	if err := c.InsertCard(ctx, v.t, certificate, name); err != nil {
		return err
	}
	if !v.nextReport.After(v.t) {
		v.nextReport = v.t.Add(step)
	}
	return nil
}

// drive moves along p from s0 to s1 (metres), starting and ending at rest, obeying the slow
// zones. onStep, when set, runs after every step with the distance reached.
func (v *vehicle) drive(ctx context.Context, p *path, s0, s1 float64, slow []slowZone, onStep func(s float64) error) error {
	s := s0
	dt := step.Seconds()
	v.stopped = false
	for s < s1-0.5 {
		target := math.Min(v.cruise, math.Sqrt(2*decel*(s1-s)))
		for _, z := range slow {
			cap := z.kmh / 3.6
			if s > z.s+z.r {
				continue
			}
			if s < z.s-z.r {
				cap = math.Sqrt(cap*cap + 2*decel*(z.s-z.r-s))
			}
			target = math.Min(target, cap)
		}
		switch {
		case v.v < target:
			v.v = math.Min(target, v.v+accel*dt)
		default:
			v.v = math.Max(target, v.v-decel*dt)
		}
		v.v = math.Max(v.v, 0.5) // creep to the end rather than stall a metre short
		s = math.Min(s1, s+v.v*dt)
		v.pos, v.heading = p.at(s)
		v.t = v.t.Add(step)
		if onStep != nil {
			if err := onStep(s); err != nil {
				return err
			}
		}
		if err := v.tick(ctx); err != nil {
			return err
		}
	}
	v.v = 0
	v.stopped = true
	return nil
}

// wait stays put for d, reporting as usual.
func (v *vehicle) wait(ctx context.Context, d time.Duration) error {
	v.v = 0
	end := v.t.Add(d)
	for v.t.Before(end) {
		next := v.nextReport
		if next.After(end) {
			next = end
		}
		if !next.After(v.t) {
			next = v.t.Add(step)
		}
		v.t = next
		if err := v.tick(ctx); err != nil {
			return err
		}
	}
	return nil
}

// waitOpen waits until the port is open at the time eta from now, with some convoy spread.
func (v *vehicle) waitOpen(ctx context.Context, eta time.Duration) error {
	arrive := v.t.Add(eta)
	if v.port.Hours.IsOpen(arrive) && v.port.Hours.IsOpen(arrive.Add(30*time.Minute)) {
		return nil
	}
	for i := 0; i < 24*14 && !v.port.Hours.IsOpen(arrive); i++ {
		arrive = arrive.Add(15 * time.Minute)
	}
	return v.wait(ctx, arrive.Sub(v.t.Add(eta))+time.Duration(v.rng.Int64N(int64(45*time.Minute))))
}

// startSpread is a random wait before the first trip: up to the fleet's StartWithin, or def.
func (v *vehicle) startSpread(def time.Duration) time.Duration {
	if w := time.Duration(v.fleet.StartWithin); w > 0 {
		def = w
	}
	return time.Duration(v.rng.Int64N(int64(def)))
}

func (v *vehicle) eta(length float64) time.Duration {
	return time.Duration(length/(v.cruise*0.8)) * time.Second
}

// cargoKg is the net weight of the load of the haul's current declaration: 28–35 t, from the
// declaration's id, without a draw from the vehicle's random stream (which replays depend on).
func (v *vehicle) cargoKg() float64 {
	h := fnv.New32a()
	h.Write([]byte(v.decl))
	return 28000 + float64(h.Sum32()%71)*100
}

func (v *vehicle) nextID(what string) string {
	v.seq++
	return fmt.Sprintf("%s-%s-%d", v.id, what, v.seq)
}

func expDuration(rng *rand.Rand, perHour float64) time.Duration {
	return time.Duration(rng.ExpFloat64() / perHour * float64(time.Hour))
}

func uniform(rng *rand.Rand, r [2]Dur) time.Duration {
	lo, hi := time.Duration(r[0]), time.Duration(r[1])
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}
