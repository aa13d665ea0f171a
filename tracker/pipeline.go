package tracker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/geofence"
)

// Evaluator turns fixes into events and alerts, vehicle by vehicle. It owns the vehicles:
// each embeds the pipeline's VehicleState, so that one lock guards a vehicle's whole state,
// whoever changes it (fixes, timers, gate reads).
type Evaluator interface {
	// Vehicle returns the vehicle, made on first use: always the same one for an id.
	Vehicle(id string) VehicleEvaluator
}

// Prefetcher is an Evaluator that can prepare a read's fixes before they are evaluated one
// by one, such as asking a remote geofence about all their moves in one round trip. It
// changes nothing an evaluation returns, and is called without any vehicle's lock.
type Prefetcher interface {
	Prefetch(ctx context.Context, fixes []Fix)
}

// VehicleEvaluator is one vehicle of an Evaluator. The pipeline locks State and calls
// Evaluate in device-time order for fixes that extend the track; a late fix (older than the
// newest) arrives with Late set and is the evaluator's to place in the past.
type VehicleEvaluator interface {
	State() *VehicleState
	// Evaluate appends what f caused to out, State locked; an event of f names it by f.Seq.
	Evaluate(ctx context.Context, f *Fix, out *Outcome) error
}

// Outcome is what evaluating produced, to be committed.
type Outcome struct {
	Events []Event
	Alerts []Alert
}

// Publisher receives what was durably committed, for live fan-out: the fixes and events this
// commit stored (not those of fixes stored before, nor fixes flagged FlagConflict or
// FlagClockAhead, which are evidence and not the vehicle's track) and the alerts as upserted. It must not
// block, and must copy what it keeps: the slices are reused once it returns.
type Publisher interface {
	Publish(fixes []Fix, events []Event, alerts []Alert)
}

// Committer makes batches durable: a FixStore's Commit.
type Committer interface {
	Commit(ctx context.Context, b *Batch) error
}

// VehicleState is the pipeline's part of a vehicle's state: its newest fixes and the fixes in
// flight, by which resends are recognised. The zero value is ready; an Evaluator's vehicles
// embed it, and its lock guards all of theirs.
type VehicleState struct {
	mu      sync.Mutex
	hasLast bool // last is set
	hasGood bool // good is set
	// lastValid is last's validity, beside the flags above rather than in last: that padding
	// is free, and a vehicle's state (rules' included) then fits a smaller size class.
	lastValid bool
	// clockAhead: the vehicle is in a clock-ahead episode, held in Pipeline.episodes (free
	// padding too: most vehicles never have one).
	clockAhead bool
	// last is the newest fix by device time: what a resend of it is judged against once it is
	// no longer in flight; good the newest valid fix not flagged as a jump, the reference for
	// jumps. Only what those need is kept: a vehicle holds them as long as it exists.
	last lastFix
	good position
	// fl is what is held of the fixes in flight, nil while there are none: a vehicle between
	// reads, its fixes acknowledged, holds only last and good (its 160 bytes are most of the
	// pipeline's share of every vehicle otherwise).
	fl *inFlight
}

// inFlight is what a vehicle holds of its fixes evaluated and not known to be acknowledged,
// by (device, time), with what they reported and the submission carrying them: a resend is
// answered from here. Entries go once durable and acknowledged, or owedWindow older than
// last. The newest is in newest; keys, the others, sorted by key, exists only while a vehicle
// has several: most have one in flight or none. A read's fixes come in order and append. It
// is a slice from heldKeys rather than a map: a map made and grown for every read of a
// pipelining terminal (15 fixes besides the newest) was a third of the bytes allocated per fix.
type inFlight struct {
	newestKey fixKey
	newest    sent
	keys      []keyedSent
	sweepAt   int
}

// heldInFlight recycles vehicles' inFlight: a vehicle's goes once its read is acknowledged,
// and its next read needs one again.
var heldInFlight = sync.Pool{New: func() any { return new(inFlight) }}

// keyedSent is what is held of the reports of one device time besides a vehicle's newest.
type keyedSent struct {
	key fixKey
	sent
}

// heldKeys recycles vehicles' keys slices: a vehicle's keys go once its read is acknowledged,
// and the next read needs as many again.
var heldKeys sync.Pool

// maxPooledKeys: a longer keys slice (a blind-area upload's) is not kept for every later read.
const maxPooledKeys = 256

func cmpKey(a, b fixKey) int {
	if a.t != b.t {
		return cmp.Compare(a.t, b.t)
	}
	return strings.Compare(a.device, b.device)
}

// find returns where k is, or would be, in st.keys.
func (st *inFlight) find(k fixKey) (int, bool) {
	if n := len(st.keys); n == 0 || cmpKey(st.keys[n-1].key, k) < 0 {
		return n, false // in order: the common case
	}
	return slices.BinarySearchFunc(st.keys, k, func(e keyedSent, k fixKey) int { return cmpKey(e.key, k) })
}

// lastFix is what a vehicle keeps of its newest fix: its report, the attributes in a list the
// vehicle owns and refills rather than in the fix's map (a map of three attributes is ~340
// bytes, and every vehicle holds its newest fix).
type lastFix struct {
	key                      fixKey
	lat, lon, speed, heading float64
	received                 int64
	flags                    []string
	attrs                    []attr
}

// attr is one attribute of a vehicle's newest fix.
type attr struct {
	k string
	v any
}

// report is the newest fix's report with its attributes, for the rare resend of it once it
// is no longer in flight.
func (s *VehicleState) lastReport() report {
	l := &s.last
	r := report{lat: l.lat, lon: l.lon, speed: l.speed, heading: l.heading, valid: s.lastValid, received: l.received, flags: l.flags}
	if len(l.attrs) > 0 {
		r.attrs = make(map[string]any, len(l.attrs))
		for _, a := range l.attrs {
			r.attrs[a.k] = a.v
		}
	}
	return r
}

