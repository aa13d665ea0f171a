// Package sim simulates the fleets of a customs district over the real protocols (JT/T 808,
// GT06, OsmAnd, JT600 for e-seals) and the HTTP API, injects anomalies, records them as ground truth and scores
// the server's alerts against it. Load drives a server with many JT/T 808 terminals for
// benchmarks.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
)

// Config configures a simulation.
type Config struct {
	Scenario  *Scenario // nil: DefaultScenario()
	JT808Addr string    // host:port of the JT/T 808 gateway
	GT06Addr  string    // host:port of the GT06 gateway
	JT600Addr string    // host:port of the JT600 gateway (e-seals)
	OsmAndURL string    // e.g. http://host:5055/
	APIURL    string    // e.g. http://host:8080; empty: register nothing (the server must accept unknown devices)
	Username  string
	Password  string
	Speedup   float64       // simulated seconds per real second; 0: 1
	Start     time.Time     // simulated start; zero: now − Duration×Speedup (or 24 h back without Duration)
	Duration  time.Duration // real run time; 0: until ctx ends
	// Until, when set, ends the run when the simulated clock reaches it (and Duration, if set,
	// still bounds the real time): a test then scores the same simulated hours however slowly
	// a loaded machine lets the clock run.
	Until     time.Time
	Seed      uint64
	TruthFile string // written as injections happen; empty: kept in memory only (Truth)
	Logger    *slog.Logger
	// Clock, when set, is the simulated clock to run on (Start and Speedup are then its own);
	// nil: a new one from Start and Speedup when Run starts.
	Clock *Clock
	// ReleaseClock, when set, is called once Run's vehicles keep the clock: a caller that held
	// Clock (Clock.Hold) while its server started hands it over to them.
	ReleaseClock func()
	// StateFile, when set, is where the simulation keeps its state (every few seconds and when
	// it stops) and, if the file holds one of the same scenario, resumes from: Start and Seed
	// are then the saved ones, and a Clock of one's own should start at the saved present
	// (LoadState). The truth file goes on from the saved one.
	StateFile string
	// Inspect, when set (and APIURL), plays the targeting loop: orders, inspections, results.
	Inspect *Inspection
	// History, when set (and APIURL), plants the month before Start beside the run; Run
	// returns once it is planted, even after Duration.
	History *History
}

// Sim is a configured simulation.
type Sim struct {
	cfg    Config
	w      *world
	resume *State // nil: a new simulation
}

