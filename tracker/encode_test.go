package tracker_test

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// encodeChecker is the embedded store, checking at every Commit that the pipeline handed it
// each fix encoded ahead and encoded as the fix is committed: after the pipeline's hygiene
// and evaluation changed it.
type encodeChecker struct {
	*sqlitestore.Store
	mu               sync.Mutex
	commits, without int
	stale            []string
}

func (c *encodeChecker) Commit(ctx context.Context, b *tracker.Batch) error {
	c.mu.Lock()
	if len(b.Fixes) > 0 {
		c.commits++
		if len(b.Encoded) != len(b.Fixes) {
			c.without++
		} else {
			for i := range b.Fixes {
				want, err := c.EncodeFix(nil, &b.Fixes[i])
				if err != nil || !bytes.Equal(want, b.Encoded[i]) {
					c.stale = append(c.stale, b.Fixes[i].Time.Format(time.TimeOnly))
				}
			}
		}
	}
	c.mu.Unlock()
	return c.Store.Commit(ctx, b)
}

// TestFixesEncodedAhead: the group commit gets every fix already encoded, as it is stored,
// flags the pipeline added (a jump, a conflict) and merged reports included.
func TestFixesEncodedAhead(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &encodeChecker{Store: st}
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: c, Now: func() time.Time { return now }})
	defer p.Close()

	a := fix(now.Add(-3*time.Minute), 43.65, 111.97)
	a.Attrs = map[string]any{"signal": 25}              // one: the encoding of several follows the map's order
	jump := fix(now.Add(-2*time.Minute), 44.65, 111.97) // 111 km in a minute
	zero := fix(now.Add(-90*time.Second), 0, 0)         // "valid" at 0,0: stored invalid
	alarm := jump
	alarm.Flags = []string{tracker.FlagSOS} // the same report with an alarm: merged, stored late
	forged := a
	forged.Lat = 40 // a known device time elsewhere: stored as a conflict
	var wg sync.WaitGroup
	for i, batch := range [][]tracker.Fix{{a, jump, zero}, {alarm}, {forged}} {
		if err := p.Submit(t.Context(), batch); err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
	}
	// Other vehicles at once, so that groups hold several submissions.
	for v := range 8 {
		wg.Go(func() {
			for i := range 20 {
				f := fix(now.Add(-time.Hour+time.Duration(i)*time.Second), 43, 111+float64(i)/1000)
				f.VehicleID, f.DeviceID = "w"+string(rune('a'+v)), "w"+string(rune('a'+v))
				if err := p.Submit(context.Background(), []tracker.Fix{f}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	p.Close()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.commits == 0 || c.without > 0 || len(c.stale) > 0 {
		t.Errorf("%d commits with fixes, %d without their encodings, stale encodings of %q", c.commits, c.without, c.stale)
	}
	got := make(map[string][]tracker.Fix)
	fs, err := st.Track(t.Context(), "v1", now.Add(-time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		got[f.Time.Format(time.TimeOnly)] = append(got[f.Time.Format(time.TimeOnly)], f)
	}
	if g := got[jump.Time.Format(time.TimeOnly)]; len(g) != 2 || !g[0].HasFlag(tracker.FlagJump) || !g[1].HasFlag(tracker.FlagSOS) || !g[1].Late {
		t.Errorf("the jump, and its report with an alarm: %+v", g)
	}
	if g := got[zero.Time.Format(time.TimeOnly)]; len(g) != 1 || g[0].Valid {
		t.Errorf("the fix at 0,0: %+v", g)
	}
	if g := got[a.Time.Format(time.TimeOnly)]; len(g) != 2 || g[0].Attrs["signal"] != 25.0 || !g[1].HasFlag(tracker.FlagConflict) {
		t.Errorf("the first fix and its conflicting copy: %+v", g)
	}
}

// TestUnencodableFixNotAcknowledged: a fix the store cannot encode is not acknowledged,
// whether the pipeline or the Commit finds it out.
func TestUnencodableFixNotAcknowledged(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Now: func() time.Time { return now },
		CloseTimeout: 100 * time.Millisecond, RetryMin: time.Millisecond})
	defer p.Close()
	f := fix(now.Add(-time.Minute), 43.65, 111.97)
	f.Attrs = map[string]any{"bad": math.NaN()}
	if err := p.Submit(t.Context(), []tracker.Fix{f}); err == nil {
		t.Fatal("a fix that cannot be stored was acknowledged")
	}
	p.Close()
	if fs, err := st.Track(t.Context(), "v1", now.Add(-time.Hour), now); err != nil || len(fs) != 0 {
		t.Errorf("stored %d fixes (%v), want none", len(fs), err)
	}
}