// position is a device time (Unix nanoseconds) and where the vehicle was.
type position struct {
	t        int64
	lat, lon float64
}

// keep makes f the vehicle's newest fix, and its newest good one if it is valid and no jump.
func (s *VehicleState) keep(f *Fix) {
	attrs := s.last.attrs[:0]
	if cap(attrs) < len(f.Attrs) {
		// Sized exactly: appended one by one they would grow to the next power of two, and
		// every vehicle holds them.
		attrs = make([]attr, 0, len(f.Attrs))
	}
	for k, v := range f.Attrs {
		attrs = append(attrs, attr{k, v})
	}
	clear(attrs[len(attrs):cap(attrs)]) // what the previous fix said more
	s.last = lastFix{key: fixKey{f.DeviceID, f.Time.UnixNano()}, lat: f.Lat, lon: f.Lon, speed: f.SpeedKmh, heading: f.Heading,
		received: f.ReceivedAt.UnixNano(), flags: f.Flags, attrs: attrs}
	s.hasLast, s.lastValid = true, f.Valid
	if f.Valid && !f.HasFlag(FlagJump) {
		s.good, s.hasGood = position{f.Time.UnixNano(), f.Lat, f.Lon}, true
	}
}

// before reports whether f is older than the vehicle's newest fix.
func (s *VehicleState) before(f *Fix) bool { return s.hasLast && f.Time.UnixNano() < s.last.key.t }

// lookup returns what is held of the reports of k.
func (st *VehicleState) lookup(k fixKey) (sent, bool) {
	fl := st.fl
	if fl == nil {
		return sent{}, false
	}
	if fl.newestKey == k {
		return fl.newest, true
	}
	if i, ok := fl.find(k); ok {
		return fl.keys[i].sent, true
	}
	return sent{}, false
}

// settled reports whether the reports in s need no longer be held: durable and acknowledged,
// given up by Close, or unacknowledged and older than horizon.
func (s *sent) settled(k fixKey, horizon int64) bool {
	select {
	case <-s.pd.done:
		return s.pd.acked.Load() || s.pd.err != nil || k.t < horizon
	default:
		return false
	}
}

// sent is what the pipeline holds of the reports of one device time not known to be
// acknowledged: the first, which the others are judged against, and those that differed.
type sent struct {
	// pd is the newest submission carrying one of them: writes go in order, so once it is
	// durable all of them are.
	pd     *pending
	first  report
	others *[]report // nil unless the device reported this time differently
}

// knows reports whether one of the reports held covers r: r is then a retransmission.
func (s *sent) knows(r *report) bool {
	if s.first.covers(r) {
		return true
	}
	if s.others != nil {
		for i := range *s.others {
			if (*s.others)[i].covers(r) {
				return true
			}
		}
	}
	return false
}

// add notes r as carried by pd.
func (s *sent) add(r report, pd *pending) {
	if s.others == nil {
		s.others = new([]report)
	}
	*s.others = append(*s.others, r)
	s.pd = pd
}

// Reset forgets the vehicle's fixes, the vehicle locked: another process took them over.
func (s *VehicleState) Reset() {
	s.last, s.hasLast, s.lastValid, s.good, s.hasGood = lastFix{}, false, false, position{}, false
	s.dropInFlight()
}

// dropInFlight forgets what the vehicle holds of its fixes in flight, giving it back for
// another vehicle's.
func (s *VehicleState) dropInFlight() {
	if s.fl == nil {
		return
	}
	s.fl.dropKeys()
	*s.fl = inFlight{}
	heldInFlight.Put(s.fl)
	s.fl = nil
}

// Lock locks the vehicle: the pipeline holds it while it takes a fix, timers and gate reads
// while they change the vehicle.
func (s *VehicleState) Lock() { s.mu.Lock() }

// Unlock unlocks the vehicle.
func (s *VehicleState) Unlock() { s.mu.Unlock() }

// PipelineConfig configures a Pipeline.
type PipelineConfig struct {
	Store      Committer
	Evaluator  Evaluator // may be nil: fixes are stored and published only
	Publisher  Publisher // may be nil
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// MaxClockAhead: a fix whose device time is further ahead of the server clock is evaluated
	// as of when it was received (flagged FlagRetimed, the device's time kept in AttrDeviceTime)
	// and raises AlertDeviceClockAhead once per episode (default 30 s; GNSS times are within a
	// second, server clocks NTP-synced).
	MaxClockAhead time.Duration
	// MaxSpeedKmh flags a fix whose implied speed from the previous good fix exceeds it (default 300).
	MaxSpeedKmh float64
	// MaxBatch caps the fixes of one group commit (default 4096).
	MaxBatch int
	// MaxBacklog is how many evaluated fixes may wait to be written (while the store fails or
	// lags) before Submit turns new fixes away unevaluated with ErrBacklogFull (default 500,000).
	MaxBacklog int
	// RetryMin and RetryMax bound the pause between attempts at a failed group commit
	// (defaults 50 ms and 5 s).
	RetryMin, RetryMax time.Duration
	// CloseTimeout bounds how long Close keeps retrying a failing store before giving up on
	// the backlog (default 10 s).
	CloseTimeout time.Duration
	Now          func() time.Time
}

