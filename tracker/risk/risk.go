// Package risk ranks vehicles for the day's inspection. Each alert of the last 30 days adds its
// type's weight, halved every week of age, and each border crossing of the last 7 days adds a
// little: a vehicle that crosses often has more chances to carry what it should not. The
// targets are the vehicles scoring at least 3, highest first, each with the reasons behind its
// score.
//
// A Scorer keeps what is inside the windows, fed with what the pipeline commits, so a ranking
// costs time by the fleet, not by the alerts of a month read again on every request.
package risk

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Method says how scores are made, for people reading a ranking.
const Method = "sum of alert weights halved per week of age over 30 days, plus 0.25 per border crossing in 7 days; targets score ≥ 3; " +
	"each alert type's weight learns from its inspections' hit rate over 90 days, the fixed weight counting as 20 inspections; " +
	"a member of a co-travel group adds 4, a vehicle with earlier inspection findings (or sharing a driver card with one, 90 days) 5, " +
	"a resident car crossing ≥10 times in 7 days, robust z ≥ 3.5 against resident cars and ≥ 2× its own past weekly median (ant moving) 4, " +
	"a graded inbound declaration whose truck loaded (a stop of ≥ 20 min) at a mine of another grade, or whose earlier loadings were all at such mines when its track abroad is missing (grade_origin) 4"

var weights = map[string]float64{
	tracker.AlertBorderCrossingOutsidePort: 10,
	tracker.AlertCrossingMismatch:          8,
	tracker.AlertMeeting:                   6,
	tracker.AlertSealOpened:                8,
	tracker.AlertDetour:                    5,
	tracker.AlertDeviceConflict:            5, // a second source of positions: where the truck was is in doubt
	tracker.AlertSignalLost:                4,
	// Where it crossed is unknown: as much doubt as a signal loss, which it usually comes with.
	tracker.AlertBorderCrossingUnverified: 4,
	tracker.AlertGateMismatch:             4,
	tracker.AlertUnauthorizedStop:         3,
	tracker.AlertOverstay:                 3,
	// The driver is not the one customs cleared: who carries the goods is in doubt.
	tracker.AlertDriverMismatch: 4,
	// Weighbridges: the cargo is not what was declared, or nobody checked it, or it changed on
	// the way (or a scale drifted: the lowest of the three).
	tracker.AlertWeightMismatch:  6,
	tracker.AlertWeighingSkipped: 4,
	tracker.AlertDoubleWeighing:  3,
	// emergency_crossing and emergency_review have none: an emergency is cleared by an officer,
	// and what it did under its exemption is that officer's to judge in the review.
	// sos has no weight: a call for help is answered at once, and says nothing of the cargo.
	// device_clock_ahead has none: a clock fault, and the vehicle's fixes are evaluated all the same.
}

const (
	alertWindow    = 30 * 24 * time.Hour
	halfLife       = 7 * 24 * time.Hour
	crossingWindow = 7 * 24 * time.Hour
	crossingWeight = 0.25
	threshold      = 3.0
	// ahead is how long after a ranking's time an alert or crossing still counts: a device's
	// clock may run a little ahead of the server's.
	ahead = time.Minute
	// loadLimit bounds each of Load's two queries.
	loadLimit = 200000
	// sweepEvery is how often, on the scorer's clock, what left the windows is forgotten. A
	// ranking may ask for a time up to this much before the clock.
	sweepEvery = time.Hour
)

// endOfTime is after any time a ranking is asked for.
var endOfTime = time.Date(1<<20, 1, 1, 0, 0, 0, 0, time.UTC)

// Store is what Load reads.
type Store interface {
	Alerts(ctx context.Context, q tracker.AlertQuery) ([]tracker.Alert, error)
	Events(ctx context.Context, q tracker.EventQuery) ([]tracker.Event, error)
}

// Config configures a Scorer.
type Config struct {
	// Now is the clock of the data (the demo runs on the simulator's): Load reads the windows
	// back from it, and what is older than the windows on it is forgotten. Nil is the wall clock.
	Now func() time.Time
}

// Target is a vehicle to inspect, and why.
type Target struct {
	VehicleID string
	Score     float64        // rounded to hundredths
	Alerts    map[string]int // the alerts of the last 30 days, by type
	Crossings int            // border crossings in the last 7 days
	Reasons   []string       // heaviest alert type first, crossings, then the group
	Group     *Membership    // the co-travel group it belongs to, if any
	Offence   *Offence       // its earlier findings, or those of a vehicle its driver card was in
	Ants      *Ants          // the ant-moving pattern of a resident car
	// GradeOrigin: the declared cargo grade is not what the mine it loaded at yields.
	GradeOrigin *GradeOrigin
}

