package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
	"github.com/borderwatch/borderwatch/tracker/storetest"
)

var now = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

type harness struct {
	p     *tracker.Pipeline
	store *sqlitestore.Store
	reg   *prometheus.Registry
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Registerer: reg, Now: func() time.Time { return now }})
	t.Cleanup(func() { p.Close(); st.Close() })
	return &harness{p, st, reg}
}

func fix(at time.Time, lat, lon float64) tracker.Fix {
	return tracker.Fix{VehicleID: "v1", DeviceID: "d1", Protocol: "jt808", Time: at, Lat: lat, Lon: lon, Valid: true}
}

func (h *harness) track(t *testing.T) []tracker.Fix {
	t.Helper()
	fs, err := h.store.Track(t.Context(), "v1", now.Add(-48*time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func (h *harness) counter(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.Label {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestRetransmissionStoredOnce(t *testing.T) {
	h := newHarness(t)
	f := fix(now.Add(-time.Minute), 43.65, 111.97)
	for range 3 {
		if err := h.p.Submit(t.Context(), []tracker.Fix{f}); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.track(t); len(got) != 1 {
		t.Fatalf("stored %d fixes, want 1", len(got))
	}
	if got := h.counter(t, "bw_fixes_stored_total"); got != 1 {
		t.Errorf("stored counter %v, want 1", got)
	}
}

func TestLateFixInsertedInOrder(t *testing.T) {
	h := newHarness(t)
	a, b, c := fix(now.Add(-3*time.Minute), 43.60, 111.90), fix(now.Add(-2*time.Minute), 43.61, 111.91), fix(now.Add(-time.Minute), 43.62, 111.92)
	for _, f := range []tracker.Fix{a, c, b} {
		if err := h.p.Submit(t.Context(), []tracker.Fix{f}); err != nil {
			t.Fatal(err)
		}
	}
	got := h.track(t)
	if len(got) != 3 || !got[0].Time.Equal(a.Time) || !got[1].Time.Equal(b.Time) || !got[2].Time.Equal(c.Time) {
		t.Fatalf("track out of order: %v", got)
	}
	if got[0].Late || !got[1].Late || got[2].Late {
		t.Errorf("late flags %v %v %v, want only the middle fix late", got[0].Late, got[1].Late, got[2].Late)
	}
	if v := h.counter(t, "bw_fixes_late_total"); v != 1 {
		t.Errorf("late counter %v", v)
	}
}

func TestRefusals(t *testing.T) {
	h := newHarness(t)
	good := fix(now.Add(-time.Minute), 43.65, 111.97)
	batch := []tracker.Fix{
		fix(now.Add(-2*time.Minute), 95, 111.97),                         // latitude out of range
		fix(now.Add(-3*time.Minute), 43.65, -181),                        // longitude out of range
		fix(time.Date(1999, 8, 22, 0, 0, 0, 0, time.UTC), 43.65, 111.97), // GPS week rollover
		good,
	}
	err := h.p.Submit(t.Context(), batch)
	var re *tracker.RefusedError
	if !errors.As(err, &re) || len(re.Refused) != 3 {
		t.Fatalf("Submit = %v, want 3 refusals", err)
	}
	want := []string{tracker.ReasonBadCoordinates, tracker.ReasonBadCoordinates, tracker.ReasonAncientTime}
	for i, r := range re.Refused {
		if r.Index != i || r.Reason != want[i] {
			t.Errorf("refusal %d = %+v, want index %d reason %s", i, r, i, want[i])
		}
	}
	if got := h.track(t); len(got) != 1 || !got[0].Time.Equal(good.Time) {
		t.Fatalf("stored %v, want only the good fix", got)
	}
	if v := h.counter(t, "bw_fixes_rejected_total", "reason", tracker.ReasonBadCoordinates); v != 2 {
		t.Errorf("bad_coordinates counter %v, want 2", v)
	}
}

func TestInvalidFixStoredNotValid(t *testing.T) {
	h := newHarness(t)
	f := fix(now.Add(-time.Minute), 0, 0) // a terminal that claims a position at 0,0 has none
	if err := h.p.Submit(t.Context(), []tracker.Fix{f}); err != nil {
		t.Fatal(err)
	}
	got := h.track(t)
	if len(got) != 1 || got[0].Valid {
		t.Fatalf("got %+v, want one fix with valid=false", got)
	}
}

func TestJumpFlagged(t *testing.T) {
	h := newHarness(t)
	a := fix(now.Add(-2*time.Minute), 43.65, 111.97)
	b := fix(now.Add(-time.Minute), 44.65, 111.97) // 111 km in a minute
	c := fix(now.Add(-30*time.Second), 43.651, 111.97)
	if err := h.p.Submit(t.Context(), []tracker.Fix{a, b, c}); err != nil {
		t.Fatal(err)
	}
	got := h.track(t)
	if len(got) != 3 {
		t.Fatalf("stored %d fixes, want 3 (a jump is flagged, not dropped)", len(got))
	}
	if got[0].HasFlag(tracker.FlagJump) || !got[1].HasFlag(tracker.FlagJump) || got[2].HasFlag(tracker.FlagJump) {
		t.Errorf("jump flags: %v %v %v", got[0].Flags, got[1].Flags, got[2].Flags)
	}
	if v := h.counter(t, "bw_fixes_flagged_total", "flag", tracker.FlagJump); v != 1 {
		t.Errorf("flagged counter %v", v)
	}
}

// failingStore fails every commit, as a store that went away does.
type failingStore struct{}

func (failingStore) Commit(context.Context, *tracker.Batch) error {
	return errors.New("database is gone")
}

func TestStoreFailureIsNotAcknowledged(t *testing.T) {
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: failingStore{}, Now: func() time.Time { return now },
		CloseTimeout: 100 * time.Millisecond})
	defer p.Close()
	err := p.Submit(t.Context(), []tracker.Fix{fix(now.Add(-time.Minute), 43.65, 111.97)})
	var re *tracker.RefusedError
	if err == nil || errors.As(err, &re) {
		t.Fatalf("Submit = %v, want a store error", err)
	}
	if p.StoreError() == nil {
		t.Error("StoreError is nil after a failed commit")
	}
}

// TestConcurrentVehiclesKeepOrder submits many vehicles' tracks from many goroutines: each
// vehicle's fixes must come back in order with none late and none lost.
func TestConcurrentVehiclesKeepOrder(t *testing.T) {
	h := newHarness(t)
	const vehicles, steps = 20, 50
	var wg sync.WaitGroup
	for v := range vehicles {
		wg.Go(func() {
			for i := range steps {
				f := fix(now.Add(-time.Hour+time.Duration(i)*10*time.Second), 43+float64(v)/100, 111+float64(i)/1000)
				f.VehicleID = "veh-" + string(rune('a'+v))
				f.DeviceID = f.VehicleID
				if err := h.p.Submit(context.Background(), []tracker.Fix{f}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for v := range vehicles {
		id := "veh-" + string(rune('a'+v))
		fs, err := h.store.Track(t.Context(), id, now.Add(-2*time.Hour), now)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != steps {
			t.Fatalf("%s: %d fixes, want %d", id, len(fs), steps)
		}
		for _, f := range fs {
			if f.Late {
				t.Fatalf("%s: fix at %s marked late", id, f.Time)
			}
		}
	}
}

// flakyStore is the real store behind a switch: while down, or for the next fail commits,
// Commit fails as a database that went away does, without touching the store.
type flakyStore struct {
	*sqlitestore.Store
	mu       sync.Mutex
	down     bool
	fail     int
	attempts int
}

var errInjected = errors.New("injected: database connection lost")

func (s *flakyStore) Commit(ctx context.Context, b *tracker.Batch) error {
	s.mu.Lock()
	s.attempts++
	failing := s.down || s.fail > 0
	if s.fail > 0 {
		s.fail--
	}
	s.mu.Unlock()
	if failing {
		return errInjected
	}
	return s.Store.Commit(ctx, b)
}

func (s *flakyStore) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// flakyEvaluator is the real zone evaluator behind a switch, as a geofence engine that
// became unreachable: down, or after okLeft more calls (when not negative).
type flakyEvaluator struct {
	zones  *tracker.ZoneEvaluator
	mu     sync.Mutex
	down   bool
	okLeft int
	calls  int
}

func (e *flakyEvaluator) Vehicle(id string) tracker.VehicleEvaluator {
	return flakyVehicle{e, e.zones.Vehicle(id)}
}

// flakyVehicle is a vehicle of the zone evaluator behind its flakyEvaluator's switch.
type flakyVehicle struct {
	e *flakyEvaluator
	tracker.VehicleEvaluator
}

func (v flakyVehicle) Evaluate(ctx context.Context, f *tracker.Fix, out *tracker.Outcome) error {
	e := v.e
	e.mu.Lock()
	e.calls++
	if e.okLeft == 0 {
		e.down = true
	}
	if e.okLeft > 0 {
		e.okLeft--
	}
	down := e.down
	e.mu.Unlock()
	if down {
		return errors.New("injected: geofence engine unreachable")
	}
	return v.VehicleEvaluator.Evaluate(ctx, f, out)
}

func (e *flakyEvaluator) set(down bool, okLeft int) {
	e.mu.Lock()
	e.down, e.okLeft = down, okLeft
	e.mu.Unlock()
}

func (e *flakyEvaluator) callCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

// yards are two yards on the test track (lat 43.65, eastward from lon 111.90).
const yards = `{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"id": "yard-a", "kind": "yard"},
  "geometry": {"type": "Polygon", "coordinates": [[[111.92, 43.64], [111.94, 43.64], [111.94, 43.66], [111.92, 43.66], [111.92, 43.64]]]}},
 {"type": "Feature", "properties": {"id": "yard-b", "kind": "yard"},
  "geometry": {"type": "Polygon", "coordinates": [[[111.96, 43.64], [111.98, 43.64], [111.98, 43.66], [111.96, 43.66], [111.96, 43.64]]]}}
]}`

type faultHarness struct {
	p     *tracker.Pipeline
	store *flakyStore
	eval  *flakyEvaluator
	reg   *prometheus.Registry
}

func newFaultHarness(t *testing.T, mutate func(*tracker.PipelineConfig)) *faultHarness {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	zones, err := geofence.ParseFeatureCollection([]byte(yards))
	if err != nil {
		t.Fatal(err)
	}
	eng := geofence.NewEmbedded(geofence.Options{})
	if err := eng.SetZones(t.Context(), zones); err != nil {
		t.Fatal(err)
	}
	h := &faultHarness{store: &flakyStore{Store: st}, eval: &flakyEvaluator{zones: tracker.NewZoneEvaluator(eng), okLeft: -1}, reg: prometheus.NewRegistry()}
	cfg := tracker.PipelineConfig{Store: h.store, Evaluator: h.eval, Registerer: h.reg, Now: func() time.Time { return now },
		RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond, CloseTimeout: 100 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	h.p = tracker.NewPipeline(cfg)
	t.Cleanup(func() { h.p.Close(); eng.Close(); st.Close() })
	return h
}

// trackFix is the i-th fix of the test track: every 30 s, 0.004° (320 m) further east, through
// yard-a (i 6..10) and yard-b (i 16..20).
func trackFix(i int) tracker.Fix {
	return fix(now.Add(-time.Hour+time.Duration(i)*30*time.Second), 43.65, 111.90+float64(i)*0.004)
}

func (h *faultHarness) submit(t *testing.T, fs ...tracker.Fix) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return h.p.Submit(ctx, fs)
}

func (h *faultHarness) mustSubmit(t *testing.T, fs ...tracker.Fix) {
	t.Helper()
	if err := h.submit(t, fs...); err != nil {
		t.Fatalf("Submit(%v…) = %v", fs[0].Time, err)
	}
}

// resend submits fs again and again, as a terminal does, until they are acknowledged.
func (h *faultHarness) resend(t *testing.T, fs ...tracker.Fix) (tries int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		tries++
		err := h.p.Submit(ctx, fs)
		if err == nil {
			return tries
		}
		if ctx.Err() != nil {
			t.Fatalf("resent fixes not acknowledged after %d tries: %v", tries, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// zoneEvents are the stored events of v1 as "type zone time" lines, in time order.
func zoneEvents(t *testing.T, st storetest.Store) []string {
	t.Helper()
	evs, err := st.Events(t.Context(), tracker.EventQuery{VehicleID: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s %s %s late=%v", e.Type, e.ZoneID, e.Time.Format("15:04:05"), e.Late))
	}
	return out
}

// referenceEvents runs the whole track through a pipeline whose store never fails.
func referenceEvents(t *testing.T, n int) []string {
	t.Helper()
	h := newFaultHarness(t, nil)
	for i := range n {
		h.mustSubmit(t, trackFix(i))
	}
	evs := zoneEvents(t, h.store)
	if len(evs) != 4 {
		t.Fatalf("reference run: events %q, want enter and exit of both yards", evs)
	}
	return evs
}

func counterOf(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	return (&harness{reg: reg}).counter(t, name)
}

func gaugeOf(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// checkTrack asserts fixes 0..n-1 are each stored once and none is marked late.
func checkTrack(t *testing.T, st storetest.Store, n int) {
	t.Helper()
	fs, err := st.Track(t.Context(), "v1", now.Add(-2*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != n {
		t.Fatalf("stored %d fixes, want %d", len(fs), n)
	}
	for i, f := range fs {
		if want := trackFix(i).Time; !f.Time.Equal(want) {
			t.Fatalf("fix %d at %v, want %v", i, f.Time, want)
		}
		if f.Late {
			t.Errorf("fix %d marked late", i)
		}
	}
}

// TestStoreOutageLosesNothing: the store fails while a vehicle drives through both yards; the
// fixes of the outage are not acknowledged, the terminal resends them after recovery, and
// then every fix is stored once, none late, with the same zone events as without an outage.
func TestStoreOutageLosesNothing(t *testing.T) {
	const n, outFrom, outTo = 24, 4, 20 // fixes outFrom..outTo-1 arrive while the store is down
	want := referenceEvents(t, n)
	h := newFaultHarness(t, nil)
	for i := range outFrom {
		h.mustSubmit(t, trackFix(i))
	}
	h.store.setDown(true)
	for i := outFrom; i < outTo; i++ {
		err := h.submit(t, trackFix(i))
		var re *tracker.RefusedError
		if err == nil || errors.As(err, &re) || !errors.Is(err, errInjected) {
			t.Fatalf("Submit of fix %d while the store is down = %v, want the store's error", i, err)
		}
	}
	// The terminal resends the oldest while the store is still down: still not acknowledged.
	if err := h.submit(t, trackFix(outFrom)); err == nil {
		t.Fatal("a resent fix was acknowledged while the store is down")
	}
	if err := h.p.StoreError(); err == nil || !errors.Is(err, errInjected) {
		t.Errorf("StoreError during the outage = %v", err)
	}
	if got := gaugeOf(t, h.reg, "bw_pipeline_backlog_fixes"); got != outTo-outFrom {
		t.Errorf("backlog gauge %v, want %d", got, outTo-outFrom)
	}
	calls := h.eval.callCount()

	h.store.setDown(false)
	for i := outFrom; i < outTo; i++ { // the resends, acknowledged once durable
		h.mustSubmit(t, trackFix(i))
	}
	if h.eval.callCount() != calls {
		t.Errorf("resent fixes evaluated again: %d evaluator calls, want none", h.eval.callCount()-calls)
	}
	if err := h.p.StoreError(); err != nil {
		t.Errorf("StoreError after the backlog was written: %v", err)
	}
	for i := outTo; i < n; i++ {
		h.mustSubmit(t, trackFix(i))
	}
	checkTrack(t, h.store, n)
	if got := zoneEvents(t, h.store); !slices.Equal(got, want) {
		t.Errorf("events after the outage:\n%q\nwant (no outage):\n%q", got, want)
	}
	if v := counterOf(t, h.reg, "bw_fixes_late_total"); v != 0 {
		t.Errorf("late counter %v, want 0", v)
	}
	if got := gaugeOf(t, h.reg, "bw_pipeline_backlog_fixes"); got != 0 {
		t.Errorf("backlog gauge %v after recovery", got)
	}
	t.Logf("%d fixes, %d sent while the store was down (none acknowledged), %d commit attempts failed; "+
		"after recovery all stored once, 0 late, %d events as without the outage",
		n, outTo-outFrom, int(counterOf(t, h.reg, "bw_store_commit_errors_total")), len(want))
}

// TestFailedCommitRetriedWithoutResend: the batch of a failed commit is written by the retries
// alone; the submitter was told the error, and its resend is then acknowledged at once.
func TestFailedCommitRetriedWithoutResend(t *testing.T) {
	h := newFaultHarness(t, nil)
	h.store.fail = 3
	if err := h.submit(t, trackFix(0), trackFix(1)); !errors.Is(err, errInjected) {
		t.Fatalf("Submit = %v, want the store's error", err)
	}
	// A later fix queues behind the failed batch: acknowledged only once both are written.
	tries := h.resend(t, trackFix(2))
	h.store.mu.Lock()
	attempts := h.store.attempts
	h.store.mu.Unlock()
	if attempts < 4 {
		t.Errorf("%d commit attempts, want at least 4 (3 failed)", attempts)
	}
	checkTrack(t, h.store, 3)
	h.mustSubmit(t, trackFix(0), trackFix(1)) // the terminal resends what was not acknowledged
	checkTrack(t, h.store, 3)
	if v := counterOf(t, h.reg, "bw_fixes_duplicate_total"); v != float64(tries-1+2) {
		t.Errorf("duplicate counter %v, want %d (every resend)", v, tries-1+2)
	}
}

// TestBacklogLimitRefusesUnevaluated: past MaxBacklog, fixes are turned away before evaluation,
// so neither the pipeline's nor the geofence state moves: resent later, the fix that enters
// yard-a still raises the enter, and an older fix is not late.
func TestBacklogLimitRefusesUnevaluated(t *testing.T) {
	const limit = 5
	h := newFaultHarness(t, func(c *tracker.PipelineConfig) { c.MaxBacklog = limit })
	h.store.setDown(true)
	for i := range limit {
		if err := h.submit(t, trackFix(i)); !errors.Is(err, errInjected) {
			t.Fatalf("fix %d: Submit = %v, want the store's error", i, err)
		}
	}
	calls := h.eval.callCount()
	for i := limit; i < 8; i++ { // fix 6 enters yard-a
		if err := h.submit(t, trackFix(i)); !errors.Is(err, tracker.ErrBacklogFull) {
			t.Fatalf("fix %d: Submit = %v, want ErrBacklogFull", i, err)
		}
	}
	if h.eval.callCount() != calls {
		t.Errorf("refused fixes were evaluated (%d calls)", h.eval.callCount()-calls)
	}
	if v := counterOf(t, h.reg, "bw_fixes_deferred_total"); v != 3 {
		t.Errorf("deferred counter %v, want 3", v)
	}
	h.store.setDown(false)
	for i := range 12 {
		h.resend(t, trackFix(i))
	}
	checkTrack(t, h.store, 12)
	got := zoneEvents(t, h.store)
	if len(got) != 2 || !strings.HasPrefix(got[0], "zone_enter yard-a") || !strings.HasPrefix(got[1], "zone_exit yard-a") {
		t.Errorf("events %q, want yard-a's enter and exit", got)
	}
}

// TestEvaluatorFailure: while the geofence engine is unreachable a fix is not acknowledged
// and the pipeline's state does not move; what was evaluated before it in the same submission
// is kept. Once the engine is back the resent fixes are taken, none late, events complete.
func TestEvaluatorFailure(t *testing.T) {
	const n = 24
	want := referenceEvents(t, n)
	h := newFaultHarness(t, nil)
	for i := range 4 {
		h.mustSubmit(t, trackFix(i))
	}
	// A batch of 4..9: 4 and 5 are evaluated, then the engine goes away.
	h.eval.set(false, 2)
	batch := []tracker.Fix{trackFix(4), trackFix(5), trackFix(6), trackFix(7), trackFix(8), trackFix(9)}
	if err := h.submit(t, batch...); err == nil {
		t.Fatal("a batch was acknowledged though the geofence engine failed on one of its fixes")
	}
	if err := h.submit(t, trackFix(10)); err == nil {
		t.Fatal("a fix was acknowledged while the geofence engine is unreachable")
	}
	h.eval.set(false, -1)
	h.mustSubmit(t, batch...) // the terminal resends the whole batch
	for i := 10; i < n; i++ {
		h.mustSubmit(t, trackFix(i))
	}
	checkTrack(t, h.store, n)
	if got := zoneEvents(t, h.store); !slices.Equal(got, want) {
		t.Errorf("events:\n%q\nwant:\n%q", got, want)
	}
}

// markEvaluator raises one "mark" event per fix, at the fix's time, and records what it was
// published.
type markEvaluator struct {
	vehicles *tracker.VehicleMap[*markVehicle]
	mu       sync.Mutex
	fixes    []tracker.Fix
	events   []tracker.Event
}

func newMarkEvaluator() *markEvaluator {
	return &markEvaluator{vehicles: tracker.NewVehicleMap(func(string) *markVehicle { return &markVehicle{} })}
}

func (m *markEvaluator) Vehicle(id string) tracker.VehicleEvaluator { return m.vehicles.Get(id) }

func (m *markEvaluator) Publish(fixes []tracker.Fix, events []tracker.Event, _ []tracker.Alert) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fixes = append(m.fixes, fixes...)
	m.events = append(m.events, events...)
}

type markVehicle struct{ tracker.VehicleState }

func (v *markVehicle) State() *tracker.VehicleState { return &v.VehicleState }

func (v *markVehicle) Evaluate(_ context.Context, f *tracker.Fix, out *tracker.Outcome) error {
	out.Events = append(out.Events, tracker.Event{Type: "mark", Time: f.Time, VehicleID: f.VehicleID, FixSeq: f.Seq})
	return nil
}

// TestEventNamesItsFix: an event names the fix that caused it from submission to storage,
// whatever else shares its group commit (refused fixes, resends, other vehicles' fixes).
func TestEventNamesItsFix(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	marks := newMarkEvaluator()
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Evaluator: marks, Publisher: marks, Now: func() time.Time { return now }})
	const vehicles, steps = 8, 40
	var wg sync.WaitGroup
	for v := range vehicles {
		wg.Go(func() {
			id := fmt.Sprintf("veh-%d", v)
			for i := range steps {
				f := fix(now.Add(-time.Hour+time.Duration(i)*10*time.Second), 43, 111+float64(i)/1000)
				f.VehicleID, f.DeviceID = id, id
				bad := f
				bad.Lat = 95
				batch := []tracker.Fix{bad, f}
				if i > 0 {
					prev := batch[1]
					prev.Time, prev.Lon = prev.Time.Add(-10*time.Second), 111+float64(i-1)/1000
					batch = append(batch, prev) // a resend: the previous report again
				}
				var re *tracker.RefusedError
				if err := p.Submit(context.Background(), batch); !errors.As(err, &re) {
					t.Errorf("Submit = %v, want the bad fix refused", err)
					return
				}
			}
		})
	}
	wg.Wait()
	p.Close()
	evs, err := st.Events(t.Context(), tracker.EventQuery{Type: "mark"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != vehicles*steps {
		t.Fatalf("%d events, want one per fix: %d", len(evs), vehicles*steps)
	}
	for _, e := range evs {
		fs, err := st.Track(t.Context(), e.VehicleID, e.Time, e.Time.Add(time.Microsecond))
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 1 || e.FixID != fs[0].ID {
			t.Fatalf("event of %s at %s names fix %d, want %v", e.VehicleID, e.Time, e.FixID, fs)
		}
	}
	if len(marks.fixes) != vehicles*steps || len(marks.events) != vehicles*steps {
		t.Errorf("published %d fixes and %d events, want %d of each", len(marks.fixes), len(marks.events), vehicles*steps)
	}

	// Restarted without knowing what is stored: the fix is evaluated again, found stored, and
	// its event is neither stored again nor published.
	p = tracker.NewPipeline(tracker.PipelineConfig{Store: st, Evaluator: marks, Publisher: marks, Now: func() time.Time { return now }})
	defer p.Close()
	f := fix(now.Add(-time.Hour), 43, 111)
	f.VehicleID, f.DeviceID = "veh-0", "veh-0"
	if err := p.Submit(t.Context(), []tracker.Fix{f}); err != nil {
		t.Fatal(err)
	}
	if evs, err := st.Events(t.Context(), tracker.EventQuery{Type: "mark"}); err != nil || len(evs) != vehicles*steps {
		t.Errorf("after a stored fix came again: %d events, %v; want %d", len(evs), err, vehicles*steps)
	}
	marks.mu.Lock()
	defer marks.mu.Unlock()
	if len(marks.events) != vehicles*steps {
		t.Errorf("the event of a stored fix was published again")
	}
}

// TestEmitKeptThroughOutage: an event emitted while the store is down is written once it is back.
func TestEmitKeptThroughOutage(t *testing.T) {
	h := newFaultHarness(t, nil)
	h.store.setDown(true)
	gate := tracker.Event{Type: tracker.EventGateRead, Time: now.Add(-time.Minute), VehicleID: "v1", Lat: 43.65, Lon: 111.9}
	if err := h.p.Emit(t.Context(), []tracker.Event{gate}, nil); !errors.Is(err, errInjected) {
		t.Fatalf("Emit while down = %v, want the store's error", err)
	}
	h.store.setDown(false)
	h.mustSubmit(t, trackFix(0)) // queued after the event: acknowledged once both are written
	evs, err := h.store.Events(t.Context(), tracker.EventQuery{Type: tracker.EventGateRead})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d gate events stored, want 1", len(evs))
	}
}

// TestCloseGivesUpOnDeadStore: Close retries a dead store for CloseTimeout only, and whoever
// still waits is told.
func TestCloseGivesUpOnDeadStore(t *testing.T) {
	h := newFaultHarness(t, nil)
	h.store.setDown(true)
	if err := h.submit(t, trackFix(0)); err == nil {
		t.Fatal("acknowledged with a dead store")
	}
	waited := make(chan error, 1)
	go func() { waited <- h.p.Submit(context.Background(), []tracker.Fix{trackFix(0)}) }()
	h.p.Close()
	if err := <-waited; err == nil {
		t.Error("a resend waiting at Close was acknowledged though nothing was written")
	}
	if err := h.submit(t, trackFix(1)); !errors.Is(err, tracker.ErrClosed) {
		t.Errorf("Submit after Close = %v, want ErrClosed", err)
	}
	checkTrack(t, h.store, 0)
}

// BenchmarkSubmit is the ingest path without rules: many vehicles in parallel, one fix per
// Submit, into the embedded store. Allocations per fix are the stable figure on a shared machine.
func BenchmarkSubmit(b *testing.B) {
	st, err := sqlitestore.Open(b.Context(), filepath.Join(b.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Now: func() time.Time { return now }})
	b.Cleanup(func() { p.Close(); st.Close() })
	var vehicles atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // many vehicles at once, as from many connections
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprintf("veh-%d", vehicles.Add(1))
		f := tracker.Fix{VehicleID: id, DeviceID: id, Time: now.Add(-30 * 24 * time.Hour), Lat: 43.65, Lon: 111.97, Valid: true}
		for pb.Next() {
			f.Time = f.Time.Add(time.Second)
			f.Lon += 0.00001
			if err := p.Submit(context.Background(), []tracker.Fix{f}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSubmitBatches is the ingest path without rules as a pipelining terminal drives it:
// many vehicles in parallel, 16 fixes (one read's) per Submit, with the attributes most
// terminals send. b.N counts fixes; allocations per fix are the stable figure on a shared machine.
func BenchmarkSubmitBatches(b *testing.B) {
	st, err := sqlitestore.Open(b.Context(), filepath.Join(b.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Now: func() time.Time { return now }})
	b.Cleanup(func() { p.Close(); st.Close() })
	const perSubmit = 16
	var vehicles atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	b.Cleanup(func() {
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(b.N), "mallocs/fix")
	})
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprintf("veh-%d", vehicles.Add(1))
		attrs := map[string]any{"mileage_km": 1234.5, "signal": 25, "satellites": 11}
		flags := []string{}
		t0 := now.Add(-30 * 24 * time.Hour)
		batch := make([]tracker.Fix, 0, perSubmit)
		for pb.Next() {
			t0 = t0.Add(time.Second)
			batch = append(batch, tracker.Fix{VehicleID: id, DeviceID: id, Time: t0, Lat: 43.65, Lon: 111.97 + float64(len(batch))*1e-5,
				Valid: true, Flags: flags, Attrs: attrs})
			if len(batch) < perSubmit {
				continue
			}
			if err := p.Submit(context.Background(), batch); err != nil {
				b.Error(err)
				return
			}
			batch = batch[:0]
		}
	})
}

// countingChecker raises one alert a check.
type countingChecker struct{ n atomic.Int64 }

func (c *countingChecker) Check(context.Context) (tracker.Outcome, error) {
	n := c.n.Add(1)
	a := tracker.Alert{Type: tracker.AlertSignalLost, Severity: tracker.SeverityWarning, VehicleID: "v1", Time: now,
		DedupKey: fmt.Sprintf("check:%d", n)}
	return tracker.Outcome{Alerts: []tracker.Alert{a}}, nil
}

// startChecks runs RunChecks with a 30 s tick on clock, counting the checks, until stop.
func startChecks(t *testing.T, clock func() time.Time) (*sqlitestore.Store, *tracker.Pipeline, *countingChecker, func()) {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Now: clock})
	t.Cleanup(func() { p.Close() })
	c := &countingChecker{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.RunChecks(ctx, c, 30*time.Second)
	}()
	return st, p, c, func() {
		cancel()
		<-done
	}
}

// TestRunChecksAfterTheClockHeldStill: a simulated clock holds still while its process is
// starved (sim.Clock), then runs on at 600×. RunChecks measured the pace over the stall as
// nothing, slept tick (30 s of wall clock, five simulated hours) and missed every meeting and
// expiry of those hours (TestSimulatedDistrictScore in CI: no meeting, weighing_skipped or
// emergency_review for hours). Checks must resume within a fraction of a second.
func TestRunChecksAfterTheClockHeldStill(t *testing.T) {
	start := time.Now()
	const stall = 300 * time.Millisecond
	clock := func() time.Time {
		run := time.Since(start) - stall
		if run < 0 {
			return now
		}
		return now.Add(600 * run)
	}
	_, _, c, stop := startChecks(t, clock)
	time.Sleep(stall)
	before := c.n.Load()
	time.Sleep(2 * time.Second) // 20 simulated minutes: 40 ticks
	stop()
	if n := c.n.Load() - before; n < 2 {
		t.Errorf("%d checks in the 20 simulated minutes after the clock held still, want one every 30 s of them", n)
	}
}

// TestRunChecks: what a check raises is committed; on a clock running 3600× as fast as the
// wall clock, a 30 s tick is a check every few milliseconds of the wall clock.
func TestRunChecks(t *testing.T) {
	start := time.Now()
	fast := func() time.Time { return now.Add(3600 * time.Since(start)) }
	st, p, c, stop := startChecks(t, fast)
	time.Sleep(500 * time.Millisecond)
	stop()
	p.Close() // writes what the last check raised, should its Emit have ended with ctx
	if n := c.n.Load(); n < 3 {
		t.Errorf("%d checks in 500 ms of a clock running 3600×, want a check every 20-odd ms (not every 30 s)", n)
	}
	as, err := st.Alerts(t.Context(), tracker.AlertQuery{VehicleID: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if n := c.n.Load(); int64(len(as)) != n {
		t.Errorf("%d alerts stored, want one per check: %d", len(as), n)
	}
}