// New checks cfg and prepares the simulation.
func New(cfg Config) (*Sim, error) {
	if cfg.Scenario == nil {
		cfg.Scenario = DefaultScenario()
	}
	if cfg.Speedup == 0 {
		cfg.Speedup = 1
	}
	if cfg.Speedup < 1 {
		return nil, errors.New("sim: Speedup below 1")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	now := time.Now().UTC()
	if cfg.Start.IsZero() {
		back := 24 * time.Hour
		if cfg.Duration > 0 {
			back = time.Duration(float64(cfg.Duration) * cfg.Speedup)
		}
		cfg.Start = now.Add(-back).Truncate(time.Second)
	}
	if cfg.Start.After(now) {
		return nil, errors.New("sim: Start is in the future")
	}
	for _, f := range cfg.Scenario.Fleets {
		switch {
		case (f.Terminal == TerminalJT808v2013 || f.Terminal == TerminalJT808v2019) && cfg.JT808Addr == "":
			return nil, fmt.Errorf("sim: fleet %s needs a JT/T 808 address", f.Name)
		case f.Terminal == TerminalGT06 && cfg.GT06Addr == "":
			return nil, fmt.Errorf("sim: fleet %s needs a GT06 address", f.Name)
		case f.Terminal == TerminalOsmAnd && cfg.OsmAndURL == "":
			return nil, fmt.Errorf("sim: fleet %s needs an OsmAnd URL", f.Name)
		case f.Terminal == TerminalJT701 && cfg.JT600Addr == "":
			return nil, fmt.Errorf("sim: fleet %s needs a JT600 address", f.Name)
		}
	}
	var resume *State
	if cfg.StateFile != "" {
		st, err := LoadState(cfg.StateFile)
		if err != nil {
			return nil, err
		}
		if st != nil && st.Scenario == cfg.Scenario.Name {
			resume, cfg.Start, cfg.Seed = st, st.Start, st.Seed
		}
	}
	w := newWorld(cfg.Scenario, cfg.Start, cfg.Seed)
	w.log = cfg.Logger
	w.truth.file = cfg.TruthFile
	if resume != nil && cfg.TruthFile != "" {
		if t, err := LoadTruth(cfg.TruthFile); err == nil && t.Scenario == cfg.Scenario.Name {
			w.truth.t = *t
		}
	}
	s := &Sim{cfg: cfg, w: w, resume: resume}
	w.clock = cfg.Clock
	if cfg.Clock == nil {
		w.clock = NewClock(s.clockStart(), cfg.Speedup)
	}
	return s, nil
}

// clockStart is the simulated time a clock of the simulation's own starts at.
func (s *Sim) clockStart() time.Time {
	if s.resume != nil {
		return s.resume.Now
	}
	return s.cfg.Start
}

// Resumed reports whether the simulation goes on from a saved state.
func (s *Sim) Resumed() bool { return s.resume != nil }

// saveState keeps the state in the state file, if there is one.
func (s *Sim) saveState(now time.Time) {
	if s.cfg.StateFile == "" {
		return
	}
	if err := s.w.state(now).save(s.cfg.StateFile); err != nil {
		s.cfg.Logger.Warn("sim: state not saved; a restart begins a new simulation", "file", s.cfg.StateFile, "err", err)
	}
}

// Scenario is the scenario the simulation plays.
func (s *Sim) Scenario() *Scenario { return s.cfg.Scenario }

// Truth returns the injections so far.
func (s *Sim) Truth() Truth { return s.w.truth.snapshot() }

// Run registers the vehicles and devices (when APIURL is set), connects every terminal and
// drives the fleets until ctx ends or Duration has passed. It returns nil at the end of
// Duration or ctx.
func (s *Sim) Run(ctx context.Context) error {
	parent := ctx // the history's: planted whole, whatever Duration says
	if s.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Duration)
		defer cancel()
	}
	w := s.w
	// Until its vehicles run, the clock stands (within maxOverdue): signing in, registering
	// and dialling take seconds on a loaded machine, at 600× hours of every vehicle's silence
	// for the server's timers, whose resumed vehicles then send fixes seconds apart.
	release := func() {}
	if s.cfg.Clock != nil {
		release = s.cfg.Clock.Hold()
	}
	handOver := sync.OnceFunc(func() {
		release()
		if s.cfg.ReleaseClock != nil {
			s.cfg.ReleaseClock()
		}
	})
	defer handOver()
	if s.cfg.APIURL != "" {
		api, err := login(ctx, s.cfg.APIURL, s.cfg.Username, s.cfg.Password)
		if err != nil {
			return err
		}
		w.api = api
	}
	if s.cfg.Clock == nil {
		w.clock = NewClock(s.clockStart(), s.cfg.Speedup)
	}
	if !s.cfg.Until.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			if w.clock.SleepUntil(ctx, s.cfg.Until) == nil {
				cancel()
			}
		}()
	}
	vs := w.vehicles()
	if s.resume != nil {
		if err := w.resume(s.resume); err != nil {
			return err
		}
	}
	if w.api != nil {
		for _, v := range vs {
			if err := w.api.register(ctx, v); err != nil {
				return err
			}
		}
		if err := w.ensureCrews(ctx, vs); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for _, v := range vs {
		out, err := dial(ctx, s.cfg, v)
		if err != nil {
			return fmt.Errorf("sim: %s: %w", v.id, err)
		}
		v.out = out
	}
	s.cfg.Logger.Info("simulation running", "vehicles", len(vs), "start", s.cfg.Start, "speedup", s.cfg.Speedup, "resumed", s.resume != nil)
	if c, ok := w.clock.(*Clock); ok {
		// The truth is complete up to the present: a scorer tells finished anomalies from
		// those under way.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for n := 1; ; n++ {
				select {
				case <-stop:
					return
				case <-t.C:
					w.truth.until(c.Now())
					if n%stateEvery == 0 {
						s.saveState(c.Now())
					}
				}
			}
		}()
	}
	if in, c := s.cfg.Inspect, w.clock.(*Clock); in != nil && w.api != nil && c != nil {
		cmdAPI, patrolAPI, crews, err := w.simUsers(ctx)
		if err != nil {
			return err
		}
		insp := &inspector{Inspection: in.withDefaults(), w: w, command: cmdAPI, patrol: patrolAPI, crews: crews,
			rng: rand.New(rand.NewPCG(w.seed, 18)), targeted: map[string]time.Time{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			insp.run(ctx, c)
			s.cfg.Logger.Info("simulated inspections", "orders_issued", insp.issued, "results_reported", insp.reported)
		}()
	}
	if s.cfg.History != nil && s.resume == nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.runHistory(parent); err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		}()
	}
	for _, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := v.run(ctx); err != nil && ctx.Err() == nil {
				select {
				case errc <- fmt.Errorf("sim: %s: %w", v.id, err):
				default:
				}
			}
		}()
	}
	handOver()
	wg.Wait()
	if c, ok := w.clock.(*Clock); ok {
		w.truth.until(c.Now())
		s.saveState(c.Now())
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// stateEvery is how many seconds apart the state is saved while running: what a crash loses.
const stateEvery = 5

// world is what vehicles share: roads, zones, the anomaly schedule, the API and the truth.
type world struct {
	sc    *Scenario
	start time.Time
	seed  uint64
	clock clock
	log   *slog.Logger
	api   *apiClient
	roads map[string]orb.LineString
	ports []district.Port
	zones []geofence.Zone
	truth truthLog

	mu       sync.Mutex // guards what follows and the vehicles' checkpoints and logs (state.go)
	fleet    []*vehicle
	due      map[string]time.Time // anomaly type → when the next one may be claimed
	every    map[string]time.Duration
	meetings map[string]*meeting  // route → a truck waiting for a partner
	spots    map[string][]float64 // route → where trucks stop on purpose
	rovers   int
}

// meeting is a truck waiting on its route for another to stop beside it.
type meeting struct {
	host    *vehicle
	waiting bool      // the host stands at the meeting point
	partner *vehicle  // on its way to the host
	at      time.Time // when the partner arrived
	s       float64   // where, along the route
}

func newWorld(sc *Scenario, start time.Time, seed uint64) *world {
	w := &world{sc: sc, start: start, seed: seed, roads: map[string]orb.LineString{},
		ports: district.Ports(), zones: district.Zones(), due: map[string]time.Time{},
		every: map[string]time.Duration{}, meetings: map[string]*meeting{}, spots: map[string][]float64{}, clock: instantClock{},
		log: slog.Default()}
	w.truth.t = Truth{Scenario: sc.Name, Start: start}
	for _, r := range district.Roads() {
		w.roads[r.ID] = r.Line
	}
	for _, a := range sc.Anomalies {
		after := time.Duration(a.After)
		if after == 0 {
			after = time.Duration(a.Every) / 4
		}
		w.due[a.Type] = start.Add(after)
		w.every[a.Type] = time.Duration(a.Every)
	}
	return w
}

// vehicles creates the scenario's vehicles, deterministic for a seed.
func (w *world) vehicles() []*vehicle {
	var vs []*vehicle
	n := 0
	for fi := range w.sc.Fleets {
		f := &w.sc.Fleets[fi]
		for i := 0; i < f.Count; i++ {
			n++
			src := newSource(w.seed, n)
			rng := rand.New(src)
			v := &vehicle{w: w, fleet: f, src: src, rng: rng, t: w.start, nextReport: w.start, noise: w.sc.GPSNoiseM,
				id: vehicleID(f, i), plate: plateOf(fi, i), card: fmt.Sprintf("IC%08d", n)}
			if f.Trip == TripPatrol {
				v.sent = make(chan orb.Point, 1)
			}
			v.port = *portByID(w.ports, f.Port)
			v.cruise = (f.CruiseKmh[0] + rng.Float64()*(f.CruiseKmh[1]-f.CruiseKmh[0])) / 3.6
			// Reports fall on the first whole step at or after they are due: up to a second late.
			v.interval = max(time.Duration(w.sc.ReportInterval[0]), uniform(rng, w.sc.ReportInterval).Truncate(time.Second)-time.Second)
			v.nextReport = w.start.Add(time.Duration(rng.Int64N(int64(v.interval))))
			switch f.Terminal {
			case TerminalGT06:
				v.deviceID = fmt.Sprintf("86%013d", n)
			case TerminalOsmAnd:
				v.deviceID = fmt.Sprintf("bw-sim-%d", n)
			case TerminalJT701:
				v.deviceID = fmt.Sprintf("7%09d", n)
			default:
				v.deviceID = fmt.Sprintf("139%08d", n)
				v.driver = fmt.Sprintf("CY15%010d", n) // the certificate on the driver's card
			}
			vs = append(vs, v)
		}
	}
	w.mu.Lock()
	w.fleet = vs
	w.mu.Unlock()
	return vs
}

// vehicleID and plateOf name the i-th vehicle of a fleet, the fi-th of the scenario.
func vehicleID(f *Fleet, i int) string { return fmt.Sprintf("%s-%03d", f.Name, i+1) }

func plateOf(fi, i int) string { return fmt.Sprintf("蒙%c%05d", 'A'+rune(fi%26), i+1) }

// claim returns the first of kinds that is due at t and assigns it to v, or "".
func (w *world) claim(v *vehicle, t time.Time, kinds ...string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d, ok := v.recordedLocked("claim"); ok {
		return d.S
	}
	k := w.claimLocked(v, t, kinds)
	v.noteLocked(decision{Op: "claim", S: k})
	return k
}

func (w *world) claimLocked(v *vehicle, t time.Time, kinds []string) string {
	for _, k := range kinds {
		due, ok := w.due[k]
		if !ok || t.Before(due) {
			continue
		}
		if (k == AnomalySignalLost || k == AnomalyDriverMismatch) && !v.isJT808() || k == AnomalySealOpened && !v.sealed() {
			continue
		}
		if (k == AnomalyDetour || k == AnomalyMeeting || k == AnomalyStop || k == AnomalySealOpened || k == AnomalyEmergency) && newPath(w.roads[v.fleet.Route]).length() < 30000 {
			continue
		}
		if k == AnomalyMeeting && w.meetings[v.fleet.Route] != nil {
			continue
		}
		w.due[k] = t.Add(w.every[k])
		if k == AnomalyMeeting {
			w.meetings[v.fleet.Route] = &meeting{host: v}
		}
		return k
	}
	return ""
}

// begin records an anomaly as it starts; end closes its window.
func (w *world) begin(in Injection) int {
	in.From = in.From.UTC()
	w.log.Info("anomaly injected", "type", in.Type, "vehicle", in.VehicleID, "from", in.From, "with", in.With)
	return w.truth.begin(in)
}

func (w *world) end(i int, to time.Time) { w.truth.end(i, to) }

// spot picks a roadside stop on the route near frac of its length, at least 1 km from every
// other truck stopping on the route on purpose (two side by side would be a meeting), and
// holds it until release.
func (w *world) spot(v *vehicle, route string, p *path, frac float64) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d, ok := v.recordedLocked("spot"); ok {
		return d.F
	}
	s := w.stopPoint(p, frac)
	for range 20 {
		if !slices.ContainsFunc(w.spots[route], func(o float64) bool { return math.Abs(o-s) < 1000 }) {
			break
		}
		s = w.stopPoint(p, (s+2000)/p.length())
	}
	w.spots[route] = append(w.spots[route], s)
	v.noteLocked(decision{Op: "spot", F: s})
	return s
}