// Scorer keeps the alerts and border crossings inside the windows, by vehicle. It is safe for
// concurrent use.
type Scorer struct {
	now func() time.Time

	mu       sync.Mutex
	vehicles map[string]*vehicle
	// Alerts are upserted by dedup key and published again on every update: an alert counts
	// once, as first seen (the store keeps its first time, type and vehicle). An update of an
	// alert already forgotten is passed over as too old: the rules send the incident's start
	// as its time every time.
	alertIDs map[int64]struct{}
	eventIDs map[int64]struct{}
	swept    time.Time
	// learned are the weights Learn made from hit rates; nil: the fixed weights.
	learned map[string]learned
	// groups are the co-travel memberships SetGroups gave, by vehicle; offenders the earlier
	// findings SetOffenders gave.
	groups    map[string]Membership
	offenders map[string]Offence
	ants      map[string]Ants
	grades    map[string]GradeOrigin
}

type alertMark struct {
	id     int64
	at     time.Time
	typ    string
	weight float64
}

type crossing struct {
	id int64
	at time.Time
}

type vehicle struct {
	alerts    []alertMark // by time
	crossings []crossing  // by time
	// sum is the weight of alerts[lo:hi] decayed to ref, and counts counts them by type: the
	// last ranking's window, kept as alerts come so that the next ranking of the same window
	// does not go through them again.
	lo, hi int
	ref    time.Time
	sum    float64
	counts map[string]int
	// The windows of any time in (after, until] hold alerts[lo:hi] and crossed crossings, so
	// rankings at such times need not search. A zero until is unknown.
	after, until time.Time
	crossed      int
}

// New makes an empty scorer; Load fills it from the store.
func New(cfg Config) *Scorer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Scorer{now: cfg.Now, vehicles: map[string]*vehicle{}, alertIDs: map[int64]struct{}{}, eventIDs: map[int64]struct{}{}}
}

// Load reads the alerts and border crossings of the windows from the store. What the scorer
// has already seen (by ID) is not counted again, so Load may overlap what is observed.
func (s *Scorer) Load(ctx context.Context, st Store) error {
	now := s.now()
	alerts, err := st.Alerts(ctx, tracker.AlertQuery{From: now.Add(-alertWindow), Limit: loadLimit})
	if err != nil {
		return fmt.Errorf("risk: loading alerts: %w", err)
	}
	crossings, err := st.Events(ctx, tracker.EventQuery{Type: tracker.EventBorderCross, From: now.Add(-crossingWindow), Limit: loadLimit})
	if err != nil {
		return fmt.Errorf("risk: loading border crossings: %w", err)
	}
	s.Observe(alerts, crossings)
	return nil
}

// Publish observes what the pipeline committed. It has the shape of the pipeline's publisher,
// to be fanned out beside the live hub.
func (s *Scorer) Publish(_ []tracker.Fix, events []tracker.Event, alerts []tracker.Alert) {
	s.Observe(alerts, events)
}

// Observe counts stored alerts and border crossings. Alerts of types that carry no weight,
// other events, and what is already outside the windows are passed over.
func (s *Scorer) Observe(alerts []tracker.Alert, events []tracker.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.sweep()
	alertsFrom, crossingsFrom := now.Add(-alertWindow-sweepEvery), now.Add(-crossingWindow-sweepEvery)
	for i := range alerts {
		a := &alerts[i]
		w, ok := s.weight(a.Type)
		if !ok || a.VehicleID == "" || a.Time.Before(alertsFrom) || !first(s.alertIDs, a.ID) {
			continue
		}
		s.vehicle(a.VehicleID).addAlert(alertMark{id: a.ID, at: a.Time, typ: a.Type, weight: w})
	}
	for i := range events {
		e := &events[i]
		if e.Type != tracker.EventBorderCross || e.VehicleID == "" || e.Time.Before(crossingsFrom) || !first(s.eventIDs, e.ID) {
			continue
		}
		v := s.vehicle(e.VehicleID)
		v.crossings = slices.Insert(v.crossings, notAfter(len(v.crossings), v.crossingAt, e.Time), crossing{id: e.ID, at: e.Time})
		v.until = time.Time{}
	}
}

// first records id as seen and reports whether it is new. ID 0 (never stored) is always new.
func first(seen map[int64]struct{}, id int64) bool {
	if id == 0 {
		return true
	}
	if _, ok := seen[id]; ok {
		return false
	}
	seen[id] = struct{}{}
	return true
}

func (s *Scorer) vehicle(id string) *vehicle {
	v := s.vehicles[id]
	if v == nil {
		v = &vehicle{counts: map[string]int{}}
		s.vehicles[id] = v
	}
	return v
}

