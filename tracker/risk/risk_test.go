package risk

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// perRequest is how GET /risk scored before the Scorer, given what the store holds: every
// alert of the window and every border crossing, read again on each request. Among alert
// types of equal weight the reasons followed map order then; they follow the type's name now.
func perRequest(alerts []tracker.Alert, events []tracker.Event, now time.Time) []Target {
	alertWeights := map[string]float64{
		tracker.AlertBorderCrossingOutsidePort: 10,
		tracker.AlertCrossingMismatch:          8,
		tracker.AlertMeeting:                   6,
		tracker.AlertDetour:                    5,
		tracker.AlertSignalLost:                4,
		tracker.AlertGateMismatch:              4,
		tracker.AlertUnauthorizedStop:          3,
		tracker.AlertOverstay:                  3,
		tracker.AlertDriverMismatch:            4,
		tracker.AlertWeightMismatch:            6,
		tracker.AlertWeighingSkipped:           4,
		tracker.AlertDoubleWeighing:            3,
	}
	byVehicle := map[string]*Target{}
	target := func(id string) *Target {
		t := byVehicle[id]
		if t == nil {
			t = &Target{VehicleID: id, Alerts: map[string]int{}}
			byVehicle[id] = t
		}
		return t
	}
	in := func(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }
	for _, a := range alerts {
		w, ok := alertWeights[a.Type]
		if !ok || a.VehicleID == "" || !in(a.Time, now.Add(-30*24*time.Hour), now.Add(time.Minute)) {
			continue
		}
		t := target(a.VehicleID)
		t.Alerts[a.Type]++
		t.Score += w * math.Pow(0.5, now.Sub(a.Time).Hours()/(7*24))
	}
	for _, e := range events {
		if e.Type != tracker.EventBorderCross || e.VehicleID == "" || !in(e.Time, now.Add(-7*24*time.Hour), now.Add(time.Minute)) {
			continue
		}
		t := target(e.VehicleID)
		t.Crossings++
		t.Score += 0.25
	}
	out := []Target{}
	for _, t := range byVehicle {
		if t.Score < 3 {
			continue
		}
		t.Score = math.Round(t.Score*100) / 100
		types := make([]string, 0, len(t.Alerts))
		for typ := range t.Alerts {
			types = append(types, typ)
		}
		slices.SortFunc(types, func(a, b string) int {
			if w := int(alertWeights[b] - alertWeights[a]); w != 0 {
				return w
			}
			return cmp.Compare(a, b)
		})
		for _, typ := range types {
			t.Reasons = append(t.Reasons, fmt.Sprintf("%d × %s in 30 days", t.Alerts[typ], typ))
		}
		if t.Crossings > 0 {
			t.Reasons = append(t.Reasons, fmt.Sprintf("%d border crossings in 7 days", t.Crossings))
		}
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Target) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.VehicleID, b.VehicleID)
	})
	return out
}

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func newScorer(now time.Time) (*Scorer, *clock) {
	c := &clock{now: now}
	return New(Config{Now: c.Now}), c
}

// memStore answers Load's queries as the stores do: From inclusive, To exclusive.
type memStore struct {
	alerts []tracker.Alert
	events []tracker.Event
}