func (w *world) release(v *vehicle, route string, s float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := v.recordedLocked("release"); ok {
		return
	}
	v.noteLocked(decision{Op: "release"})
	if i := slices.Index(w.spots[route], s); i >= 0 {
		w.spots[route] = slices.Delete(w.spots[route], i, i+1)
	}
}

// meetingWaiting reports whether a truck waits on v's route for a partner, and makes v it.
// Only a host already at the meeting point takes a partner: one still on its way might
// arrive after the partner has left.
func (w *world) meetingWaiting(v *vehicle) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d, ok := v.recordedLocked("partner"); ok {
		return d.B
	}
	m := w.meetings[v.fleet.Route]
	ok := m != nil && m.host != v && m.waiting && m.partner == nil
	if ok {
		m.partner = v
	}
	v.noteLocked(decision{Op: "partner", B: ok})
	return ok
}

// host waits at the meeting point for up to 3 h for the partner, then 20 min together. It
// returns the partner, or nil when none came.
func (w *world) host(ctx context.Context, v *vehicle, s float64) (*vehicle, error) {
	route := v.fleet.Route
	w.mu.Lock()
	if d, ok := v.recordedLocked("host"); ok {
		// How it ended is known: wait as long, then leave as the host did.
		var partner *vehicle
		for _, o := range w.fleet {
			if o.id == d.S {
				partner = o
			}
		}
		w.mu.Unlock()
		err := v.wait(ctx, d.T.Sub(v.t))
		w.leave(v)
		return partner, err
	}
	m := w.meetings[route]
	if m == nil || m.host != v {
		// Resumed from a state saved as the host was leaving.
		m = &meeting{host: v}
		w.meetings[route] = m
	}
	m.waiting, m.s = true, s
	w.mu.Unlock()
	limit := v.t.Add(3 * time.Hour)
	for {
		w.mu.Lock()
		arrived := !m.at.IsZero() && !v.t.Before(m.at)
		switch {
		case arrived:
			v.noteLocked(decision{Op: "host", S: m.partner.id, T: v.t.Add(20 * time.Minute)})
		case !v.t.Before(limit):
			// Given up: a partner still on its way will find nobody and stop alone.
			delete(w.meetings, route)
			v.noteLocked(decision{Op: "host", T: v.t})
		}
		w.mu.Unlock()
		switch {
		case arrived:
			err := v.wait(ctx, 20*time.Minute)
			w.leave(v)
			return m.partner, err
		case !v.t.Before(limit):
			return nil, nil
		}
		if err := v.wait(ctx, time.Minute); err != nil {
			return nil, err
		}
	}
}

