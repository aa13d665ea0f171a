package access

import (
	"testing"
	"time"
)

func TestLoginThrottles(t *testing.T) {
	l := newLoginThrottles()
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 5 {
		if w := l.blocked("patrol1", "10.0.0.1", t0); w != 0 {
			t.Fatalf("blocked after %d failures: %v", i, w)
		}
		l.fail("patrol1", "10.0.0.1", t0.Add(time.Duration(i)*time.Minute))
	}
	now := t0.Add(5 * time.Minute)
	if w := l.blocked("Patrol1", "10.0.0.2", now); w != 10*time.Minute {
		t.Errorf("after five failures a user name (in any case) waits %v, want 10m", w)
	}
	if w := l.blocked("command1", "10.0.0.1", now); w != 0 {
		t.Errorf("five failures block the address for another user: %v", w)
	}
	// The first failure leaves the window and one attempt is free again, not before.
	if w := l.blocked("patrol1", "10.0.0.2", t0.Add(15*time.Minute-time.Nanosecond)); w == 0 {
		t.Error("unblocked while the first failure is still in the window")
	}
	if w := l.blocked("patrol1", "10.0.0.2", t0.Add(15*time.Minute+time.Nanosecond)); w != 0 {
		t.Errorf("still blocked after the window: %v", w)
	}

	// An address gets twenty failures over any user names; a success clears the user name only.
	for i := range 15 {
		l.fail("guess"+string(rune('a'+i)), "10.0.0.1", now)
	}
	l.succeed("PATROL1")
	if w := l.blocked("patrol1", "10.0.0.2", now); w != 0 {
		t.Errorf("a success left the user name blocked: %v", w)
	}
	if w := l.blocked("patrol1", "10.0.0.1", now); w != 10*time.Minute {
		t.Errorf("twenty failures from an address: wait %v, want 10m", w)
	}
}
