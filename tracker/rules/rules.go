// Package rules raises BorderWatch's alerts: it follows every vehicle's fixes through the
// geofence engine, keeps what each rule needs per vehicle (declarations, stops, the corridor,
// the last fixes for late data) and turns anomalies into alerts with evidence, one per incident.
//
// The Engine is the pipeline's Evaluator (per fix, on the hot path), a tracker.Checker (timers:
// signal loss, overstay, declaration expiry, meetings) and the gate handler. It owns the
// vehicles: each embeds the pipeline's tracker.VehicleState, whose lock guards it all. It only
// returns what it raises; whoever called it commits that, so that output not caused by a fix
// is stored and published like everything else.
package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the rules read and change in the store.
type Store interface {
	Zones(ctx context.Context) ([]geofence.Zone, error)
	Zone(ctx context.Context, id string) (geofence.Zone, error)
	Vehicles(ctx context.Context) ([]tracker.Vehicle, error)
	Declarations(ctx context.Context, q tracker.DeclarationQuery) ([]tracker.Declaration, error)
	CloseDeclaration(ctx context.Context, id, status, reason string, at time.Time) (tracker.Declaration, error)
	LatestFixes(ctx context.Context) ([]tracker.Fix, error)
	Alerts(ctx context.Context, q tracker.AlertQuery) ([]tracker.Alert, error)
	// LatestEvents is the newest event of a type of each vehicle: after a restart, the card in
	// each terminal's reader.
	LatestEvents(ctx context.Context, typ string) ([]tracker.Event, error)
	// Weighings: a trip's earlier readings, and the scales' recent ones for their drift.
	Weighings(ctx context.Context, q tracker.WeighingQuery) ([]tracker.Weighing, error)
	// Events: after a restart, what open emergency windows held back (emergency_held).
	Events(ctx context.Context, q tracker.EventQuery) ([]tracker.Event, error)
}

// Config configures an Engine. Zero thresholds take the documented defaults.
type Config struct {
	Engine     geofence.Engine
	Store      Store
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time

	// DetourGrace is how long a vehicle must stay farther than the corridor's width_m from its
	// centre line before a detour is raised (default 2 min). A corridor zone's property
	// "detour_grace_s" overrides it.
	DetourGrace time.Duration
	// StopRadiusM is how far a vehicle may wander and still be stopped (default 75 m).
	StopRadiusM float64
	// StopMin is how long a vehicle must stay within StopRadiusM for a stop_start (default 3 min).
	StopMin time.Duration
	// UnauthorizedStop is how long a vehicle on a declaration may stop outside zones with
	// stop_allowed (default 10 min).
	UnauthorizedStop time.Duration
	// SignalLost is how long a vehicle on a declaration or in a control zone may go without a
	// fix (default 15 min).
	SignalLost time.Duration
	// GateMaxDistanceM is how far the vehicle's last GPS position may be from the gate's zone
	// (default 2000 m).
	GateMaxDistanceM float64
	// GateMaxAge: an older last GPS position is not compared with a gate read (default 30 min).
	GateMaxAge time.Duration
	// MeetingRadiusM and Meeting: two vehicles stopped within this distance for this long
	// outside stop_allowed zones meet (defaults 100 m, 10 min).
	MeetingRadiusM float64
	Meeting        time.Duration
	// ResidentMaxStay is the deadline of a resident car that entered without a declaration
	// (default 24 h).
	ResidentMaxStay time.Duration
	// CrossingGapMax: a border crossing between fixes farther apart in time is unverified,
	// its port unknown, whatever the straight line between them says (default 30 min).
	CrossingGapMax time.Duration
	// TruckKmh is the speed at which a truck could drive from a fix to a port and on to the
	// next fix: a gap that long hides where it crossed (default 90 km/h).
	TruckKmh float64
	// History is how many recent fixes per vehicle are kept to place late fixes (default 32).
	History int
	// Owns says whether this process evaluates the vehicle: in a cluster each vehicle's
	// partition has one owner, and only it runs the vehicle's timers. Nil: every vehicle.
	Owns func(vehicleID string) bool
	// WeightTolerancePct is how far, in percent, a weighed net weight may differ from the
	// declared one before weight_mismatch (default 2); CargoTolerancePct overrides it for a cargo
	// whose declared description contains the key (the longest key found wins), e.g. "煤": 3.
	WeightTolerancePct float64
	CargoTolerancePct  map[string]float64
	// ScaleTolerancePct is how far, in percent, two scales' gross readings of one truck on one
	// trip may differ before double_weighing, and how far a scale's mean difference from the
	// others may go before it counts as drifting (default 1).
	ScaleTolerancePct float64
	// DriftDays is the period over which a scale's drift is judged (default 30).
	DriftDays int
	// WeighingGrace is how long after its arrival in the yard a declared truck may still be
	// weighed before weighing_skipped (default 30 min).
	WeighingGrace time.Duration
}

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setF := func(f *float64, v float64) {
		if *f == 0 {
			*f = v
		}
	}
	set(&c.DetourGrace, 2*time.Minute)
	setF(&c.StopRadiusM, 75)
	set(&c.StopMin, 3*time.Minute)
	set(&c.UnauthorizedStop, 10*time.Minute)
	set(&c.SignalLost, 15*time.Minute)
	setF(&c.GateMaxDistanceM, 2000)
	set(&c.GateMaxAge, 30*time.Minute)
	setF(&c.MeetingRadiusM, 100)
	set(&c.Meeting, 10*time.Minute)
	set(&c.ResidentMaxStay, 24*time.Hour)
	set(&c.CrossingGapMax, 30*time.Minute)
	setF(&c.TruckKmh, 90)
	setF(&c.WeightTolerancePct, 2)
	setF(&c.ScaleTolerancePct, 1)
	set(&c.WeighingGrace, 30*time.Minute)
	if c.DriftDays == 0 {
		c.DriftDays = 30
	}
	if c.History == 0 {
		c.History = 32
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Engine evaluates the rules. It is safe for concurrent use.
type Engine struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	vehicles *tracker.VehicleMap[*vstate]
	mu       sync.RWMutex // guards byPlate and byCard
	byPlate  map[string]string
	byCard   map[string]string
	border   jurisdiction
}