// addAlert inserts a in time order, into the kept window too when it falls inside it.
func (v *vehicle) addAlert(a alertMark) {
	i := notAfter(len(v.alerts), v.alertAt, a.at)
	v.alerts = slices.Insert(v.alerts, i, a)
	v.until = time.Time{}
	switch {
	case i < v.lo:
		v.lo++
		v.hi++
	case i <= v.hi:
		if v.lo == v.hi {
			v.ref = a.at
		}
		v.hi++
		v.sum += a.decayed(v.ref)
		v.counts[a.typ]++
	}
}

// decayed is a's weight halved per half-life from its time to t.
func (a alertMark) decayed(t time.Time) float64 {
	return a.weight * math.Pow(0.5, t.Sub(a.at).Hours()/halfLife.Hours())
}

// score is the vehicle's score at now, unrounded, and its crossings in their window.
func (v *vehicle) score(now time.Time) (float64, int) {
	if !now.After(v.after) || now.After(v.until) {
		v.window(now)
	}
	var score float64
	if v.hi > v.lo {
		score = v.sum * math.Pow(0.5, now.Sub(v.ref).Hours()/halfLife.Hours())
	}
	return score + crossingWeight*float64(v.crossed), v.crossed
}

// window finds the alerts and crossings in the windows of now, and for which times they stay.
func (v *vehicle) window(now time.Time) {
	to := now.Add(ahead)
	lo, hi := before(len(v.alerts), v.alertAt, now.Add(-alertWindow)), before(len(v.alerts), v.alertAt, to)
	if lo != v.lo || hi != v.hi {
		v.recount(lo, hi)
	}
	clo, chi := before(len(v.crossings), v.crossingAt, now.Add(-crossingWindow)), before(len(v.crossings), v.crossingAt, to)
	v.crossed = chi - clo
	// Each window edge stays between the marks on either side of it.
	v.after, v.until = time.Time{}, endOfTime
	edge := func(i, n int, at func(int) time.Time, shift time.Duration) {
		if i > 0 && at(i-1).Add(shift).After(v.after) {
			v.after = at(i - 1).Add(shift)
		}
		if i < n && at(i).Add(shift).Before(v.until) {
			v.until = at(i).Add(shift)
		}
	}
	edge(lo, len(v.alerts), v.alertAt, alertWindow)
	edge(hi, len(v.alerts), v.alertAt, -ahead)
	edge(clo, len(v.crossings), v.crossingAt, crossingWindow)
	edge(chi, len(v.crossings), v.crossingAt, -ahead)
}

func (v *vehicle) recount(lo, hi int) {
	v.lo, v.hi, v.sum = lo, hi, 0
	clear(v.counts)
	if lo == hi {
		return
	}
	v.ref = v.alerts[lo].at
	for _, a := range v.alerts[lo:hi] {
		v.sum += a.decayed(v.ref)
		v.counts[a.typ]++
	}
}

func (v *vehicle) alertAt(i int) time.Time    { return v.alerts[i].at }
func (v *vehicle) crossingAt(i int) time.Time { return v.crossings[i].at }

// before is how many of n marks in time order, the i-th at at(i), are before t.
func before(n int, at func(int) time.Time, t time.Time) int {
	return sort.Search(n, func(i int) bool { return !at(i).Before(t) })
}

// notAfter is how many of n marks in time order are at t or before: where a mark at t goes,
// mostly at the end, as marks come in time order.
func notAfter(n int, at func(int) time.Time, t time.Time) int {
	if n == 0 || !at(n-1).After(t) {
		return n
	}
	return sort.Search(n, func(i int) bool { return at(i).After(t) })
}

// Ranking returns the targets at now, highest score first (by vehicle ID among equals), at
// most limit of them; limit < 1 is no limit. now may be up to an hour before the scorer's
// clock: what is older has been forgotten.
func (s *Scorer) Ranking(now time.Time, limit int) []Target {
	out := s.top(now, limit)
	ws, why := s.Weights()
	for i := range out {
		out[i].Reasons = reasons(out[i].Alerts, out[i].Crossings, ws, why)
		if g := out[i].Group; g != nil {
			out[i].Reasons = append(out[i].Reasons, g.reason())
		}
		if o := out[i].Offence; o != nil {
			out[i].Reasons = append(out[i].Reasons, o.reason())
		}
		if a := out[i].Ants; a != nil {
			out[i].Reasons = append(out[i].Reasons, a.reason())
		}
		if g := out[i].GradeOrigin; g != nil {
			out[i].Reasons = append(out[i].Reasons, g.reason())
		}
	}
	return out
}