func (m *memStore) Alerts(_ context.Context, q tracker.AlertQuery) ([]tracker.Alert, error) {
	var out []tracker.Alert
	for _, a := range m.alerts {
		if !a.Time.Before(q.From) && (q.To.IsZero() || a.Time.Before(q.To)) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *memStore) Events(_ context.Context, q tracker.EventQuery) ([]tracker.Event, error) {
	var out []tracker.Event
	for _, e := range m.events {
		if e.Type == q.Type && !e.Time.Before(q.From) && (q.To.IsZero() || e.Time.Before(q.To)) {
			out = append(out, e)
		}
	}
	return out, nil
}

var alertTypes = []string{tracker.AlertBorderCrossingOutsidePort, tracker.AlertCrossingMismatch, tracker.AlertMeeting,
	tracker.AlertDetour, tracker.AlertSignalLost, tracker.AlertGateMismatch, tracker.AlertUnauthorizedStop, tracker.AlertOverstay}

// fleet makes n alerts and m events of vehicles, over the month and a half before now.
func fleet(r *rand.Rand, now time.Time, vehicles, n, m int) ([]tracker.Alert, []tracker.Event) {
	vehicle := func() string {
		if r.IntN(100) == 0 {
			return ""
		}
		return fmt.Sprintf("V%05d", r.IntN(vehicles))
	}
	alerts := make([]tracker.Alert, n)
	for i := range alerts {
		typ := "speeding" // no weight
		if r.IntN(20) > 0 {
			typ = alertTypes[r.IntN(len(alertTypes))]
		}
		at := now.Add(-time.Duration(r.Int64N(int64(45 * 24 * time.Hour))))
		alerts[i] = tracker.Alert{ID: int64(i + 1), Type: typ, VehicleID: vehicle(), Time: at, UpdatedAt: at, DedupKey: fmt.Sprint("k", i)}
	}
	events := make([]tracker.Event, m)
	for i := range events {
		typ := tracker.EventBorderCross
		if r.IntN(10) == 0 {
			typ = tracker.EventZoneEnter
		}
		events[i] = tracker.Event{ID: int64(i + 1), Type: typ, VehicleID: vehicle(), Time: now.Add(-time.Duration(r.Int64N(int64(10 * 24 * time.Hour))))}
	}
	return alerts, events
}

func check(t *testing.T, s *Scorer, stored []tracker.Alert, events []tracker.Event, now time.Time) {
	t.Helper()
	got, want := s.Ranking(now, 0), perRequest(stored, events, now)
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("at %s, target %d of %d/%d:\n got %+v\nwant %+v", now, i, len(got), len(want), got[i], want[i])
			}
		}
		t.Fatalf("at %s: %d targets, want %d", now, len(got), len(want))
	}
}

// TestMatchesPerRequest follows a month of commits, some late, with alerts published again
// when updated, and compares each day's ranking with the per-request computation over what
// the store holds.
func TestMatchesPerRequest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	end := t0.Add(30 * 24 * time.Hour)
	alerts, events := fleet(r, end, 300, 20000, 3000)
	// Each is committed within two days of its time, and some are updated an hour later: the
	// rules send the incident's first time again, with what they know now.
	type commit struct {
		at    time.Time
		alert *tracker.Alert
		event *tracker.Event
	}
	var commits []commit
	for i := range alerts {
		a := alerts[i]
		at := a.Time.Add(time.Duration(r.Int64N(int64(48 * time.Hour))))
		commits = append(commits, commit{at: at, alert: &a})
		if r.IntN(4) == 0 {
			u := a
			u.UpdatedAt, u.Severity, u.Message = at.Add(time.Hour), tracker.SeverityCritical, "updated"
			commits = append(commits, commit{at: at.Add(time.Hour), alert: &u})
		}
	}
	for i := range events {
		commits = append(commits, commit{at: events[i].Time, event: &events[i]})
	}
	slices.SortFunc(commits, func(a, b commit) int { return a.at.Compare(b.at) })

	s, c := newScorer(t0)
	st := &memStore{}
	seen := map[int64]bool{}
	for len(commits) > 0 && commits[0].at.Before(t0) {
		if a := commits[0].alert; a != nil && !seen[a.ID] {
			seen[a.ID] = true
			st.alerts = append(st.alerts, *a)
		}
		if e := commits[0].event; e != nil {
			st.events = append(st.events, *e)
		}
		commits = commits[1:]
	}
	if err := s.Load(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	check(t, s, st.alerts, st.events, t0)
	for now := t0.Add(time.Hour); !now.After(end); now = now.Add(7 * time.Hour) {
		c.set(now)
		var batchAlerts []tracker.Alert
		var batchEvents []tracker.Event
		for len(commits) > 0 && commits[0].at.Before(now) {
			if a := commits[0].alert; a != nil {
				batchAlerts = append(batchAlerts, *a)
				if !seen[a.ID] {
					seen[a.ID] = true
					st.alerts = append(st.alerts, *a)
				}
			}
			if e := commits[0].event; e != nil {
				batchEvents = append(batchEvents, *e)
				st.events = append(st.events, *e)
			}
			commits = commits[1:]
			if r.IntN(50) == 0 {
				s.Publish(nil, batchEvents, batchAlerts)
				batchAlerts, batchEvents = nil, nil
			}
		}
		s.Publish(nil, batchEvents, batchAlerts)
		check(t, s, st.alerts, st.events, now)
		check(t, s, st.alerts, st.events, now.Add(-time.Minute))
	}
}