var (
	_ tracker.Evaluator = (*Engine)(nil)
	_ tracker.Checker   = (*Engine)(nil)
)

// New returns an Engine; Load fills it from the store.
func New(cfg Config) *Engine {
	cfg.defaults()
	e := &Engine{
		cfg:     cfg,
		log:     cfg.Logger,
		m:       newMetrics(cfg.Registerer),
		byPlate: map[string]string{},
		byCard:  map[string]string{},
	}
	e.vehicles = tracker.NewVehicleMap(func(id string) *vstate { return &vstate{e: e, id: id} })
	return e
}

// Vehicle implements tracker.Evaluator.
func (e *Engine) Vehicle(id string) tracker.VehicleEvaluator { return e.vehicles.Get(id) }

// prefetchPositions recycles Prefetch's positions: grown one append at a time, a read's took
// five allocations.
var prefetchPositions = sync.Pool{New: func() any { return new([]geofence.Position) }}

// Prefetch implements tracker.Prefetcher: a geofence engine that can (geofence.Prefetcher)
// gets each vehicle's run of valid fixes in the read, the moves its Updates will most likely
// be asked; a fix the rules then do not follow only costs its vehicle's later moves their
// prefetched answers.
func (e *Engine) Prefetch(ctx context.Context, fixes []tracker.Fix) {
	pf, ok := e.cfg.Engine.(geofence.Prefetcher)
	if !ok {
		return
	}
	buf := prefetchPositions.Get().(*[]geofence.Position)
	ps := (*buf)[:0]
	defer func() {
		*buf = ps[:0]
		prefetchPositions.Put(buf)
	}()
	send := func() {
		if len(ps) > 1 {
			pf.Prefetch(ctx, ps)
		}
		ps = ps[:0]
	}
	for i := range fixes {
		f := &fixes[i]
		if !f.Valid {
			continue
		}
		if n := len(ps); n > 0 && (f.VehicleID != ps[0].VehicleID || !f.Time.After(ps[n-1].Time)) {
			send()
		}
		ps = append(ps, geofence.Position{VehicleID: f.VehicleID, Time: f.Time, Lat: f.Lat, Lon: f.Lon})
	}
	send()
}

// Load reads the registry's vehicles, the active declarations and the border.
func (e *Engine) Load(ctx context.Context) error { return e.LoadReplaying(ctx, nil) }