// leave ends the meeting v hosts on its route.
func (w *world) leave(v *vehicle) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m := w.meetings[v.fleet.Route]; m != nil && m.host == v {
		delete(w.meetings, v.fleet.Route)
	}
}

// meetingSpot is where the host waits on v's route.
func (w *world) meetingSpot(v *vehicle) (float64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d, ok := v.recordedLocked("spot-beside"); ok {
		return d.F, d.B
	}
	s, ok := 0.0, false
	if m := w.meetings[v.fleet.Route]; m != nil && m.partner == v {
		s, ok = m.s, true
	}
	v.noteLocked(decision{Op: "spot-beside", F: s, B: ok})
	return s, ok
}

// join is the partner's stop beside the host; it reports whether the host was still there.
func (w *world) join(ctx context.Context, v *vehicle) (bool, error) {
	w.mu.Lock()
	d, ok := v.recordedLocked("join")
	met := d.B
	if !ok {
		m := w.meetings[v.fleet.Route]
		met = m != nil && m.partner == v
		if met {
			m.at = v.t
		}
		v.noteLocked(decision{Op: "join", B: met})
	}
	w.mu.Unlock()
	return met, v.wait(ctx, 20*time.Minute)
}

// stopPoint is the distance along p near frac of its length where stopping is not allowed.
func (w *world) stopPoint(p *path, frac float64) float64 {
	for s := p.length() * frac; s < p.length()*0.9; s += 1000 {
		pt, _ := p.at(s)
		if !w.allowed(pt, 1000) {
			return s
		}
	}
	return p.length() * frac
}

