package tracker

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Evaluator turns a vehicle's fixes into events and alerts. The pipeline calls it with the
// vehicle's state locked, in device-time order for fixes that extend the track; a late fix
// (older than the newest) arrives with Late set and is the evaluator's to place in the past.
type Evaluator interface {
	Evaluate(ctx context.Context, st *VehicleState, f *Fix, out *Outcome) error
}

// Outcome collects what evaluating one fix produced. An event's FixRef of 1 names the fix
// being evaluated; 0 names none.
type Outcome struct {
	Events []Event
	Alerts []Alert
}

// Publisher receives what was durably committed, for live fan-out. It must not block.
type Publisher interface {
	Publish(fixes []Fix, alerts []Alert)
}

// VehicleState is what the pipeline keeps per vehicle between fixes. Rules keep their own
// per-vehicle state in Rules.
type VehicleState struct {
	VehicleID string
	Last      Fix  // newest fix by device time
	HasLast   bool // Last is set
	LastGood  Fix  // newest valid fix not flagged as a jump: the reference for jumps and geofencing
	HasGood   bool
	Rules     any
}

// PipelineConfig configures a Pipeline.
type PipelineConfig struct {
	Store      FixStore
	Evaluator  Evaluator // may be nil: fixes are stored and published only
	Publisher  Publisher // may be nil
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// MaxFuture refuses fixes whose device time is this far ahead of the server clock (default 10 min).
	MaxFuture time.Duration
	// MaxSpeedKmh flags a fix whose implied speed from the previous good fix exceeds it (default 300).
	MaxSpeedKmh float64
	// MaxBatch caps the fixes of one group commit (default 4096).
	MaxBatch int
	// QueueSize is how many submissions may wait for the writer before Submit blocks (default 65536).
	QueueSize int
	Now       func() time.Time
}

// Pipeline is the one path from gateways to the store: hygiene, per-vehicle evaluation in
// order, group commit, acknowledgement, live fan-out. Vehicles are partitioned over shards
// by a hash of their id; each vehicle has its own lock, so vehicles never wait for each other
// except at the store's group commit.
type Pipeline struct {
	cfg     PipelineConfig
	log     *slog.Logger
	m       *pipelineMetrics
	seed    maphash.Seed
	shards  [64]shard
	queue   chan *pending
	stop    chan struct{}
	stopped chan struct{}
	closing atomic.Bool
	// storeErr is the last commit error, nil after a success: /readyz reports it.
	storeErr atomic.Pointer[error]
	pool     sync.Pool
}

type shard struct {
	mu       sync.Mutex
	vehicles map[string]*vehicleEntry
}

type vehicleEntry struct {
	mu sync.Mutex
	st VehicleState
}

// pending is one Submit's share of a group commit.
type pending struct {
	batch Batch
	done  chan error
}

var _ Sink = (*Pipeline)(nil)