// TestLoadMatchesStore loads from SQLite what the old handler read from it, twice: what was
// seen is not counted again.
func TestLoadMatchesStore(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	alerts, events := fleet(rand.New(rand.NewPCG(3, 4)), t0, 200, 3000, 1000)
	for i := range alerts {
		alerts[i].ID = 0
		alerts[i].Severity = tracker.SeverityWarning
		alerts[i].Time = alerts[i].Time.Truncate(time.Microsecond) // as the store keeps it
	}
	for i := range events {
		events[i].ID = 0
		events[i].Time = events[i].Time.Truncate(time.Microsecond)
	}
	if err := st.Commit(t.Context(), &tracker.Batch{Alerts: alerts, Events: events}); err != nil {
		t.Fatal(err)
	}
	s, _ := newScorer(t0)
	for range 2 {
		if err := s.Load(t.Context(), st); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := st.Alerts(t.Context(), tracker.AlertQuery{From: t0.Add(-alertWindow), To: t0.Add(time.Minute), Limit: loadLimit})
	if err != nil {
		t.Fatal(err)
	}
	crossings, err := st.Events(t.Context(), tracker.EventQuery{Type: tracker.EventBorderCross, From: t0.Add(-crossingWindow), To: t0.Add(time.Minute), Limit: loadLimit})
	if err != nil {
		t.Fatal(err)
	}
	check(t, s, stored, crossings, t0)
}

func alert(id int64, vehicle, typ string, at time.Time) tracker.Alert {
	return tracker.Alert{ID: id, Type: typ, VehicleID: vehicle, Time: at, UpdatedAt: at}
}

func crossings(firstID int64, vehicle string, at time.Time, n int) []tracker.Event {
	var out []tracker.Event
	for i := range n {
		out = append(out, tracker.Event{ID: firstID + int64(i), Type: tracker.EventBorderCross, VehicleID: vehicle, Time: at.Add(-time.Duration(i) * time.Minute)})
	}
	return out
}

func scores(ts []Target) map[string]float64 {
	out := map[string]float64{}
	for _, t := range ts {
		out[t.VehicleID] = t.Score
	}
	return out
}

// TestDecay halves an alert's weight every week of age.
func TestDecay(t *testing.T) {
	s, _ := newScorer(t0)
	alerts := []tracker.Alert{
		alert(1, "now", tracker.AlertBorderCrossingOutsidePort, t0),
		alert(2, "week", tracker.AlertBorderCrossingOutsidePort, t0.Add(-7*24*time.Hour)),
		alert(3, "weekhalf", tracker.AlertBorderCrossingOutsidePort, t0.Add(-7*24*time.Hour-84*time.Hour)),
		alert(4, "twoweeks", tracker.AlertBorderCrossingOutsidePort, t0.Add(-14*24*time.Hour)),
		alert(5, "fortnight", tracker.AlertCrossingMismatch, t0.Add(-14*24*time.Hour)),
		alert(6, "fortnight", tracker.AlertCrossingMismatch, t0.Add(-14*24*time.Hour)),
	}
	s.Observe(alerts, nil)
	want := map[string]float64{"now": 10, "week": 5, "weekhalf": 3.54, "fortnight": 4}
	if got := scores(s.Ranking(t0, 0)); !reflect.DeepEqual(got, want) {
		t.Errorf("scores %v, want %v", got, want)
	}
	check(t, s, alerts, nil, t0)
	// A week later, each has halved again.
	want = map[string]float64{"now": 5}
	if got := scores(s.Ranking(t0.Add(7*24*time.Hour), 0)); !reflect.DeepEqual(got, want) {
		t.Errorf("a week later: scores %v, want %v", got, want)
	}
}

// TestWindows counts alerts from 30 days back and crossings from 7 days back, up to a minute
// ahead of the ranking's time.
func TestWindows(t *testing.T) {
	s, _ := newScorer(t0)
	alerts := []tracker.Alert{
		alert(1, "A", tracker.AlertBorderCrossingOutsidePort, t0.Add(-30*24*time.Hour)),
		alert(2, "A", tracker.AlertBorderCrossingOutsidePort, t0.Add(-30*24*time.Hour-time.Nanosecond)),
		alert(3, "A", tracker.AlertBorderCrossingOutsidePort, t0.Add(time.Minute-time.Nanosecond)),
		alert(4, "A", tracker.AlertBorderCrossingOutsidePort, t0.Add(time.Minute)),
	}
	events := append(crossings(1, "B", t0.Add(-7*24*time.Hour+11*time.Minute), 12),
		tracker.Event{ID: 20, Type: tracker.EventBorderCross, VehicleID: "B", Time: t0.Add(-7*24*time.Hour - time.Nanosecond)},
		tracker.Event{ID: 21, Type: tracker.EventBorderCross, VehicleID: "B", Time: t0.Add(time.Minute)},
		tracker.Event{ID: 22, Type: tracker.EventZoneEnter, VehicleID: "B", Time: t0})
	s.Observe(alerts, events)
	got := s.Ranking(t0, 0)
	if len(got) != 2 || got[0].VehicleID != "A" || got[0].Alerts[tracker.AlertBorderCrossingOutsidePort] != 2 ||
		got[1].VehicleID != "B" || got[1].Crossings != 12 || got[1].Score != 3 {
		t.Errorf("ranking %+v", got)
	}
	check(t, s, alerts, events, t0)
	// A minute on, the alert ahead counts; the oldest has left.
	check(t, s, alerts, events, t0.Add(time.Minute))
}

// TestUpdatedAlertCountsOnce counts an alert once however often it is updated, with the time
// it was first stored with, as the store keeps it.
func TestUpdatedAlertCountsOnce(t *testing.T) {
	s, _ := newScorer(t0)
	first := alert(1, "V", tracker.AlertDetour, t0.Add(-7*24*time.Hour))
	s.Observe([]tracker.Alert{first}, nil)
	updated := first
	updated.Time, updated.UpdatedAt, updated.Message = t0, t0, "still off the corridor"
	s.Observe([]tracker.Alert{updated, updated}, nil)
	s.Publish(nil, nil, []tracker.Alert{updated})
	// A new incident with the same dedup key after the first was resolved is another alert.
	again := alert(2, "V", tracker.AlertDetour, t0.Add(-7*24*time.Hour))
	s.Observe([]tracker.Alert{again}, nil)
	got := s.Ranking(t0, 0)
	if len(got) != 1 || got[0].Score != 5 || got[0].Alerts[tracker.AlertDetour] != 2 {
		t.Errorf("ranking %+v", got)
	}
	check(t, s, []tracker.Alert{first, again}, nil, t0)
}

// TestThreshold lists vehicles scoring 3 or more.
func TestThreshold(t *testing.T) {
	s, _ := newScorer(t0)
	alerts := []tracker.Alert{
		alert(1, "stop", tracker.AlertUnauthorizedStop, t0),
		alert(2, "meeting-week", tracker.AlertMeeting, t0.Add(-7*24*time.Hour)),
		alert(3, "meeting-later", tracker.AlertMeeting, t0.Add(-7*24*time.Hour-time.Second)),
	}
	events := append(crossings(1, "twelve", t0, 12), crossings(100, "eleven", t0, 11)...)
	s.Observe(alerts, events)
	want := map[string]float64{"stop": 3, "meeting-week": 3, "twelve": 3}
	if got := scores(s.Ranking(t0, 0)); !reflect.DeepEqual(got, want) {
		t.Errorf("scores %v, want %v", got, want)
	}
	check(t, s, alerts, events, t0)
}

// TestOrdering ranks by score, then vehicle ID, and keeps the first limit.
func TestOrdering(t *testing.T) {
	s, _ := newScorer(t0)
	alerts := []tracker.Alert{
		alert(1, "C", tracker.AlertDetour, t0),
		alert(2, "B", tracker.AlertDetour, t0),
		alert(3, "A", tracker.AlertOverstay, t0),
		alert(4, "D", tracker.AlertMeeting, t0),
	}
	s.Observe(alerts, nil)
	var ids []string
	for _, tg := range s.Ranking(t0, 3) {
		ids = append(ids, tg.VehicleID)
	}
	if want := []string{"D", "B", "C"}; !slices.Equal(ids, want) {
		t.Errorf("ranking %v, want %v", ids, want)
	}
	check(t, s, alerts, nil, t0)
}

// TestReasons names the alert types heaviest first, then the crossings.
func TestReasons(t *testing.T) {
	s, _ := newScorer(t0)
	alerts := []tracker.Alert{
		alert(1, "V", tracker.AlertOverstay, t0),
		alert(2, "V", tracker.AlertUnauthorizedStop, t0),
		alert(3, "V", tracker.AlertUnauthorizedStop, t0),
		alert(4, "V", tracker.AlertSignalLost, t0),
		alert(5, "V", tracker.AlertGateMismatch, t0),
		alert(6, "V", tracker.AlertBorderCrossingOutsidePort, t0),
		alert(7, "V", tracker.AlertDetour, t0.Add(-31*24*time.Hour)),
	}
	events := crossings(1, "V", t0, 3)
	s.Observe(alerts, events)
	want := []string{
		"1 × border_crossing_outside_port in 30 days",
		"1 × gate_mismatch in 30 days",
		"1 × signal_lost in 30 days",
		"1 × overstay in 30 days",
		"2 × unauthorized_stop in 30 days",
		"3 border crossings in 7 days",
	}
	got := s.Ranking(t0, 0)
	if len(got) != 1 || !slices.Equal(got[0].Reasons, want) {
		t.Errorf("ranking %+v, want reasons %q", got, want)
	}
	check(t, s, alerts, events, t0)
}

// TestForgets drops what left the windows, and passes over what arrives already out of them.
func TestForgets(t *testing.T) {
	s, c := newScorer(t0)
	s.Observe([]tracker.Alert{alert(1, "A", tracker.AlertDetour, t0), alert(2, "B", tracker.AlertDetour, t0.Add(-10*24*time.Hour))},
		crossings(1, "A", t0, 2))
	c.set(t0.Add(8 * 24 * time.Hour))
	s.Ranking(c.Now(), 0)
	if len(s.vehicles) != 2 || len(s.alertIDs) != 2 || len(s.eventIDs) != 0 || len(s.vehicles["A"].crossings) != 0 {
		t.Errorf("after a week: %d vehicles, %d alerts, %d crossings kept", len(s.vehicles), len(s.alertIDs), len(s.eventIDs))
	}
	c.set(t0.Add(31 * 24 * time.Hour))
	s.Observe([]tracker.Alert{alert(3, "C", tracker.AlertDetour, t0)}, crossings(10, "C", t0, 1))
	if len(s.vehicles) != 0 || len(s.alertIDs) != 0 || len(s.eventIDs) != 0 {
		t.Errorf("after a month: %d vehicles, %d alerts, %d crossings kept", len(s.vehicles), len(s.alertIDs), len(s.eventIDs))
	}
	if got := s.Ranking(c.Now(), 0); len(got) != 0 {
		t.Errorf("ranking %+v", got)
	}
}

// TestConcurrent observes and ranks at once (run with -race).
func TestConcurrent(t *testing.T) {
	alerts, events := fleet(rand.New(rand.NewPCG(5, 6)), t0, 100, 4000, 1000)
	s, _ := newScorer(t0)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for k := w; k < 40; k += 4 {
				s.Observe(alerts[k*100:(k+1)*100], events[k*25:(k+1)*25])
				s.Ranking(t0, 10)
			}
		})
	}
	wg.Wait()
	check(t, s, alerts, events, t0)
}