// allowed reports whether a zone where stopping is allowed lies within margin metres of pt.
func (w *world) allowed(pt orb.Point, margin float64) bool {
	for _, z := range w.zones {
		if z.Kind != geofence.KindYard && z.Kind != geofence.KindPort && z.Kind != geofence.KindServiceArea {
			continue
		}
		poly, ok := z.Geometry.(orb.Polygon)
		if !ok {
			continue
		}
		if planar.PolygonContains(poly, pt) {
			return true
		}
		for _, q := range []orb.Point{offset(pt, margin, 0), offset(pt, -margin, 0), offset(pt, 0, margin), offset(pt, 0, -margin)} {
			if planar.PolygonContains(poly, q) {
				return true
			}
		}
	}
	return false
}

// fencePoint is a point 10 m inside the yard's fence on the side nearest to from.
func (w *world) fencePoint(yardID string, from orb.Point) (orb.Point, bool) {
	for _, z := range w.zones {
		if z.ID != yardID {
			continue
		}
		b := z.Geometry.Bound()
		c := b.Center()
		// The southern fence, 10 m in.
		north := distance(orb.Point{c[0], b.Min[1]}, c) - 10
		return offset(c, 0, -north), true
	}
	return orb.Point{}, false
}

// otherPort is a port and route other than id, for a declaration the truck will not follow.
func (w *world) otherPort(id string) (string, district.Route) {
	for _, p := range w.ports {
		if p.ID != id && len(p.Routes) > 0 {
			return p.ID, p.Routes[0]
		}
	}
	return id, district.Route{}
}