// Pipeline is the one path from gateways to the store: hygiene, per-vehicle evaluation in
// order, group commit, acknowledgement, live fan-out. Vehicles are partitioned over shards
// by a hash of their id; each vehicle has its own lock, so vehicles never wait for each other
// except at the store's group commit.
//
// Once a fix is evaluated, the vehicle's state (here, in the rules, in the geofence engine)
// has moved past it and cannot be rolled back, so the pipeline owns the fix and what it
// caused until they are durable: a failed group commit is retried, same batch, until it
// succeeds or Close gives up. Its submitters get the error at once (nothing is acknowledged);
// the device's resend is recognised by (device, time) and content as a retransmission of a
// fix in flight or already written, and acknowledged once that is durable, neither evaluated
// again nor marked late. The backlog is bounded by turning new fixes away before evaluating them.
//
// A report of a known device time that differs from what was reported is never dropped: at
// the same position it adds alarms, and is merged with the first, stored and evaluated; at
// another position it is stored flagged FlagConflict, not evaluated (a forged copy must not
// move the vehicle), and raises AlertDeviceConflict. Which of two such reports is genuine
// cannot be told here: the first one drives the track, and the alert shows an officer both.
type Pipeline struct {
	cfg PipelineConfig
	log *slog.Logger
	m   *pipelineMetrics
	// own holds the vehicles when there is no Evaluator to hold them.
	own *VehicleMap[*VehicleState]
	seq atomic.Uint64 // the last Seq given to a fix

	// admit orders admission against Close: Submit and Emit hold it shared from admission
	// until their work is queued, so Close knows when nothing more can arrive.
	admit  sync.RWMutex
	closed bool
	active sync.WaitGroup

	qmu      sync.Mutex
	incoming []*pending // queued for the writer, in order
	wake     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}

	// fixBufs recycles submissions' fix arrays once they are written: a submission of a few
	// fixes is made per read of every connection. encBufs does the same for their encodings.
	fixBufs, encBufs sync.Pool
	// enc is the store's FixEncoder, nil if it has none.
	enc FixEncoder

	backlog atomic.Int64 // fixes evaluated (or about to be) and not yet durable
	waiting atomic.Int64 // submissions queued and not yet durable
	full    atomic.Bool  // refusing new fixes until the backlog drains

	// storeErr is the last commit error while a batch that failed is still waiting: /readyz
	// reports it.
	storeErr atomic.Pointer[error]
	failMu   sync.Mutex
	failed   *failNote

	// episodes are the vehicles whose device clock is ahead (VehicleState.clockAhead), by id.
	epMu     sync.Mutex
	episodes map[string]*clockEpisode
}

// failNote is closed when a commit attempt fails, to tell waiting submitters at once.
type failNote struct {
	ch  chan struct{}
	err error // set before ch is closed
}

type fixKey struct {
	device string
	t      int64 // device time, Unix nanoseconds
}

const (
	// sweepMin: a vehicle's keys are swept when they reach this many (then twice what remained).
	// Low, so that a vehicle between reads holds no map: the reports a key keeps (attributes
	// and all) and their submissions were most of a vehicle's memory at 8.
	sweepMin = 2
	// owedWindow: a fix written but never acknowledged is recognised on resend this far back
	// from the vehicle's newest fix; terminals resend within hours.
	owedWindow = 24 * time.Hour
)

// pending is one Submit's or Emit's share of a group commit.
type pending struct {
	fixes []Fix
	out   Outcome       // what its fixes caused (the Evaluator appends in place), or Emit's
	done  chan struct{} // closed once durable, or given up by Close
	err   error         // set before done is closed: nil when durable
	acked atomic.Bool   // its submitter acknowledged every fix of it
	// enc holds its fixes encoded by the store's FixEncoder, nil when not encoded ahead.
	enc *encoded
	// pooled is the pool's handle on the array of fixes, put back with it: a new handle for
	// every recycled array was one allocation a submission.
	pooled *[]Fix
	// retried: a commit attempt including it failed (the writer's own).
	retried bool
}

// encoded is a submission's fixes as a FixEncoder encoded them: fix i is
// data[ends[i-1]:ends[i]] (from 0 for the first).
type encoded struct {
	data []byte
	ends []int
}

var _ Sink = (*Pipeline)(nil)

