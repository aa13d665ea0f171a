package tracker_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
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
		fix(now.Add(time.Hour), 43.65, 111.97),                           // far in the future
		fix(time.Date(1999, 8, 22, 0, 0, 0, 0, time.UTC), 43.65, 111.97), // GPS week rollover
		good,
	}
	err := h.p.Submit(t.Context(), batch)
	var re *tracker.RefusedError
	if !errors.As(err, &re) || len(re.Refused) != 4 {
		t.Fatalf("Submit = %v, want 4 refusals", err)
	}
	want := []string{tracker.ReasonBadCoordinates, tracker.ReasonBadCoordinates, tracker.ReasonFutureTime, tracker.ReasonAncientTime}
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
type failingStore struct{ tracker.FixStore }

func (failingStore) Commit(context.Context, *tracker.Batch) error {
	return errors.New("database is gone")
}

func TestStoreFailureIsNotAcknowledged(t *testing.T) {
	h := newHarness(t)
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: failingStore{h.store}, Now: func() time.Time { return now }})
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