// roverSpot is a parking place 6 km inside Mongolia and a point 5 km inside China, at a
// border vertex far from every port.
func (w *world) roverSpot(v *vehicle) (home, into orb.Point) {
	w.mu.Lock()
	if d, ok := v.recordedLocked("rover"); ok && len(d.P) == 2 {
		w.mu.Unlock()
		return d.P[0], d.P[1]
	}
	k := w.rovers
	w.rovers++
	w.mu.Unlock()
	defer func() { v.note(decision{Op: "rover", P: []orb.Point{home, into}}) }()
	border := district.Border()
	var cands []int
	for i := 1; i < len(border); i++ {
		far := true
		for _, p := range w.ports {
			if distance(border[i], p.Crossing) < 80e3 {
				far = false
				break
			}
		}
		if far {
			cands = append(cands, i)
		}
	}
	i := cands[(k*7919+len(cands)/3)%len(cands)]
	a, b := border[i-1], border[i]
	h := bearing(a, b) * math.Pi / 180
	// China lies to the right of the line's direction.
	re, rn := math.Cos(h), -math.Sin(h)
	home = offset(b, -6000*re, -6000*rn)
	into = offset(b, 5000*re, 5000*rn)
	return home, into
}

func (w *world) declare(ctx context.Context, v *vehicle, dir, port string, r district.Route, valid time.Duration) error {
	return w.declareAs(ctx, v, "", dir, port, r, valid)
}

// declareAs declares a trip of a type ("": normal).
func (w *world) declareAs(ctx context.Context, v *vehicle, typ, dir, port string, r district.Route, valid time.Duration) error {
	id := v.nextID("decl")
	v.decl = id
	if w.api == nil || v.replaying() {
		return nil
	}
	d := declaration{ID: id, VehicleID: v.id, Direction: dir, PortZoneID: port, Type: typ,
		CorridorZoneID: r.CorridorID, YardZoneID: r.YardID, ValidFrom: v.t.UTC(), ValidTo: v.t.Add(valid).UTC(), DriverCard: v.driver}
	if dir == "inbound" {
		d.DeclaredNetKg = v.cargoKg()
	}
	return w.api.declare(ctx, d)
}

func (w *world) declareResident(ctx context.Context, v *vehicle, deadline time.Time) error {
	id := v.nextID("visit")
	if w.api == nil || v.replaying() {
		return nil
	}
	return w.api.declare(ctx, declaration{ID: id, VehicleID: v.id, Direction: "inbound", PortZoneID: v.port.ID,
		ValidFrom: v.t.UTC(), ValidTo: deadline.UTC()})
}

// weigh posts the reading of the scale in zone (a port's scale house, a yard's scale) of a
// haul carrying netKg, at t; a drifting scale reads the gross off by its drift, the tare being
// the truck's registered one.
func (w *world) weigh(ctx context.Context, v *vehicle, zone string, netKg float64, t time.Time) {
	if w.api == nil || !t.After(v.resumeAt) {
		return
	}
	if err := w.clock.SleepUntil(ctx, t); err != nil {
		return
	}
	const tare = 15200
	scale := "scale-" + zone
	gross := (tare + netKg) * (1 + w.sc.DriftingScales[scale]/100)
	if err := w.api.weigh(ctx, weighing{ScaleID: scale, ZoneID: zone, Time: t.UTC(), Plate: v.plate, GrossKg: gross, TareKg: tare, Operator: "sim"}); err != nil {
		w.log.Warn("weighing refused", "vehicle", v.id, "err", err)
	}
}

func (w *world) gate(ctx context.Context, v *vehicle, port, dir string, t time.Time) {
	if w.api == nil || !t.After(v.resumeAt) {
		return
	}
	if err := w.clock.SleepUntil(ctx, t); err != nil {
		return
	}
	if err := w.api.gate(ctx, gateEvent{GateZoneID: port, Time: t.UTC(), Plate: v.plate, CardID: v.card, Direction: dir}); err != nil {
		w.log.Warn("gate event refused", "vehicle", v.id, "err", err)
	}
}