// benchFleet is 10,000 vehicles with 200,000 alerts over 30 days and 20,000 crossings over 7.
func benchFleet() ([]tracker.Alert, []tracker.Event) {
	r := rand.New(rand.NewPCG(7, 8))
	alerts := make([]tracker.Alert, 200000)
	for i := range alerts {
		at := t0.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour))))
		alerts[i] = alert(int64(i+1), fmt.Sprintf("V%05d", r.IntN(10000)), alertTypes[r.IntN(len(alertTypes))], at)
	}
	events := make([]tracker.Event, 20000)
	for i := range events {
		events[i] = tracker.Event{ID: int64(i + 1), Type: tracker.EventBorderCross, VehicleID: fmt.Sprintf("V%05d", r.IntN(10000)),
			Time: t0.Add(-time.Duration(r.Int64N(int64(7 * 24 * time.Hour))))}
	}
	return alerts, events
}

// benchScorer has observed the bench fleet and ranked it once.
func benchScorer() *Scorer {
	alerts, events := benchFleet()
	s, _ := newScorer(t0)
	s.Observe(alerts, events)
	s.Ranking(t0, 200)
	return s
}

// BenchmarkRanking ranks the day's 200 targets, a second later each time.
func BenchmarkRanking(b *testing.B) {
	s := benchScorer()
	now := t0
	for b.Loop() {
		now = now.Add(time.Second)
		if len(s.Ranking(now, 200)) != 200 {
			b.Fatal("fewer than 200 targets")
		}
	}
}

