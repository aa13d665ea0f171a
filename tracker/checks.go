package tracker

import (
	"context"
	"errors"
	"time"
)

// Checker raises what no fix causes, as of its clock: signal loss, expiries, meetings. Its
// Outcome is to be committed even when it also returns an error: its state has moved past it.
type Checker interface {
	Check(ctx context.Context) (Outcome, error)
}

// RunChecks runs c every tick of the pipeline's Now clock (the Checker's too) until ctx ends,
// and commits what it raises. A simulated clock may run many times faster than the wall clock
// (the demo replays a day at 60×) and may hold still while its process is starved (sim.Clock):
// RunChecks measures the pace of Now to guess when the next tick falls, but never sleeps more
// than maxCheckWait of the wall clock before looking at Now again. Sleeping tick divided by a
// pace measured while the clock held still was 30 s of wall clock, five simulated hours at
// 600×: meetings, expiries and missed weighings of those hours went unchecked.
func (p *Pipeline) RunChecks(ctx context.Context, c Checker, tick time.Duration) {
	wait := minCheckWait // the first check soon, to learn the pace
	lastWall, lastNow := time.Now(), p.cfg.Now()
	var checked time.Time // Now at the last check; zero: none yet
	pace := 1.0
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wall, now := time.Now(), p.cfg.Now()
		if dw := wall.Sub(lastWall); dw > 0 && now.After(lastNow) {
			pace = float64(now.Sub(lastNow)) / float64(dw)
		}
		lastWall, lastNow = wall, now
		if due := tick - now.Sub(checked); !checked.IsZero() && due > 0 {
			wait = min(max(time.Duration(float64(due)/max(pace, 1)), minCheckWait), maxCheckWait)
			continue
		}
		checked = now
		out, err := c.Check(ctx)
		if err := errors.Join(err, p.Emit(ctx, out.Events, out.Alerts)); err != nil {
			p.log.Warn("timer check failed", "err", err)
		}
		wait = min(max(time.Duration(float64(tick)/max(pace, 1)), minCheckWait), maxCheckWait)
	}
}

// minCheckWait and maxCheckWait bound how long RunChecks sleeps between two looks at Now:
// however fast the clock runs, and however long it held still before.
const (
	minCheckWait = 20 * time.Millisecond
	maxCheckWait = 250 * time.Millisecond
)
