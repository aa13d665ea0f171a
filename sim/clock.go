package sim

import (
	"context"
	"time"
)

// clock maps simulated time to real time.
type clock interface {
	// SleepUntil returns once simulated time has reached t.
	SleepUntil(ctx context.Context, t time.Time) error
}

// Clock runs simulated time at speedup × real time from start, never ahead of the real
// present: once it catches up it runs at real speed, so no fix is from the future. The demo
// gives the server the same clock, so that timers (signal loss, overstay) agree with the
// simulated devices.
type Clock struct {
	start   time.Time // simulated time at real time t0
	t0      time.Time
	speedup float64
}

// NewClock starts a clock at simulated time start, now.
func NewClock(start time.Time, speedup float64) *Clock {
	return &Clock{start: start, t0: time.Now(), speedup: speedup}
}

// Now is the simulated present.
func (c *Clock) Now() time.Time {
	el := time.Since(c.t0)
	sim := c.start.Add(time.Duration(float64(el) * c.speedup))
	// Where the accelerated clock would overtake the present, it runs at real speed instead.
	if real := c.t0.Add(el); sim.After(real) && c.start.Before(c.t0) {
		lag := c.t0.Sub(c.start)
		catch := time.Duration(float64(lag) / (c.speedup - 1)) // real time to catch up
		if c.speedup <= 1 || el < catch {
			return sim
		}
		return real
	}
	return sim
}

func (c *Clock) SleepUntil(ctx context.Context, t time.Time) error {
	for {
		d := t.Sub(c.Now())
		if d <= 0 {
			return ctx.Err()
		}
		real := time.Duration(float64(d) / c.speedup)
		if n := c.Now(); !n.Before(time.Now()) {
			real = d
		}
		timer := time.NewTimer(max(real, time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// instantClock never waits: for tests of the movement model.
type instantClock struct{}

func (instantClock) SleepUntil(ctx context.Context, t time.Time) error { return ctx.Err() }
