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
// (the demo replays a day at 60×): RunChecks measures the pace of Now and waits tick divided
// by it, or a meeting of ten simulated minutes would fall between two checks.
func (p *Pipeline) RunChecks(ctx context.Context, c Checker, tick time.Duration) {
	wait := minCheckWait // the first check soon, to learn the pace
	lastWall, lastNow := time.Now(), p.cfg.Now()
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		out, err := c.Check(ctx)
		if err := errors.Join(err, p.Emit(ctx, out.Events, out.Alerts)); err != nil {
			p.log.Warn("timer check failed", "err", err)
		}
		wall, now := time.Now(), p.cfg.Now()
		if dw := wall.Sub(lastWall); dw > 0 {
			pace := float64(now.Sub(lastNow)) / float64(dw)
			wait = time.Duration(float64(tick) / max(pace, 1))
			wait = max(wait, minCheckWait)
		}
		lastWall, lastNow = wall, now
	}
}

// minCheckWait bounds how often RunChecks checks, however fast the clock runs.
const minCheckWait = 20 * time.Millisecond
