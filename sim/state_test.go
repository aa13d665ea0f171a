package sim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// until keeps what a terminal sends up to a time and stops the vehicle at its first report
// after it, as a stopped simulation would.
type until struct {
	mu  sync.Mutex
	rs  []report
	end time.Time
}

func (u *until) Send(_ context.Context, rs []report, _ bool) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, r := range rs {
		if r.Time.After(u.end) {
			return errEnough
		}
		u.rs = append(u.rs, r)
	}
	return nil
}

func (u *until) Close() error { return nil }

// stopClock runs instantly up to end and stops whoever would wait past it: a simulation
// stopped at end, with its vehicles computed ahead of the clock as far as they had come.
type stopClock struct{ end time.Time }

func (c stopClock) SleepUntil(ctx context.Context, t time.Time) error {
	if t.After(c.end) {
		return errEnough
	}
	return nil
}

func (stopClock) Hold() (release func()) { return func() {} }

// runUntil drives every vehicle of w until end and returns what each sent.
func runUntil(t *testing.T, w *world, vs []*vehicle, end time.Time) map[string]*until {
	t.Helper()
	out := map[string]*until{}
	var wg sync.WaitGroup
	for _, v := range vs {
		u := &until{end: end}
		out[v.id] = u
		v.out = u
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := v.run(context.Background()); !errors.Is(err, errEnough) {
				t.Errorf("%s: %v", v.id, err)
			}
		}()
	}
	wg.Wait()
	return out
}

// A simulation stopped and resumed from its saved state goes on where every vehicle was: the
// first report after the restart follows the last one before it as any other report does, in
// time and in distance, and nothing sent before the restart is sent again. (A vehicle dark at
// the restart sends its buffer afterwards: reports older than the restart, never sent.)
func TestResumeWhereStopped(t *testing.T) {
	sc := DefaultScenario()
	for i := range sc.Fleets {
		sc.Fleets[i].Count = min(sc.Fleets[i].Count, 3)
	}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	stop, end := start.Add(20*time.Hour), start.Add(26*time.Hour)
	a := newWorld(sc, start, 7)
	a.clock = stopClock{stop}
	before := runUntil(t, a, a.vehicles(), end)
	file := filepath.Join(t.TempDir(), "sim-state.json")
	if err := a.state(stop).save(file); err != nil {
		t.Fatal(err)
	}

	st, err := LoadState(file)
	if err != nil || st == nil {
		t.Fatalf("LoadState: %v, %v", st, err)
	}
	b := newWorld(sc, st.Start, st.Seed)
	b.truth.t = a.truth.snapshot() // what the truth file holds
	vs := b.vehicles()
	if err := b.resume(st); err != nil {
		t.Fatal(err)
	}
	after := runUntil(t, b, vs, end)
	checkpoints, claims := 0, 0
	for _, sv := range st.Vehicles {
		if sv.Checkpoint != nil {
			checkpoints++
		}
		for _, d := range sv.Log {
			if d.Op == "claim" && d.S != "" {
				claims++
			}
		}
	}
	if checkpoints < len(vs)/2 || claims == 0 {
		t.Errorf("%d of %d vehicles past a checkpoint, %d anomalies claimed in the logs: the test resumes too little", checkpoints, len(vs), claims)
	}
	for _, v := range vs {
		x, y := before[v.id].rs, after[v.id].rs
		if len(x) == 0 || len(y) == 0 {
			t.Errorf("%s: %d reports before the restart, %d after", v.id, len(x), len(y))
			continue
		}
		slices.SortFunc(y, func(p, q report) int { return p.Time.Compare(q.Time) })
		last, first := x[len(x)-1], y[0]
		dt := first.Time.Sub(last.Time)
		d := distance(orb.Point{last.Lon, last.Lat}, orb.Point{first.Lon, first.Lat})
		if dt <= 0 || dt > 3*time.Minute || d/dt.Seconds()*3.6 > 130 {
			t.Errorf("%s: last report before the restart %v at %.5f,%.5f, first after %v at %.5f,%.5f: %.0f m in %v",
				v.id, last.Time, last.Lat, last.Lon, first.Time, first.Lat, first.Lon, d, dt)
		}
	}
}

// A damaged state file is refused, not half resumed; a state of another scenario is no state
// of this one: the simulation begins anew.
func TestStateDamagedOrForeign(t *testing.T) {
	dir := t.TempDir()
	damaged := filepath.Join(dir, "damaged.json")
	if err := os.WriteFile(damaged, []byte(`{"scenario":"hohhot","vehicles":{`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{StateFile: damaged, JT808Addr: "x", GT06Addr: "x", JT600Addr: "x", OsmAndURL: "x"}); err == nil {
		t.Error("a damaged state file was accepted")
	}
	foreign := filepath.Join(dir, "foreign.json")
	st := &State{Scenario: "elsewhere", Seed: 3, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Now: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	if err := st.save(foreign); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{StateFile: foreign, JT808Addr: "x", GT06Addr: "x", JT600Addr: "x", OsmAndURL: "x"})
	if err != nil || s.Resumed() || s.cfg.Seed == 3 {
		t.Errorf("state of another scenario: resumed %v, seed %d, %v; want a new simulation", s != nil && s.Resumed(), s.cfg.Seed, err)
	}
	if st, err := LoadState(filepath.Join(dir, "none.json")); st != nil || err != nil {
		t.Errorf("no state file: %v, %v; want none", st, err)
	}
}