// NewPipeline starts the pipeline's writer. Close stops it.
func NewPipeline(cfg PipelineConfig) *Pipeline {
	if cfg.MaxClockAhead == 0 {
		cfg.MaxClockAhead = 30 * time.Second
	}
	if cfg.MaxSpeedKmh == 0 {
		cfg.MaxSpeedKmh = 300
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.MaxBacklog == 0 {
		cfg.MaxBacklog = 500_000
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = 50 * time.Millisecond
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 5 * time.Second
	}
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pipeline{
		cfg:      cfg,
		log:      cfg.Logger,
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
		failed:   &failNote{ch: make(chan struct{})},
		episodes: map[string]*clockEpisode{},
	}
	if cfg.Evaluator == nil {
		p.own = NewVehicleMap(func(string) *VehicleState { return &VehicleState{} })
	}
	p.enc, _ = cfg.Store.(FixEncoder)
	p.m = newPipelineMetrics(cfg.Registerer,
		func() float64 { return float64(p.waiting.Load()) },
		func() float64 { return float64(p.backlog.Load()) })
	go p.writer()
	return p
}

// Seed gives vehicles their newest stored fix after a restart, so that lateness, jumps and
// retransmissions are judged against what is already stored.
func (p *Pipeline) Seed(fixes []Fix) {
	for _, f := range fixes {
		st, _ := p.vehicle(f.VehicleID)
		st.Lock()
		if !st.hasLast || f.Time.UnixNano() > st.last.key.t {
			st.keep(&f)
		}
		st.Unlock()
	}
}

// vehicle returns the vehicle's state and its evaluator (nil without an Evaluator).
func (p *Pipeline) vehicle(id string) (*VehicleState, VehicleEvaluator) {
	if p.own != nil {
		return p.own.Get(id), nil
	}
	v := p.cfg.Evaluator.Vehicle(id)
	return v.State(), v
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("pipeline closed")

// ErrBacklogFull is returned by Submit while the fixes waiting to be written exceed
// MaxBacklog; the fixes it did not take were not evaluated. Nothing may be acknowledged: the
// device resends.
var ErrBacklogFull = errors.New("pipeline: store write backlog full; fixes not taken, resend later")

// Submit checks, evaluates and durably stores fixes; see Sink.
func (p *Pipeline) Submit(ctx context.Context, fixes []Fix) error {
	if err := p.enter(); err != nil {
		return err
	}
	now := p.cfg.Now()
	pd := newPending()
	// Each fix is evaluated in its place in the submission (dropped again if refused or
	// resent), and the Evaluator appends to its output in place: copies handed over would
	// escape to the heap once per fix.
	p.fixBuf(pd, len(fixes))
	out := &pd.out
	var refused []Refusal
	var resent []*pending
	var touched []*VehicleState // the vehicles of these fixes, for release
	var evalErr error
	p.countReceived(fixes)
	if pf, ok := p.cfg.Evaluator.(Prefetcher); ok && len(fixes) > 1 {
		pf.Prefetch(ctx, fixes)
	}
	seq := p.seq.Add(uint64(len(fixes))) - uint64(len(fixes)) // fixes[i] gets seq+i+1
	ahead := newestAhead(fixes, now)
	for i := range fixes {
		pd.fixes = append(pd.fixes, fixes[i])
		f := &pd.fixes[len(pd.fixes)-1]
		if reason := p.check(f, now); reason != "" {
			pd.fixes = pd.fixes[:len(pd.fixes)-1]
			p.m.rejected.WithLabelValues(reason).Inc()
			refused = append(refused, Refusal{Index: i, Reason: reason})
			continue
		}
		if f.ReceivedAt.IsZero() {
			f.ReceivedAt = now
		}
		f.Time, f.ReceivedAt = f.Time.UTC(), f.ReceivedAt.UTC()
		f.Seq = seq + uint64(i) + 1
		events, alerts := len(out.Events), len(out.Alerts)
		carrier, dup, st, err := p.evaluate(ctx, f, pd, now, ahead[f.DeviceID], len(fixes)-i-1)
		if len(touched) == 0 || touched[len(touched)-1] != st {
			touched = append(touched, st)
		}
		if err != nil {
			pd.fixes = pd.fixes[:len(pd.fixes)-1]
			out.Events, out.Alerts = out.Events[:events], out.Alerts[:alerts]
			// What was evaluated before stays queued: the state has moved past it.
			if errors.Is(err, ErrBacklogFull) {
				p.m.deferred.Add(float64(len(fixes) - i))
			}
			evalErr = err
			break
		}
		if dup {
			pd.fixes = pd.fixes[:len(pd.fixes)-1]
			p.m.duplicates.Inc()
			if carrier != nil && carrier != pd {
				resent = append(resent, carrier)
			}
		}
	}
	p.encode(pd)
	queued := p.enqueue(pd)
	if evalErr != nil {
		return evalErr
	}
	if queued {
		if err := p.await(ctx, pd); err != nil {
			return err
		}
	}
	for _, c := range resent {
		if err := p.await(ctx, c); err != nil {
			return err
		}
	}
	pd.acked.Store(true)
	release(touched, pd)
	if refused != nil {
		return &RefusedError{Refused: refused}
	}
	return nil
}

func newPending() *pending { return &pending{done: make(chan struct{})} }

// pooledFixes is the capacity of the fix arrays recycled; bigger batches (a blind-area upload)
// get their own.
const pooledFixes = 64

// fixBuf gives pd an empty array for n fixes, a pooled one when it holds them.
func (p *Pipeline) fixBuf(pd *pending, n int) {
	if n > pooledFixes {
		pd.fixes = make([]Fix, 0, n)
		return
	}
	b, ok := p.fixBufs.Get().(*[]Fix)
	if !ok {
		a := make([]Fix, 0, pooledFixes)
		b = &a
	}
	pd.fixes, pd.pooled = (*b)[:0], b
}

// encode has the store encode pd's fixes now, on the submitting goroutine: the group commit
// then copies their bytes instead of encoding them while every submitter of the group waits.
// A fix the store cannot encode leaves pd without encodings: the Commit fails as before.
func (p *Pipeline) encode(pd *pending) {
	if p.enc == nil || len(pd.fixes) == 0 {
		return
	}
	e, ok := p.encBufs.Get().(*encoded)
	if !ok {
		e = new(encoded)
	}
	for i := range pd.fixes {
		var err error
		if e.data, err = p.enc.EncodeFix(e.data, &pd.fixes[i]); err != nil {
			p.recycleEncoded(e)
			return
		}
		e.ends = append(e.ends, len(e.data))
	}
	pd.enc = e
}

// maxPooledEncoded: a bigger encoding (a blind-area upload's) is not kept for every later read.
const maxPooledEncoded = 16 << 10

func (p *Pipeline) recycleEncoded(e *encoded) {
	if cap(e.data) > maxPooledEncoded {
		return
	}
	e.data, e.ends = e.data[:0], e.ends[:0]
	p.encBufs.Put(e)
}

// recycleFixes takes back a written submission's fixes and their encodings: nothing reads
// them after their commit (resends are matched by key, waiting submitters by done).
func (p *Pipeline) recycleFixes(pd *pending) {
	if pd.enc != nil {
		p.recycleEncoded(pd.enc)
		pd.enc = nil
	}
	b, pooled := pd.fixes, pd.pooled
	pd.fixes, pd.pooled = nil, nil
	if pooled == nil {
		return
	}
	clear(b)
	*pooled = b[:0]
	p.fixBufs.Put(pooled)
}

// countReceived counts fixes per protocol, one counter update per run of the same protocol
// (a gateway's batch is all one protocol).
func (p *Pipeline) countReceived(fixes []Fix) {
	for i := 0; i < len(fixes); {
		j := i + 1
		for j < len(fixes) && fixes[j].Protocol == fixes[i].Protocol {
			j++
		}
		if proto := fixes[i].Protocol; proto != "" {
			p.m.received.WithLabelValues(proto).Add(float64(j - i))
		}
		i = j
	}
}

// enter admits a Submit or Emit, which must then call enqueue.
func (p *Pipeline) enter() error {
	p.admit.RLock()
	defer p.admit.RUnlock()
	if p.closed {
		return ErrClosed
	}
	p.active.Add(1)
	return nil
}

// reserve takes a place in the backlog for a fix about to be evaluated, or reports that the
// backlog is full: the fix is then turned away before any state changes. A retransmission
// needs no place, and Emit's output is never turned away (its state has already moved).
func (p *Pipeline) reserve() bool {
	total := p.backlog.Add(1)
	if !p.full.Load() && total <= int64(p.cfg.MaxBacklog) {
		return true
	}
	p.backlog.Add(-1)
	if p.full.CompareAndSwap(false, true) {
		p.log.Warn("store write backlog full: new fixes are turned away unevaluated until it drains",
			"backlog_fixes", total-1, "limit", p.cfg.MaxBacklog, "store_err", p.StoreError())
	}
	return false
}

// enqueue hands pd to the writer unless it is empty. It never blocks: the backlog is bounded
// by reserve.
func (p *Pipeline) enqueue(pd *pending) bool {
	defer p.active.Done()
	if len(pd.fixes) == 0 && len(pd.out.Events) == 0 && len(pd.out.Alerts) == 0 {
		return false
	}
	p.waiting.Add(1)
	p.qmu.Lock()
	p.incoming = append(p.incoming, pd)
	p.qmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// await waits until pd is durable. It returns the store's error as soon as a commit attempt
// fails while pd waits (pd stays queued: it is behind or in that attempt), and ctx's when ctx
// ends first.
func (p *Pipeline) await(ctx context.Context, pd *pending) error {
	p.failMu.Lock()
	note := p.failed
	p.failMu.Unlock()
	select {
	case <-pd.done:
		return pd.err
	case <-note.ch:
		select {
		case <-pd.done:
			return pd.err
		default:
		}
		return fmt.Errorf("not stored yet, kept for retry: %w", note.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// check applies the hygiene rules that refuse a fix, and returns the reason ("" to keep it).
func (p *Pipeline) check(f *Fix, now time.Time) string {
	switch {
	case math.IsNaN(f.Lat) || math.IsNaN(f.Lon) || f.Lat < -90 || f.Lat > 90 || f.Lon < -180 || f.Lon > 180:
		return ReasonBadCoordinates
	case f.Time.Before(oldestTime):
		return ReasonAncientTime
	}
	if f.Valid && f.Lat == 0 && f.Lon == 0 {
		f.Valid = false // a "valid" fix at 0,0 is a terminal without a position
	}
	if f.Flags == nil {
		f.Flags = []string{}
	}
	return ""
}

// oldestTime: GNSS receivers hit by week-number rollover report dates before this.
var oldestTime = time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC)

// evaluate updates the vehicle's state and runs the evaluator, with the vehicle locked, and
// notes the fix as carried by pd; the evaluator appends to pd.out. A retransmission (a report
// of the same device and time that one evaluated before covers) is not evaluated again: dup
// is set, with the submission carrying the original if it is not known to be acknowledged
// (nil if it is stored and was). A report of a known time that differs is merged or marked
// as a conflict (see Pipeline), one from ahead of the server clock (now) retimed (see
// retime; newest is the newest device time of f's device in its submission when that is
// ahead of now). more is how many fixes follow f in its submission.
func (p *Pipeline) evaluate(ctx context.Context, f *Fix, pd *pending, now, newest time.Time, more int) (carrier *pending, dup bool, st *VehicleState, err error) {
	st, v := p.vehicle(f.VehicleID)
	st.Lock()
	defer st.Unlock()
	k := fixKey{f.DeviceID, f.Time.UnixNano()}
	r := reportOf(f)
	s, known := st.lookup(k)
	if known {
		if s.knows(&r) {
			return s.pd, true, st, nil
		}
	} else if st.hasLast && (k == st.last.key || st.lastClaimed(k)) {
		// Stored before this process started, or written and acknowledged.
		s, known = sent{first: st.lastReport()}, true
		if s.first.covers(&r) {
			return nil, true, st, nil
		}
	}
	if !p.reserve() {
		return nil, false, st, ErrBacklogFull
	}
	if known {
		if !s.first.near(&r) {
			p.conflict(st, f, &s.first, pd)
			s.add(r, pd)
			st.note(k, s, more)
			return nil, false, st, nil
		}
		// The same position, or one within conflictM, with more to say (an alarm re-sent with
		// the time unchanged, a lock event): one record holding both, evaluated for what it adds.
		f.MergeFrom(&Fix{Flags: s.first.flags, Attrs: s.first.attrs})
		p.m.merged.Inc()
	}
	p.retime(st, f, now, newest, &pd.out)
	if st.before(f) {
		f.Late = true
	}
	if err := p.evaluateTrack(ctx, st, v, f, pd); err != nil {
		return nil, false, st, err
	}
	if known {
		s.add(r, pd)
	} else {
		s = sent{pd: pd, first: r}
	}
	st.note(k, s, more)
	return nil, false, st, nil
}

// evaluateTrack flags f as a jump, runs the evaluator and makes f the vehicle's newest fix
// unless it is late: f extends or fills the vehicle's track.
func (p *Pipeline) evaluateTrack(ctx context.Context, st *VehicleState, v VehicleEvaluator, f *Fix, pd *pending) error {
	if f.Valid && st.hasGood && !f.Late {
		if impliedSpeedKmh(st.good, f) > p.cfg.MaxSpeedKmh {
			f.Flags = append(f.Flags, FlagJump)
		}
	}
	if v != nil {
		if err := v.Evaluate(ctx, f, &pd.out); err != nil {
			// The pipeline's own state has not moved: the resent fix is evaluated afresh.
			p.backlog.Add(-1)
			return err
		}
	}
	if f.Late {
		p.m.late.Inc()
	}
	if f.HasFlag(FlagJump) {
		p.m.flagged.WithLabelValues(FlagJump).Inc()
	}
	if !f.Late {
		st.keep(f)
	}
	return nil
}

// note keeps s as what is known of the reports of k; more fixes of the same submission may
// follow, to size the keys.
func (vs *VehicleState) note(k fixKey, s sent, more int) {
	st := vs.fl
	if st == nil {
		st = heldInFlight.Get().(*inFlight)
		st.newestKey, st.newest = k, s
		vs.fl = st
		return
	}
	if st.newestKey == k {
		st.newest = s
		return
	}
	if i, ok := st.find(k); ok {
		st.keys[i].sent = s
		return
	}
	horizon := vs.last.key.t - int64(owedWindow)
	if !st.newest.settled(st.newestKey, horizon) {
		if len(st.keys) >= st.sweepAt {
			st.sweep(horizon)
		}
		if st.keys == nil {
			if b, ok := heldKeys.Get().(*[]keyedSent); ok {
				st.keys = *b
			} else {
				st.keys = make([]keyedSent, 0, min(max(more+1, sweepMin), maxPooledKeys))
			}
			st.sweepAt = sweepMin
		}
		i, _ := st.find(st.newestKey)
		st.keys = slices.Insert(st.keys, i, keyedSent{st.newestKey, st.newest})
	}
	st.newestKey, st.newest = k, s
}

// conflict marks f, a report of a device time known at another position (first), as a
// conflict and raises the device's alert; f is stored as evidence, not evaluated.
func (p *Pipeline) conflict(st *VehicleState, f *Fix, first *report, pd *pending) {
	f.Flags = append(slices.Clip(f.Flags), FlagConflict)
	if st.before(f) {
		f.Late = true
	}
	p.m.flagged.WithLabelValues(FlagConflict).Inc()
	pd.out.Alerts = append(pd.out.Alerts, p.conflictAlert(f, first))
}

// conflictAlert is the alert for f, stored flagged FlagConflict: first is the report of its
// device time it conflicts with, nil when only the store knew of that one.
func (p *Pipeline) conflictAlert(f *Fix, first *report) Alert {
	pos := func(lat, lon, speed, heading float64, valid bool, received time.Time) map[string]any {
		return map[string]any{"lat": lat, "lon": lon, "speed_kmh": speed, "heading": heading, "valid": valid, "received_at": received}
	}
	ev := map[string]any{
		"device_id":   f.DeviceID,
		"device_time": f.Time,
		"second":      pos(f.Lat, f.Lon, f.SpeedKmh, f.Heading, f.Valid, f.ReceivedAt),
		"protocol":    f.Protocol,
	}
	msg := fmt.Sprintf("device %s reported a position for %s that it had reported elsewhere before: a broken or cloned device",
		f.DeviceID, f.Time.Format(time.DateTime))
	if first != nil {
		distM := geofence.GreatCircleM(first.lat, first.lon, f.Lat, f.Lon)
		ev["first"] = pos(first.lat, first.lon, first.speed, first.heading, first.valid, time.Unix(0, first.received).UTC())
		ev["distance_m"] = math.Round(distM)
		msg = fmt.Sprintf("device %s reported two positions for %s, %.0f m apart: a broken or cloned device",
			f.DeviceID, f.Time.Format(time.DateTime), distM)
	}
	evidence, err := json.Marshal(ev)
	if err != nil {
		p.log.Error("device conflict evidence", "err", err) // numbers, strings and times only: cannot happen
	}
	return Alert{
		Type: AlertDeviceConflict,
		// Critical: a second source of positions for one device makes every other finding
		// about the vehicle doubtful until an officer has looked (hole 2 of issue 16).
		Severity:  SeverityCritical,
		Status:    StatusOpen,
		VehicleID: f.VehicleID,
		Time:      f.Time,
		UpdatedAt: f.ReceivedAt,
		Late:      f.Late,
		Lat:       f.Lat,
		Lon:       f.Lon,
		Message:   msg,
		DedupKey:  AlertDeviceConflict + ":" + f.DeviceID + ":" + f.Time.Truncate(time.Hour).Format("2006-01-02T15"),
		Active:    true,
		Evidence:  evidence,
	}
}

// sweep forgets the fixes that are durable and acknowledged, those given up by Close, and
// unacknowledged ones older than horizon. Amortised: it runs when the keys have doubled.
func (s *inFlight) sweep(horizon int64) {
	s.keys = slices.DeleteFunc(s.keys, func(e keyedSent) bool { return e.settled(e.key, horizon) })
	if len(s.keys) == 0 {
		s.dropKeys() // a vehicle between reads holds none
	}
	s.sweepAt = max(sweepMin, 2*len(s.keys))
}

// dropKeys forgets the vehicle's keys, giving their slice back for another vehicle's.
func (s *inFlight) dropKeys() {
	if s.keys == nil {
		return
	}
	if cap(s.keys) <= maxPooledKeys {
		b := s.keys[:0]
		clear(b[:cap(b)]) // it holds no submissions or reports while pooled
		heldKeys.Put(&b)
	}
	s.keys = nil
}

// release forgets, once pd is durable and acknowledged, what its vehicles kept of it for
// resends: the reports of its fixes besides each vehicle's newest, and the submission itself
// behind the newest (its channel and outcome; a settled stand-in tells the same). A vehicle
// that sends nothing more (a terminal's last batch, a blind-area upload) would otherwise keep
// them for as long as it exists; its next fix would sweep them all the same. Once nothing but
// its newest fix is left, and that is the vehicle's last fix reported once, last answers a
// resend of it as well: the vehicle holds nothing in flight.
func release(vehicles []*VehicleState, pd *pending) {
	for _, st := range vehicles {
		st.Lock()
		if fl := st.fl; fl != nil {
			if fl.newest.pd == pd {
				fl.newest.pd = settledPending
			}
			if fl.keys != nil {
				fl.sweep(st.last.key.t - int64(owedWindow))
			}
			if fl.keys == nil && fl.newest.pd == settledPending && fl.newest.others == nil && st.hasLast && fl.newestKey == st.last.key {
				st.dropInFlight()
			}
		}
		st.Unlock()
	}
}

// settledPending stands for a submission that is durable and acknowledged.
var settledPending = func() *pending {
	pd := newPending()
	close(pd.done)
	pd.acked.Store(true)
	return pd
}()

// impliedSpeedKmh is the speed needed to go from a to b; a jump over a short distance (GPS
// noise while standing) never counts.
func impliedSpeedKmh(a position, b *Fix) float64 {
	d := geofence.GreatCircleM(a.lat, a.lon, b.Lat, b.Lon)
	if d < 1000 {
		return 0
	}
	dt := time.Duration(b.Time.UnixNano() - a.t).Hours()
	if dt <= 0 {
		return math.Inf(1)
	}
	return d / 1000 / dt
}

// Emit commits events and alerts that did not come from a fix (timers, gate reads). Like
// fixes, they are kept and retried until written once handed over, whatever Emit returns.
func (p *Pipeline) Emit(ctx context.Context, events []Event, alerts []Alert) error {
	if len(events) == 0 && len(alerts) == 0 {
		return nil
	}
	if err := p.enter(); err != nil {
		return err
	}
	pd := newPending()
	pd.out.Events = append(pd.out.Events, events...)
	pd.out.Alerts = append(pd.out.Alerts, alerts...)
	p.enqueue(pd)
	return p.await(ctx, pd)
}

// writer group-commits what is queued, oldest first: while one commit runs, the next batch
// gathers. A failed commit is retried with the same submissions (and any queued since, up
// to MaxBatch) after a pause growing from RetryMin to RetryMax.
func (p *Pipeline) writer() {
	defer close(p.stopped)
	var (
		queue    []*pending
		b        Batch
		pause    time.Duration
		failing  int // submissions in queue that a failed attempt included
		attempts int // consecutive failed attempts
		stopping bool
		giveUpAt time.Time
	)
	for {
		p.qmu.Lock()
		queue = append(queue, p.incoming...)
		clear(p.incoming)
		p.incoming = p.incoming[:0]
		p.qmu.Unlock()
		if len(queue) == 0 {
			if stopping {
				return
			}
			select {
			case <-p.wake:
			case <-p.stop:
				stopping, giveUpAt = true, time.Now().Add(p.cfg.CloseTimeout)
			}
			continue
		}
		k, n := 1, len(queue[0].fixes)
		for k < len(queue) && n+len(queue[k].fixes) <= p.cfg.MaxBatch {
			n += len(queue[k].fixes)
			k++
		}
		group := queue[:k]
		found, live, err := p.writeGroup(group, &b)
		if err == nil {
			if attempts > 0 {
				p.log.Info("store commits succeed again", "failed_attempts", attempts, "backlog_fixes", p.backlog.Load())
			}
			pause, attempts = 0, 0
			for _, pd := range group {
				if pd.retried {
					failing--
				}
			}
			if failing == 0 {
				p.storeErr.Store(nil)
			}
			// Only now: whoever is told its fixes are durable sees the store error gone.
			for _, pd := range group {
				close(pd.done)
			}
			p.publish(group, live)
			clear(group)
			queue = append(queue[:0], queue[k:]...)
			if len(found) > 0 {
				// Nobody waits for these: they are committed like any other output.
				pd := newPending()
				pd.out.Alerts = found
				pd.acked.Store(true)
				p.waiting.Add(1)
				queue = append(queue, pd)
			}
			continue
		}
		attempts++
		p.m.storeErrors.Inc()
		p.storeErr.Store(&err)
		for _, pd := range group {
			if !pd.retried {
				pd.retried = true
				failing++
			}
		}
		p.failMu.Lock()
		note := p.failed
		note.err = err
		p.failed = &failNote{ch: make(chan struct{})}
		close(note.ch)
		p.failMu.Unlock()
		pause = min(max(2*pause, p.cfg.RetryMin), p.cfg.RetryMax)
		p.log.Warn("store commit failed; fixes not acknowledged, kept for retry",
			"fixes", len(b.Fixes), "backlog_fixes", p.backlog.Load(), "attempt", attempts, "retry_in", pause, "err", err)
		if stopping {
			if left := time.Until(giveUpAt); left <= 0 {
				p.giveUp(queue, err)
				return
			} else if pause > left {
				pause = left
			}
		}
		stop := p.stop
		if stopping {
			stop = nil // already stopping: only the pause
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			stopping, giveUpAt = true, time.Now().Add(p.cfg.CloseTimeout)
		}
	}
}

// committed is what a group commit stored, for the live fan-out.
type committed struct {
	fixes  []Fix
	events []Event
	alerts []Alert
}

// writeGroup commits the submissions of group as one batch and counts what it stored; the
// caller tells the submitters, then publishes what it returns as live. It returns the
// alerts of conflicts only the store found (a report of a device time this process no longer
// held, at another position than the stored one), for the caller to commit next.
func (p *Pipeline) writeGroup(group []*pending, b *Batch) ([]Alert, committed, error) {
	n := 0
	for _, pd := range group {
		n += len(pd.fixes)
	}
	clear(b.Fixes) // the last group's: no references kept for the garbage collector
	clear(b.Encoded)
	b.Fixes, b.Events, b.Alerts = slices.Grow(b.Fixes[:0], n), b.Events[:0], b.Alerts[:0]
	b.Encoded = b.Encoded[:0]
	encoded := p.enc != nil
	for _, pd := range group {
		b.Fixes = append(b.Fixes, pd.fixes...)
		b.Events = append(b.Events, pd.out.Events...)
		b.Alerts = append(b.Alerts, pd.out.Alerts...)
		if len(pd.fixes) > 0 && pd.enc == nil {
			encoded = false
		}
		if encoded && pd.enc != nil {
			start := 0
			for _, end := range pd.enc.ends {
				b.Encoded = append(b.Encoded, pd.enc.data[start:end:end])
				start = end
			}
		}
	}
	if !encoded {
		b.Encoded = b.Encoded[:0] // the store encodes them all
	}
	start := time.Now()
	// The commit must not be cut short by one submitter's context: others share it.
	err := p.cfg.Store.Commit(context.Background(), b)
	p.m.commitSecs.Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, committed{}, err
	}
	var found []Alert
	i := 0
	for _, pd := range group {
		for j := range pd.fixes {
			if f := &b.Fixes[i]; !b.Duplicates[i] && f.HasFlag(FlagConflict) && !pd.fixes[j].HasFlag(FlagConflict) {
				p.m.flagged.WithLabelValues(FlagConflict).Inc()
				found = append(found, p.conflictAlert(f, nil))
			}
			i++
		}
	}
	p.m.batchFixes.Observe(float64(len(b.Fixes)))
	stored, evidence := b.Fixes[:0], 0
	for i := range b.Fixes {
		if b.Duplicates[i] {
			p.m.duplicates.Inc()
			continue
		}
		if b.Fixes[i].Evidence() {
			evidence++ // not the vehicle's position: the live map must not move to it
			continue
		}
		stored = append(stored, b.Fixes[i])
	}
	p.m.stored.Add(float64(len(stored) + evidence))
	events := b.Events[:0]
	for _, e := range b.Events {
		p.m.events.WithLabelValues(e.Type).Inc()
		if e.ID != 0 { // not stored with its fix before
			events = append(events, e)
		}
	}
	for _, a := range b.Alerts {
		p.m.alerts.WithLabelValues(a.Type).Inc()
	}
	p.backlog.Add(-int64(len(b.Fixes)))
	p.waiting.Add(-int64(len(group)))
	if p.full.Load() && p.backlog.Load() <= int64(p.cfg.MaxBacklog)*9/10 && p.full.CompareAndSwap(true, false) {
		p.log.Info("store write backlog drained below its limit: taking new fixes again", "backlog_fixes", p.backlog.Load())
	}
	return found, committed{stored, events, b.Alerts}, nil
}

// publish hands what a group commit stored to the live fan-out and takes back its
// submissions' buffers, after their submitters were told: the acknowledgements of a group
// do not wait for the fan-out (live positions are not part of the promise an ack makes).
func (p *Pipeline) publish(group []*pending, c committed) {
	if p.cfg.Publisher != nil && (len(c.fixes) > 0 || len(c.events) > 0 || len(c.alerts) > 0) {
		p.cfg.Publisher.Publish(c.fixes, c.events, c.alerts)
	}
	for _, pd := range group {
		p.recycleFixes(pd)
		// Written: nothing reads what it caused again, while the pending itself may live on in
		// its vehicles' keys until they are swept.
		pd.out = Outcome{}
	}
}

// giveUp ends the submissions Close could not write, saying what is lost.
func (p *Pipeline) giveUp(queue []*pending, err error) {
	var fixes, events, alerts int
	gone := fmt.Errorf("pipeline closed before the store took it: %w", err)
	for _, pd := range queue {
		fixes += len(pd.fixes)
		events += len(pd.out.Events)
		alerts += len(pd.out.Alerts)
		pd.err = gone
		close(pd.done)
	}
	p.backlog.Add(-int64(fixes))
	p.waiting.Add(-int64(len(queue)))
	p.log.Error("closing with a failing store: evaluated output not written (fixes were not acknowledged; devices resend them)",
		"fixes", fixes, "events", events, "alerts", alerts, "err", err)
}

// StoreError is the last commit's error while what failed is still waiting to be written,
// or nil when the store is taking writes.
func (p *Pipeline) StoreError() error {
	if e := p.storeErr.Load(); e != nil {
		return fmt.Errorf("%w (%d fixes waiting to be written)", *e, p.backlog.Load())
	}
	return nil
}

// Close stops taking fixes, writes what was queued (retrying a failing store for at most
// CloseTimeout) and stops the writer.
func (p *Pipeline) Close() {
	p.admit.Lock()
	was := p.closed
	p.closed = true
	p.admit.Unlock()
	if was {
		<-p.stopped
		return
	}
	p.active.Wait()
	close(p.stop)
	<-p.stopped
}