// BenchmarkObserve observes one new alert at a time, a millisecond after the last, on top of
// the month.
func BenchmarkObserve(b *testing.B) {
	s := benchScorer()
	vehicles := make([]string, 10000)
	for i := range vehicles {
		vehicles[i] = fmt.Sprintf("V%05d", i)
	}
	batch := make([]tracker.Alert, 1)
	var n int64
	for b.Loop() {
		n++
		batch[0] = alert(1<<40+n, vehicles[n%10000], tracker.AlertDetour, t0.Add(time.Duration(n)*time.Millisecond))
		s.Observe(batch, nil)
	}
}

// BenchmarkPerRequest is the old handler's computation alone, without reading the store.
func BenchmarkPerRequest(b *testing.B) {
	alerts, events := benchFleet()
	for b.Loop() {
		perRequest(alerts, events, t0)
	}
}

// TestDriverAndSOSWeights: a driver not the declared one weighs 4, like a signal loss; an SOS
// weighs nothing, so a vehicle whose driver called for help is not made an inspection target.
func TestDriverAndSOSWeights(t *testing.T) {
	s, _ := newScorer(t0)
	alerts := []tracker.Alert{
		alert(1, "driver", tracker.AlertDriverMismatch, t0),
		alert(2, "sos", tracker.AlertSOS, t0),
		alert(3, "sos", tracker.AlertSOS, t0.Add(-time.Hour)),
	}
	s.Observe(alerts, nil)
	if got, want := scores(s.Ranking(t0, 0)), map[string]float64{"driver": 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("scores %v, want %v", got, want)
	}
	check(t, s, alerts, nil, t0)
}