// LoadReplaying is Load that hands the vehicles' newest stored fixes to replay before it seeds
// the vehicles with them: replay evaluates their recent stored fixes again (through a pipeline
// that stores nothing), so that what the rules measure over time (a stop, a stretch off the
// corridor, the recent fixes a detour or a gap is judged by) goes on across a restart instead
// of beginning again at the newest fix. Seeded after: a vehicle seeded first would take its
// replayed fixes as late. nil replays nothing.
func (e *Engine) LoadReplaying(ctx context.Context, replay func(context.Context, []tracker.Fix) error) error {
	zs, err := e.cfg.Store.Zones(ctx)
	if err != nil {
		return fmt.Errorf("rules: zones: %w", err)
	}
	e.ZonesChanged(zs)
	vs, err := e.cfg.Store.Vehicles(ctx)
	if err != nil {
		return fmt.Errorf("rules: vehicles: %w", err)
	}
	for _, v := range vs {
		e.VehicleChanged(ctx, v)
	}
	// The newest stored fix of each vehicle: after a restart a vehicle that never reports again
	// is still missed by signal_lost, and a gap across the restart is still measured.
	latest, err := e.cfg.Store.LatestFixes(ctx)
	if err != nil {
		return fmt.Errorf("rules: latest fixes: %w", err)
	}
	if err := e.Restore(ctx, func(string) bool { return true }); err != nil {
		return err
	}
	if replay != nil {
		if err := replay(ctx, latest); err != nil {
			return fmt.Errorf("rules: replaying recent fixes: %w", err)
		}
	}
	e.Seed(latest)
	return nil
}

// Restore takes from the store what the rules keep of the vehicles match selects beyond what
// their fixes rebuild: the active declarations (with their emergency windows), the open SOS
// incident, the card in the terminal's reader, the driver mismatches already raised, the inbound
// trips' crossing and arrival in the yard (for their weighings) and what
// open emergency windows held back (emergency_held events). Load
// runs it for every vehicle after a restart; in a cluster, a tracker taking a partition over
// runs it for the partition's vehicles after Forget and before replaying their recent fixes,
// so that a take-over and a restart restore the same. A rule whose state outlives its fixes
// restores it here.
func (e *Engine) Restore(ctx context.Context, match func(vehicleID string) bool) error {
	all, err := e.cfg.Store.Declarations(ctx, tracker.DeclarationQuery{Status: tracker.DeclarationActive})
	if err != nil {
		return fmt.Errorf("rules: declarations: %w", err)
	}
	var ds []tracker.Declaration
	for _, d := range all {
		if match(d.VehicleID) {
			ds = append(ds, d)
			e.DeclarationChanged(ctx, d)
		}
	}
	if err := e.seedSOS(ctx, match); err != nil {
		return err
	}
	if err := e.loadDrivers(ctx, ds, match); err != nil {
		return err
	}
	if err := e.restoreTrips(ctx, ds, match); err != nil {
		return err
	}
	return e.restoreEmergencies(ctx, match)
}

// Seed gives vehicles their newest stored fix (signal loss, the gap to the next fix, the
// e-seals' state) where the rules know none newer.
func (e *Engine) Seed(latest []tracker.Fix) {
	for _, f := range latest {
		vs := e.vehicles.Get(f.VehicleID)
		vs.Lock()
		vs.seedSeal(&f)
		if vs.rare().sos.key != "" && f.HasFlag(tracker.FlagSOS) && f.Time.After(vs.rare().sos.last) {
			vs.rareMut().sos.last = f.Time // the SOS went on until the newest fix
		}
		if !f.Valid {
			vs.Unlock()
			continue
		}
		if !vs.hasLast || f.Time.After(vs.last.Time) {
			vs.last, vs.hasLast, vs.lastRecv = pt(&f), true, f.ReceivedAt
			vs.history, vs.histEdges, vs.notes = append(vs.history[:0], histOf(f.Time, f.Lat, f.Lon, false)), 0, nil
		}
		vs.Unlock()
	}
}

