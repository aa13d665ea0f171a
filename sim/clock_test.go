//go:build unix

package sim

import (
	"container/heap"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A stalled process (here stopped with SIGSTOP for two seconds, as a starved machine or a
// debugger would stop it) finds simulated time moved on by at most a beat: at 600× the two
// seconds would be twenty minutes in which no simulated terminal reported, and the server
// sharing the clock would raise signal losses the devices never had.
func TestClockHoldsStillWhileTheProcessIsStopped(t *testing.T) {
	const speedup, stall = 600.0, 2 * time.Second
	c := NewClock(time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC), speedup)
	time.Sleep(50 * time.Millisecond)
	waker := exec.Command("sh", "-c", fmt.Sprintf("sleep %g; kill -CONT %d", stall.Seconds(), os.Getpid()))
	if err := waker.Start(); err != nil {
		t.Fatal(err)
	}
	before, realBefore := c.Now(), time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the signal stops the process on its way, not at once
	after, realAfter := c.Now(), time.Now()
	if err := waker.Wait(); err != nil {
		t.Fatal(err)
	}
	stopped := realAfter.Sub(realBefore)
	moved := after.Sub(before)
	t.Logf("stopped %v real, simulated time moved %v (%v at full speed)", stopped, moved, time.Duration(float64(stopped)*speedup))
	if stopped < stall/2 {
		t.Fatalf("the process was stopped only %v", stopped)
	}
	if moved < 0 || moved > time.Duration(float64(stopped-stall/2)*speedup) {
		t.Errorf("simulated time moved %v over a stop of %v: the stall counted", moved, stopped)
	}
}

// The clock runs at its speed while the process runs, never backwards whoever reads it.
func TestClockRunsAtSpeedAndNeverBack(t *testing.T) {
	const speedup = 100.0
	start, realStart := time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC), time.Now()
	c := NewClock(start, speedup)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			prev := c.Now()
			for range 20000 {
				n := c.Now()
				if n.Before(prev) {
					t.Errorf("Now went back from %v to %v", prev, n)
					return
				}
				prev = n
			}
		})
	}
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	moved, real := c.Now().Sub(start), time.Since(realStart)
	if moved <= 0 || moved > time.Duration(float64(real)*speedup) {
		t.Errorf("simulated time moved %v in %v real at %g×", moved, real, speedup)
	}
}

// A clock started in the past runs accelerated until it reaches the present, then at real
// speed: no simulated fix is from the future.
func TestClockCatchesUpWithThePresent(t *testing.T) {
	c := NewClock(time.Now().Add(-time.Second), 1000)
	time.Sleep(100 * time.Millisecond)
	for range 1000 {
		if n, now := c.Now(), time.Now(); n.After(now) {
			t.Fatalf("simulated %v after the present %v", n, now)
		}
	}
	if lag := time.Since(c.Now()); lag > 50*time.Millisecond {
		t.Errorf("%v behind the present after catching up", lag)
	}
}

// A simulated device the machine has not run yet (its SleepUntil's time passed, its goroutine
// not woken) holds the clock at most maxOverdue past its time: the server sharing the clock
// sees it silent no longer than it was. Once it has run, the clock goes on.
func TestClockWaitsForAnOverdueSleeper(t *testing.T) {
	const speedup = 600.0
	start := time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC)
	c := NewClock(start, speedup)
	due := &sleeper{t: start.Add(time.Minute)}
	b := c.beats
	b.mu.Lock()
	heap.Push(&b.sleepers, due)
	b.mu.Unlock()
	time.Sleep(300 * time.Millisecond) // three minutes at full speed
	if held := c.Now().Sub(due.t); held > maxOverdue {
		t.Errorf("simulated time ran %v past a device not yet woken for its report, want at most %v", held, maxOverdue)
	}
	b.mu.Lock()
	heap.Remove(&b.sleepers, due.i)
	b.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	if n := c.Now(); !n.After(due.t.Add(maxOverdue)) {
		t.Errorf("the clock stayed at %v once the device had run", n)
	}
}

// Sleepers wake at their time whatever the order they went to sleep in, those given up leave
// from the middle of the heap, and none is left behind to hold the clock.
func TestClockSleepersWakeAtTheirTime(t *testing.T) {
	start := time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC)
	c := NewClock(start, 6000)
	var wg sync.WaitGroup
	for _, k := range []int{7, 3, 9, 1, 5, 2, 8, 4, 6} {
		ctx, cancel := context.WithCancel(context.Background())
		if k%3 == 0 {
			cancel() // given up while the others sleep
		}
		wg.Go(func() {
			defer cancel()
			due := start.Add(time.Duration(k) * time.Minute)
			err := c.SleepUntil(ctx, due)
			if now := c.Now(); err == nil && now.Before(due) {
				t.Errorf("sleeper %d woke at %v, before %v", k, now, due)
			}
		})
	}
	wg.Wait()
	if n := len(c.beats.sleepers); n != 0 {
		t.Errorf("%d sleepers left in the heap", n)
	}
}

// A hold keeps the clock within maxOverdue of where it was taken until released; releasing
// twice takes nothing else out of the heap (here the other hold, still holding).
func TestClockHold(t *testing.T) {
	const speedup = 600.0
	c := NewClock(time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC), speedup)
	at := c.Now()
	release := c.Hold()
	other := c.Hold()
	time.Sleep(300 * time.Millisecond) // three minutes at full speed
	if held := c.Now().Sub(at); held > maxOverdue+time.Duration(maxBeat*speedup) {
		t.Errorf("simulated time ran %v past a hold, want at most %v", held, maxOverdue)
	}
	release()
	release()
	if n := len(c.beats.sleepers); n != 1 {
		t.Fatalf("%d left in the heap after releasing one of two holds twice, want 1", n)
	}
	other()
	// 100 ms is a minute at full speed; a loaded machine may take longer to run the clock's beat.
	for deadline := time.Now().Add(5 * time.Second); c.Now().Sub(at) < time.Minute && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := c.Now(); n.Sub(at) < time.Minute {
		t.Errorf("the clock stayed at %v for 5 s once released", n)
	}
}

// Run holds the clock until its vehicles run: here the server takes 2 s to answer the
// simulator's login (a loaded machine, a server still starting), which at 600× would be
// 20 minutes of every vehicle's silence on the clock the server's timers judge by. A caller's
// hold (taken while its server started) is released through ReleaseClock when Run hands over.
func TestRunHoldsTheClockUntilItsVehiclesRun(t *testing.T) {
	const speedup, slow = 600.0, 2 * time.Second
	c := NewClock(time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC), speedup)
	released := make(chan struct{})
	var moved time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := c.Now()
		time.Sleep(slow)
		moved = c.Now().Sub(before)
		http.Error(w, "not now", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	s, err := New(Config{Clock: c, ReleaseClock: func() { close(released) }, Start: c.Now(), Speedup: speedup,
		JT808Addr: "127.0.0.1:1", GT06Addr: "127.0.0.1:1", JT600Addr: "127.0.0.1:1", OsmAndURL: "http://127.0.0.1:1/", // never reached
		APIURL: srv.URL, Username: "admin", Password: "pw", Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("Run without a server to sign in to: no error")
	}
	t.Logf("simulated time moved %v while the login took %v (%v at full speed)", moved, slow, time.Duration(float64(slow)*speedup))
	if moved > time.Minute {
		t.Errorf("simulated time moved %v while Run signed in: the clock was not held", moved)
	}
	select {
	case <-released:
	default:
		t.Error("the caller's hold was not released when Run returned")
	}
}