// top returns the targets at now in order, without their reasons.
func (s *Scorer) top(now time.Time, limit int) []Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	var rs ranking
	consider := func(id string, v *vehicle, score float64, crossings int) {
		score += s.extra(id)
		if score < threshold {
			return
		}
		r := ranked{id: id, v: v, score: math.Round(score*100) / 100, crossings: crossings}
		switch {
		case limit < 1:
			rs = append(rs, r)
		case len(rs) < limit:
			heap.Push(&rs, r)
		case r.outranks(rs[0]):
			rs[0] = r
			heap.Fix(&rs, 0)
		}
	}
	for id, v := range s.vehicles {
		score, crossings := v.score(now)
		consider(id, v, score, crossings)
	}
	// Group members and offenders with nothing else in the windows rank by that alone.
	alone := keys(s.groups)
	for id := range s.offenders {
		alone[id] = true
	}
	for id := range s.ants {
		alone[id] = true
	}
	for id := range s.grades {
		alone[id] = true
	}
	for id := range alone {
		if _, ok := s.vehicles[id]; !ok {
			consider(id, &vehicle{counts: map[string]int{}}, 0, 0)
		}
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		if a.outranks(b) {
			return -1
		}
		return 1
	})
	out := make([]Target, len(rs))
	for i, r := range rs {
		out[i] = Target{VehicleID: r.id, Score: r.score, Alerts: maps.Clone(r.v.counts), Crossings: r.crossings}
		if g, ok := s.groups[r.id]; ok {
			out[i].Group = &g
		}
		if o, ok := s.offenders[r.id]; ok {
			out[i].Offence = &o
		}
		if a, ok := s.ants[r.id]; ok {
			out[i].Ants = &a
		}
		if g, ok := s.grades[r.id]; ok {
			out[i].GradeOrigin = &g
		}
	}
	return out
}

type ranked struct {
	id        string
	v         *vehicle
	score     float64 // rounded
	crossings int
}

// outranks reports whether r comes before o: a higher score, or the same and a lower vehicle ID.
func (r ranked) outranks(o ranked) bool {
	if r.score != o.score {
		return r.score > o.score
	}
	return r.id < o.id
}

// ranking is a heap with the lowest ranked on top, the one a higher one replaces.
type ranking []ranked

func (h ranking) Len() int           { return len(h) }
func (h ranking) Less(i, j int) bool { return h[j].outranks(h[i]) }
func (h ranking) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ranking) Push(x any)        { *h = append(*h, x.(ranked)) }

func (h *ranking) Pop() any {
	r := (*h)[len(*h)-1]
	*h = (*h)[:len(*h)-1]
	return r
}

// reasons says why a vehicle scores: its alerts, heaviest type first, with why a type weighs
// what it does where its hit rate changed it; then its crossings.
func reasons(counts map[string]int, crossings int, ws map[string]float64, why map[string]string) []string {
	types := slices.Collect(maps.Keys(counts))
	slices.SortFunc(types, func(a, b string) int {
		if c := cmp.Compare(ws[b], ws[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	var out []string
	for _, typ := range types {
		r := fmt.Sprintf("%d × %s in 30 days", counts[typ], typ)
		if w := why[typ]; w != "" {
			r += " (" + w + ")"
		}
		out = append(out, r)
	}
	if crossings > 0 {
		out = append(out, fmt.Sprintf("%d border crossings in 7 days", crossings))
	}
	return out
}

// sweep forgets, at most once per sweepEvery of the clock, what is older than the windows by
// more than sweepEvery. It returns the clock's time.
func (s *Scorer) sweep() time.Time {
	now := s.now()
	if now.Sub(s.swept) < sweepEvery {
		return now
	}
	s.swept = now
	alertsFrom, crossingsFrom := now.Add(-alertWindow-sweepEvery), now.Add(-crossingWindow-sweepEvery)
	for id, v := range s.vehicles {
		if n := before(len(v.alerts), v.alertAt, alertsFrom); n > 0 {
			for _, a := range v.alerts[:n] {
				delete(s.alertIDs, a.id)
			}
			v.alerts = slices.Delete(v.alerts, 0, n)
			v.until = time.Time{}
			if n > v.lo {
				v.recount(0, 0)
			} else {
				v.lo, v.hi = v.lo-n, v.hi-n
			}
		}
		if n := before(len(v.crossings), v.crossingAt, crossingsFrom); n > 0 {
			for _, c := range v.crossings[:n] {
				delete(s.eventIDs, c.id)
			}
			v.crossings = slices.Delete(v.crossings, 0, n)
			v.until = time.Time{}
		}
		if len(v.alerts) == 0 && len(v.crossings) == 0 {
			delete(s.vehicles, id)
		}
	}
	return now
}