// Forget drops what the rules learned from the fixes of the vehicles match selects (the
// registry's facts and the declarations stay), with the pipeline's and the geofence engine's
// state of them: in a cluster, the vehicles of a partition another process owned meanwhile,
// whose state is rebuilt by replaying their fixes.
func (e *Engine) Forget(match func(vehicleID string) bool) {
	for _, vs := range e.vehicles.Append(nil) {
		if !match(vs.id) {
			continue
		}
		vs.Lock()
		vs.followed = followed{}
		vs.VehicleState.Reset()
		for i, d := range vs.decls {
			vs.decls[i] = &decl{Declaration: d.Declaration, widthM: d.widthM, grace: d.grace}
		}
		vs.Unlock()
		e.cfg.Engine.Forget(vs.id)
	}
}

// ZonesChanged takes a new zone set (the border decides which stops concern customs).
func (e *Engine) ZonesChanged(zones []geofence.Zone) { e.border.set(zones) }

// VehicleChanged takes a registry edit: kind, plate and IC card.
func (e *Engine) VehicleChanged(ctx context.Context, v tracker.Vehicle) {
	vs := e.vehicles.Get(v.ID)
	vs.Lock()
	oldPlate, oldCard := vs.plate, vs.card
	vs.kind, vs.plate, vs.card = v.Kind, v.Plate, v.CardID
	vs.Unlock()
	e.mu.Lock()
	if old := normPlate(oldPlate); old != "" && e.byPlate[old] == v.ID {
		delete(e.byPlate, old)
	}
	if oldCard != "" && e.byCard[oldCard] == v.ID {
		delete(e.byCard, oldCard)
	}
	if v.Plate != "" {
		e.byPlate[normPlate(v.Plate)] = v.ID
	}
	if v.CardID != "" {
		e.byCard[v.CardID] = v.ID
	}
	e.mu.Unlock()
}

// DeclarationChanged takes a new, changed or closed declaration.
func (e *Engine) DeclarationChanged(ctx context.Context, d tracker.Declaration) {
	di := &decl{Declaration: d}
	if d.Status == tracker.DeclarationActive && d.CorridorZoneID != "" {
		if z, err := e.cfg.Store.Zone(ctx, d.CorridorZoneID); err == nil {
			di.widthM = z.WidthM
			di.grace = e.cfg.DetourGrace
			if s, ok := z.Properties["detour_grace_s"].(float64); ok && s > 0 {
				di.grace = time.Duration(s * float64(time.Second))
			}
		} else {
			e.log.Warn("declaration names an unknown corridor; no detour check", "declaration", d.ID, "corridor", d.CorridorZoneID, "err", err)
		}
	}
	vs := e.vehicles.Get(d.VehicleID)
	vs.Lock()
	defer vs.Unlock()
	for i, old := range vs.decls {
		if old.ID == d.ID {
			vs.decls = append(vs.decls[:i], vs.decls[i+1:]...)
			break
		}
	}
	if d.Type == tracker.DeclarationEmergency {
		if d.Status == tracker.DeclarationActive {
			vs.openEmergency(d)
		} else if d.ClosedAt != nil {
			vs.endEmergency(d.ID, *d.ClosedAt)
		}
	}
	if d.Status == tracker.DeclarationActive {
		vs.decls = append(vs.decls, di)
		if vs.kind == tracker.KindResidentCar && d.Direction == tracker.Inbound {
			vs.stay = &residentStay{deadline: d.ValidTo, decl: d.ID}
		}
	}
}

// normPlate is how plates are compared: without spaces, dashes and the middle dot (·, which
// is two bytes in UTF-8: compared rune by rune), Latin letters in upper case.
func normPlate(p string) string {
	var b strings.Builder
	for _, c := range p {
		switch {
		case c == ' ' || c == '-' || c == '·':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func evidence(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

type point struct {
	Time time.Time `json:"time"`
	Lat  float64   `json:"lat"`
	Lon  float64   `json:"lon"`
}

func pt(f *tracker.Fix) point { return point{Time: f.Time, Lat: f.Lat, Lon: f.Lon} }

type metrics struct {
	alerts *prometheus.CounterVec
	closed *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_rules_alerts_raised_total", Help: "Alert incidents raised by the rules, by type (updates not counted)."}, []string{"type"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_rules_declarations_closed_total", Help: "Declarations the rules closed, by status."}, []string{"status"}),
	}
	if reg != nil {
		reg.MustRegister(m.alerts, m.closed)
	}
	return m
}