// NewPipeline starts the pipeline's writer. Close stops it.
func NewPipeline(cfg PipelineConfig) *Pipeline {
	if cfg.MaxFuture == 0 {
		cfg.MaxFuture = 10 * time.Minute
	}
	if cfg.MaxSpeedKmh == 0 {
		cfg.MaxSpeedKmh = 300
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 65536
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pipeline{
		cfg:     cfg,
		log:     cfg.Logger,
		seed:    maphash.MakeSeed(),
		queue:   make(chan *pending, cfg.QueueSize),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	p.pool.New = func() any { return &pending{done: make(chan error, 1)} }
	for i := range p.shards {
		p.shards[i].vehicles = map[string]*vehicleEntry{}
	}
	p.m = newPipelineMetrics(cfg.Registerer, func() float64 { return float64(len(p.queue)) })
	go p.writer()
	return p
}

// Seed gives vehicles their newest stored fix after a restart, so that lateness, jumps and
// retransmissions are judged against what is already stored.
func (p *Pipeline) Seed(fixes []Fix) {
	for _, f := range fixes {
		e := p.entry(f.VehicleID)
		e.mu.Lock()
		if !e.st.HasLast || f.Time.After(e.st.Last.Time) {
			e.st.Last, e.st.HasLast = f, true
			if f.Valid && !f.HasFlag(FlagJump) {
				e.st.LastGood, e.st.HasGood = f, true
			}
		}
		e.mu.Unlock()
	}
}

func (p *Pipeline) entry(vehicleID string) *vehicleEntry {
	s := &p.shards[maphash.String(p.seed, vehicleID)%uint64(len(p.shards))]
	s.mu.Lock()
	e := s.vehicles[vehicleID]
	if e == nil {
		e = &vehicleEntry{st: VehicleState{VehicleID: vehicleID}}
		s.vehicles[vehicleID] = e
	}
	s.mu.Unlock()
	return e
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("pipeline closed")

// Submit checks, evaluates and durably stores fixes; see Sink.
func (p *Pipeline) Submit(ctx context.Context, fixes []Fix) error {
	if p.closing.Load() {
		return ErrClosed
	}
	now := p.cfg.Now()
	pd := p.pool.Get().(*pending)
	defer p.pool.Put(pd)
	b := &pd.batch
	b.Fixes, b.Events, b.Alerts = b.Fixes[:0], b.Events[:0], b.Alerts[:0]
	var refused []Refusal
	var out Outcome
	for i := range fixes {
		f := fixes[i]
		if f.Protocol != "" {
			p.m.received.WithLabelValues(f.Protocol).Inc()
		}
		if reason := p.check(&f, now); reason != "" {
			p.m.rejected.WithLabelValues(reason).Inc()
			refused = append(refused, Refusal{Index: i, Reason: reason})
			continue
		}
		if f.ReceivedAt.IsZero() {
			f.ReceivedAt = now
		}
		f.Time, f.ReceivedAt = f.Time.UTC(), f.ReceivedAt.UTC()
		out.Events, out.Alerts = out.Events[:0], out.Alerts[:0]
		if err := p.evaluate(ctx, &f, &out); err != nil {
			return err
		}
		b.Fixes = append(b.Fixes, f)
		ref := len(b.Fixes)
		for _, e := range out.Events {
			if e.FixRef == 1 {
				e.FixRef = ref
			}
			b.Events = append(b.Events, e)
		}
		b.Alerts = append(b.Alerts, out.Alerts...)
	}
	if len(b.Fixes) > 0 {
		if err := p.commit(ctx, pd); err != nil {
			return err
		}
	}
	if refused != nil {
		return &RefusedError{Refused: refused}
	}
	return nil
}

// check applies the hygiene rules that refuse a fix, and returns the reason ("" to keep it).
func (p *Pipeline) check(f *Fix, now time.Time) string {
	switch {
	case math.IsNaN(f.Lat) || math.IsNaN(f.Lon) || f.Lat < -90 || f.Lat > 90 || f.Lon < -180 || f.Lon > 180:
		return ReasonBadCoordinates
	case f.Time.After(now.Add(p.cfg.MaxFuture)):
		return ReasonFutureTime
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

// evaluate updates the vehicle's state and runs the evaluator, with the vehicle locked.
func (p *Pipeline) evaluate(ctx context.Context, f *Fix, out *Outcome) error {
	e := p.entry(f.VehicleID)
	e.mu.Lock()
	defer e.mu.Unlock()
	st := &e.st
	if st.HasLast && f.DeviceID == st.Last.DeviceID && f.Time.Equal(st.Last.Time) {
		return nil // a retransmission: the store keeps one copy, nothing new to evaluate
	}
	if st.HasLast && f.Time.Before(st.Last.Time) {
		f.Late = true
	}
	if f.Late {
		p.m.late.Inc()
	}
	if f.Valid && st.HasGood && !f.Late {
		if impliedSpeedKmh(st.LastGood, *f) > p.cfg.MaxSpeedKmh {
			f.Flags = append(f.Flags, FlagJump)
			p.m.flagged.WithLabelValues(FlagJump).Inc()
		}
	}
	if p.cfg.Evaluator != nil {
		if err := p.cfg.Evaluator.Evaluate(ctx, st, f, out); err != nil {
			return err
		}
	}
	if !f.Late {
		st.Last, st.HasLast = *f, true
		if f.Valid && !f.HasFlag(FlagJump) {
			st.LastGood, st.HasGood = *f, true
		}
	}
	return nil
}

// impliedSpeedKmh is the speed needed to go from a to b; a jump over a short distance (GPS
// noise while standing) never counts.
func impliedSpeedKmh(a, b Fix) float64 {
	d := DistanceM(a.Lat, a.Lon, b.Lat, b.Lon)
	if d < 1000 {
		return 0
	}
	dt := b.Time.Sub(a.Time).Hours()
	if dt <= 0 {
		return math.Inf(1)
	}
	return d / 1000 / dt
}

// DistanceM is the great-circle distance in metres.
func DistanceM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371008.8
	φ1, φ2 := lat1*math.Pi/180, lat2*math.Pi/180
	dφ, dλ := φ2-φ1, (lon2-lon1)*math.Pi/180
	h := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

// Emit commits events and alerts that did not come from a fix (timers, gate reads).
func (p *Pipeline) Emit(ctx context.Context, events []Event, alerts []Alert) error {
	if len(events) == 0 && len(alerts) == 0 {
		return nil
	}
	if p.closing.Load() {
		return ErrClosed
	}
	pd := p.pool.Get().(*pending)
	defer p.pool.Put(pd)
	pd.batch.Fixes = pd.batch.Fixes[:0]
	pd.batch.Events = append(pd.batch.Events[:0], events...)
	pd.batch.Alerts = append(pd.batch.Alerts[:0], alerts...)
	return p.commit(ctx, pd)
}

func (p *Pipeline) commit(ctx context.Context, pd *pending) error {
	select {
	case p.queue <- pd:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.stop:
		return ErrClosed
	}
	// Once queued, the writer owns pd until it answers: wait for it even if ctx ends, so that
	// pd is never reused while being written.
	return <-pd.done
}

// writer group-commits whatever is queued: while one commit runs, the next batch gathers.
func (p *Pipeline) writer() {
	defer close(p.stopped)
	var group []*pending
	var b Batch
	for {
		var first *pending
		select {
		case first = <-p.queue:
		case <-p.stop:
			// Drain what was queued before Close so that nobody waits forever.
			select {
			case first = <-p.queue:
			default:
				return
			}
		}
		group = append(group[:0], first)
		n := len(first.batch.Fixes)
	gather:
		for n < p.cfg.MaxBatch {
			select {
			case pd := <-p.queue:
				group = append(group, pd)
				n += len(pd.batch.Fixes)
			default:
				break gather
			}
		}
		p.writeGroup(group, &b)
	}
}

func (p *Pipeline) writeGroup(group []*pending, b *Batch) {
	b.Fixes, b.Events, b.Alerts = b.Fixes[:0], b.Events[:0], b.Alerts[:0]
	for _, pd := range group {
		off := len(b.Fixes)
		b.Fixes = append(b.Fixes, pd.batch.Fixes...)
		for _, e := range pd.batch.Events {
			if e.FixRef > 0 {
				e.FixRef += off
			}
			b.Events = append(b.Events, e)
		}
		b.Alerts = append(b.Alerts, pd.batch.Alerts...)
	}
	start := time.Now()
	// The commit must not be cut short by one submitter's context: others share it.
	err := p.cfg.Store.Commit(context.Background(), b)
	p.m.commitSecs.Observe(time.Since(start).Seconds())
	if err != nil {
		p.m.storeErrors.Inc()
		p.storeErr.Store(&err)
		p.log.Warn("store commit failed; fixes not acknowledged", "fixes", len(b.Fixes), "err", err)
		for _, pd := range group {
			pd.done <- err
		}
		return
	}
	p.storeErr.Store(nil)
	p.m.batchFixes.Observe(float64(len(b.Fixes)))
	stored := b.Fixes[:0:0]
	for i := range b.Fixes {
		if b.Duplicates[i] {
			p.m.duplicates.Inc()
			continue
		}
		p.m.stored.Inc()
		stored = append(stored, b.Fixes[i])
	}
	for _, e := range b.Events {
		p.m.events.WithLabelValues(e.Type).Inc()
	}
	for _, a := range b.Alerts {
		p.m.alerts.WithLabelValues(a.Type).Inc()
	}
	if p.cfg.Publisher != nil && (len(stored) > 0 || len(b.Alerts) > 0) {
		p.cfg.Publisher.Publish(stored, append([]Alert(nil), b.Alerts...))
	}
	for _, pd := range group {
		pd.done <- nil
	}
}

// StoreError is the last group commit's error, or nil when the store is taking writes.
func (p *Pipeline) StoreError() error {
	if e := p.storeErr.Load(); e != nil {
		return *e
	}
	return nil
}

// Close stops taking fixes, lets queued ones be written, and stops the writer.
func (p *Pipeline) Close() {
	if p.closing.Swap(true) {
		return
	}
	close(p.stop)
	<-p.stopped
}
