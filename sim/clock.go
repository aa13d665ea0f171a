package sim

import (
	"container/heap"
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// clock maps simulated time to real time.
type clock interface {
	// SleepUntil returns once simulated time has reached t.
	SleepUntil(ctx context.Context, t time.Time) error
	// Hold keeps simulated time from running on far until release is called.
	Hold() (release func())
}

const (
	// beatEvery is how often a Clock counts the real time gone by.
	beatEvery = 5 * time.Millisecond
	// maxBeat is the most real time one beat counts. A process that did not run for longer (a
	// starved machine, a stopped debugger) finds simulated time moved on by this much only: at
	// 600× a second of a loaded machine would otherwise be ten minutes in which no simulated
	// terminal could report, signal losses the simulated devices never had.
	maxBeat = 20 * time.Millisecond
	// maxOverdue is how far simulated time runs past the earliest moment a simulated device is
	// still waiting for: a goroutine the machine has not run yet holds the clock there, so that
	// the server sharing it does not see that device silent for longer than it was.
	maxOverdue = 10 * time.Second
)

// Clock runs simulated time at speedup × real time from start, never ahead of the real
// present: once it catches up it runs at real speed, so no fix is from the future. The demo
// gives the server the same clock, so that timers (signal loss, overstay) agree with the
// simulated devices. Simulated time passes only while the process runs (a stall longer than
// maxBeat counts as maxBeat) and runs at most maxOverdue past the earliest moment a sleeper
// (SleepUntil) waits for and has not been woken for yet.
type Clock struct {
	beats *beats
}

// beats is what the beating goroutine holds: not the Clock, so that a Clock no longer used
// is collected and its goroutine stopped.
type beats struct {
	speedup float64
	// catchUp: the clock started in the past and runs at real speed once it reaches the present
	catchUp bool
	last    atomic.Pointer[beat]

	mu       sync.Mutex
	sleepers sleepers
}

// beat is a reading of the clock: simulated time sim at real time real, and the latest it may
// read until the next beat (the earliest sleeper's time plus maxOverdue; zero: no limit).
type beat struct{ real, sim, limit time.Time }

// NewClock starts a clock at simulated time start, now.
func NewClock(start time.Time, speedup float64) *Clock {
	now := time.Now()
	b := &beats{speedup: speedup, catchUp: speedup > 1 && start.Before(now)}
	b.last.Store(&beat{real: now, sim: start})
	stop := make(chan struct{})
	go b.run(stop)
	c := &Clock{beats: b}
	runtime.AddCleanup(c, func(stop chan struct{}) { close(stop) }, stop)
	return c
}

func (b *beats) run(stop <-chan struct{}) {
	t := time.NewTicker(beatEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			now := time.Now()
			b.mu.Lock()
			var limit time.Time
			if len(b.sleepers) > 0 {
				limit = b.sleepers[0].t.Add(maxOverdue)
			}
			b.mu.Unlock()
			b.last.Store(&beat{real: now, sim: b.at(now), limit: limit})
		}
	}
}

// at is the simulated time at real time now, counting at most maxBeat since the last beat.
func (b *beats) at(now time.Time) time.Time {
	last := b.last.Load()
	// A beat stored after now was read counts nothing: the clock never goes back.
	el := min(max(now.Sub(last.real), 0), maxBeat)
	sim := last.sim.Add(time.Duration(float64(el) * b.speedup))
	if !last.limit.IsZero() && sim.After(last.limit) {
		sim = last.limit
		if last.sim.After(sim) { // a sleeper came after the beat read: never back
			sim = last.sim
		}
	}
	// Where the accelerated clock would overtake the present, it runs at real speed instead.
	if b.catchUp && sim.After(now) {
		return now
	}
	return sim
}

// Now is the simulated present.
func (c *Clock) Now() time.Time { return c.beats.at(time.Now()) }

func (c *Clock) SleepUntil(ctx context.Context, t time.Time) error {
	if !t.After(c.Now()) {
		return ctx.Err()
	}
	s := &sleeper{t: t}
	c.beats.push(s)
	defer c.beats.remove(s)
	for {
		realNow := time.Now()
		now := c.beats.at(realNow)
		d := t.Sub(now)
		if d <= 0 {
			return ctx.Err()
		}
		real := time.Duration(float64(d) / c.beats.speedup)
		if now.Equal(realNow) { // caught up with the present: real speed
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

// Hold keeps simulated time within maxOverdue of the present, as a sleeper not yet woken
// would, until release is called (again: nothing). A simulated terminal holds it from writing
// a frame until the server acknowledges it: a server the machine has not run yet must not see
// simulated minutes pass without the fixes on their way to it.
func (c *Clock) Hold() (release func()) {
	s := &sleeper{t: c.Now()}
	c.beats.push(s)
	return func() { c.beats.remove(s) }
}

func (b *beats) push(s *sleeper) {
	b.mu.Lock()
	heap.Push(&b.sleepers, s)
	b.mu.Unlock()
}

// remove takes s out of the heap if it is still there.
func (b *beats) remove(s *sleeper) {
	b.mu.Lock()
	if s.i >= 0 {
		heap.Remove(&b.sleepers, s.i)
	}
	b.mu.Unlock()
}

// sleeper is a SleepUntil or a Hold under way: what it waits for, and its place in the heap.
type sleeper struct {
	t time.Time
	i int
}

// sleepers is a heap of the sleepers, the earliest first.
type sleepers []*sleeper

func (h sleepers) Len() int           { return len(h) }
func (h sleepers) Less(i, j int) bool { return h[i].t.Before(h[j].t) }
func (h sleepers) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}
func (h *sleepers) Push(x any) {
	s := x.(*sleeper)
	s.i = len(*h)
	*h = append(*h, s)
}
func (h *sleepers) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	s.i = -1
	*h = old[:len(old)-1]
	return s
}

// instantClock never waits: for tests of the movement model.
type instantClock struct{}

func (instantClock) SleepUntil(ctx context.Context, t time.Time) error { return ctx.Err() }

func (instantClock) Hold() (release func()) { return func() {} }
