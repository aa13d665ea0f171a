package tracker_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// stored is what a test expects of one stored report of a device time, in Track order.
type stored struct {
	lat       float64
	flags     []string // among the record's flags
	conflict  bool     // flagged tracker.FlagConflict
	evaluated bool     // the evaluator saw it
}

// TestReportsOfOneTime: two reports from one device with the same device time. The same
// report again is a retransmission; the same position (or one within 30 m) with an alarm added
// is stored merged and evaluated; another position is stored flagged as a conflict, not evaluated, and raises a
// device_conflict alert: whichever came first, since neither can be trusted on its own.
// Restarting rows restart the pipeline, seeded from the store, after the first submission.
func TestReportsOfOneTime(t *testing.T) {
	at := now.Add(-30 * time.Minute)
	first := fix(at, 43.65, 111.97)
	first.Flags, first.Attrs = []string{"acc_on"}, map[string]any{"mileage_km": 1200.5}
	alarm := first
	alarm.Flags, alarm.Attrs = []string{"sos"}, map[string]any{"alarm": 1}
	forged := fix(at, 44.10, 112.40)
	next, nextForged := fix(at.Add(time.Minute), 43.66, 111.98), fix(at.Add(time.Minute), 44.20, 112.50)
	earlier, earlierForged := fix(at.Add(-time.Hour), 43.60, 111.90), fix(at.Add(-time.Hour), 44.30, 112.60)
	// A JT701 lock event and its location report of the same second: 8 m apart, another speed.
	lockEvent := fix(at, 43.65007, 111.97)
	lockEvent.SpeedKmh, lockEvent.Flags, lockEvent.Attrs = 0, []string{}, map[string]any{"seal_event": "unlocked"}
	tests := []struct {
		name     string
		restart  bool
		submits  [][]tracker.Fix
		want     []stored
		alerts   int        // device_conflict alerts stored
		evidence [2]float64 // latitudes of both positions in an alert's evidence: of want's two reports when zero
		resends  float64
	}{
		// A report of a time the pipeline no longer holds: only the store finds the conflict.
		// The pipeline took it for a late fix and evaluated it (late fixes never move the
		// vehicle); the store flags it, and the alert names the stored position as unknown.
		{name: "conflict with an older report after a restart", restart: true, submits: [][]tracker.Fix{{first, next}, {forged}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: forged.Lat, conflict: true, evaluated: true}}, alerts: 1,
			evidence: [2]float64{0, forged.Lat}},
		{name: "retransmission", submits: [][]tracker.Fix{{first}, {first}, {first}},
			want: []stored{{lat: first.Lat, evaluated: true}}, resends: 2},
		{name: "retransmission after a restart", restart: true, submits: [][]tracker.Fix{{first}, {first}},
			want: []stored{{lat: first.Lat, evaluated: true}}, resends: 1},
		{name: "alarm merged", submits: [][]tracker.Fix{{first}, {alarm}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: first.Lat, flags: []string{"sos", "acc_on"}, evaluated: true}}},
		{name: "alarm merged after a restart", restart: true, submits: [][]tracker.Fix{{first}, {alarm}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: first.Lat, flags: []string{"sos", "acc_on"}, evaluated: true}}},
		{name: "both reports resent after the alarm", submits: [][]tracker.Fix{{first}, {alarm}, {first, alarm}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: first.Lat, flags: []string{"sos"}, evaluated: true}}, resends: 2},
		{name: "a position 8 m away told again is merged, not a conflict", submits: [][]tracker.Fix{{first}, {lockEvent}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: lockEvent.Lat, flags: []string{"acc_on"}, evaluated: true}}},
		{name: "a position 8 m away after a restart", restart: true, submits: [][]tracker.Fix{{first}, {lockEvent}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: lockEvent.Lat, flags: []string{"acc_on"}, evaluated: true}}},
		{name: "conflicting position", submits: [][]tracker.Fix{{first}, {forged}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: forged.Lat, conflict: true}}, alerts: 1},
		{name: "conflicting position after a restart", restart: true, submits: [][]tracker.Fix{{first}, {forged}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: forged.Lat, conflict: true}}, alerts: 1},
		{name: "conflicting position in one submission", submits: [][]tracker.Fix{{first, forged}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: forged.Lat, conflict: true}}, alerts: 1},
		{name: "conflicting report resent", submits: [][]tracker.Fix{{first}, {forged}, {forged}, {first}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: forged.Lat, conflict: true}}, alerts: 1, resends: 2},
		// The forged copy came first: it drives the track, the real one is kept as the
		// conflict, and the alert shows an officer both.
		{name: "forged copy first, then the real one", submits: [][]tracker.Fix{{forged}, {first}},
			want: []stored{{lat: forged.Lat, evaluated: true}, {lat: first.Lat, conflict: true}}, alerts: 1},
		{name: "two conflicts in one hour: one alert", submits: [][]tracker.Fix{{first}, {forged}, {next}, {nextForged}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: forged.Lat, conflict: true}}, alerts: 1,
			evidence: [2]float64{next.Lat, nextForged.Lat}}, // the incident's alert shows its latest pair
		{name: "a conflict in another hour: another alert", submits: [][]tracker.Fix{{first}, {forged}, {earlier}, {earlierForged}},
			want: []stored{{lat: first.Lat, evaluated: true}, {lat: forged.Lat, conflict: true}}, alerts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			eval := newMarkEvaluator()
			reg := prometheus.NewRegistry()
			start := func() *tracker.Pipeline {
				return tracker.NewPipeline(tracker.PipelineConfig{Store: st, Evaluator: eval, Publisher: eval, Registerer: reg,
					Now: func() time.Time { return now }})
			}
			p := start()
			for i, fixes := range tt.submits {
				if i == 1 && tt.restart {
					p.Close()
					eval = newMarkEvaluator()
					reg = prometheus.NewRegistry()
					p = start()
					latest, err := st.LatestFixes(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					p.Seed(latest)
				}
				if err := p.Submit(t.Context(), slices.Clone(fixes)); err != nil {
					t.Fatalf("submission %d: %v", i, err)
				}
			}
			p.Close()

			recs, err := st.Track(t.Context(), "v1", at, at.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			evaluated := map[int64]bool{}
			for _, e := range events(t, st) {
				evaluated[e.FixID] = true
			}
			if len(recs) != len(tt.want) {
				t.Fatalf("stored %d reports of the time, want %d: %+v", len(recs), len(tt.want), recs)
			}
			for i, w := range tt.want {
				r := recs[i]
				if r.Lat != w.lat || r.HasFlag(tracker.FlagConflict) != w.conflict || evaluated[r.ID] != w.evaluated {
					t.Errorf("report %d: lat %v conflict %v evaluated %v, want %v %v %v", i, r.Lat, r.HasFlag(tracker.FlagConflict), evaluated[r.ID], w.lat, w.conflict, w.evaluated)
				}
				for _, fl := range w.flags {
					if !r.HasFlag(fl) {
						t.Errorf("report %d: flags %q, want %q among them", i, r.Flags, fl)
					}
				}
			}
			if got := counter(t, reg, "bw_fixes_duplicate_total"); got != tt.resends {
				t.Errorf("duplicates counted %v, want %v", got, tt.resends)
			}
			// A conflicting report is evidence: never the vehicle's latest, never published.
			latest, err := st.LatestFixes(t.Context())
			if err != nil || len(latest) != 1 || latest[0].HasFlag(tracker.FlagConflict) {
				t.Errorf("LatestFixes = %+v, %v", latest, err)
			}
			for _, f := range eval.fixes {
				if f.HasFlag(tracker.FlagConflict) {
					t.Errorf("published a conflicting report: %+v", f)
				}
			}

			alerts, err := st.Alerts(t.Context(), tracker.AlertQuery{Type: tracker.AlertDeviceConflict})
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != tt.alerts {
				t.Fatalf("%d device_conflict alerts, want %d: %+v", len(alerts), tt.alerts, alerts)
			}
			for _, a := range alerts {
				checkConflictAlert(t, a)
			}
			if tt.alerts > 0 {
				want := tt.evidence
				if want == [2]float64{} {
					want = [2]float64{tt.want[0].lat, tt.want[1].lat}
				}
				found := false
				for _, a := range alerts {
					var ev struct {
						First, Second struct{ Lat, Lon float64 } // First zero when the store alone knew it
					}
					if err := json.Unmarshal(a.Evidence, &ev); err != nil {
						t.Fatal(err)
					}
					found = found || ev.First.Lat == want[0] && ev.Second.Lat == want[1] && a.Time.Equal(at)
				}
				if !found {
					t.Errorf("no alert of %v with evidence of the first at %v and the second at %v: %+v", at, want[0], want[1], alerts)
				}
			}
		})
	}
}

func checkConflictAlert(t *testing.T, a tracker.Alert) {
	t.Helper()
	if a.Severity != tracker.SeverityCritical || a.Status != tracker.StatusOpen || a.VehicleID != "v1" || a.Message == "" {
		t.Errorf("alert %+v: want critical, open, on v1, with a message", a)
	}
}

func events(t *testing.T, st *sqlitestore.Store) []tracker.Event {
	t.Helper()
	es, err := st.Events(t.Context(), tracker.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	return (&harness{reg: reg}).counter(t, name)
}
