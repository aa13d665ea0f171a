package access

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

func newThrottleService(t *testing.T) (*Service, *sqlitestore.Store) {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, Options{}), st
}

func TestLoginThrottles(t *testing.T) {
	s, _ := newThrottleService(t)
	ctx := t.Context()
	blocked := func(user, addr string, now time.Time) time.Duration {
		t.Helper()
		w, err := s.loginBlocked(ctx, user, addr, now)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 5 {
		if w := blocked("patrol1", "10.0.0.1", t0); w != 0 {
			t.Fatalf("blocked after %d failures: %v", i, w)
		}
		s.loginFailed(ctx, "patrol1", "10.0.0.1", t0.Add(time.Duration(i)*time.Minute))
	}
	now := t0.Add(5 * time.Minute)
	if w := blocked("Patrol1", "10.0.0.1", now); w != 10*time.Minute {
		t.Errorf("after five failures a user name (in any case) from that address waits %v, want 10m", w)
	}
	if w := blocked("patrol1", "10.0.0.2", now); w != 0 {
		t.Errorf("five failures from one address lock the user out of another: %v", w)
	}
	if w := blocked("command1", "10.0.0.1", now); w != 0 {
		t.Errorf("five failures block the address for another user: %v", w)
	}
	// The window passes and one attempt is free again, not before.
	if w := blocked("patrol1", "10.0.0.1", t0.Add(15*time.Minute-time.Nanosecond)); w == 0 {
		t.Error("unblocked while the first failure is still in the window")
	}
	if w := blocked("patrol1", "10.0.0.1", t0.Add(15*time.Minute+time.Nanosecond)); w != 0 {
		t.Errorf("still blocked after the window: %v", w)
	}

	// An address gets twenty failures over any user names; a success clears its pair only.
	for i := range 15 {
		s.loginFailed(ctx, "guess"+string(rune('a'+i)), "10.0.0.1", now)
	}
	s.loginSucceeded(ctx, "PATROL1", "10.0.0.1")
	if w := blocked("patrol1", "10.0.0.2", now); w != 0 {
		t.Errorf("a success left the user name blocked: %v", w)
	}
	if w := blocked("patrol1", "10.0.0.1", now); w != 10*time.Minute {
		t.Errorf("twenty failures from an address: wait %v, want 10m", w)
	}
}

// TestLoginFloodBounded floods logins of made-up names from many addresses: neither the
// lockout table nor the audit limiter's memory keeps them once their windows have passed, and
// the limiter never holds more than its cap.
func TestLoginFloodBounded(t *testing.T) {
	s, st := newThrottleService(t)
	s.records.maxAddrs = 50
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	SetClock(s, func() time.Time { return now })
	for i := range 400 {
		addr := fmt.Sprintf("10.1.%d.%d", i/250, i%250)
		if err := s.loginFailed(t.Context(), fmt.Sprintf("made-up-%d", i), addr, now); err != nil {
			t.Fatal(err)
		}
		s.recordRefused(t.Context(), fmt.Sprintf("made-up-%d", i), addr, "denied", now)
	}
	if n := len(s.records.entries); n > 51 {
		t.Errorf("the record limiter holds %d addresses, over its cap", n)
	}
	recs, _ := st.Audit(t.Context(), 0, 0)
	if len(recs) != 51 {
		t.Errorf("%d denied records from 400 addresses with a cap of 50, want 51", len(recs))
	}
	now = now.Add(lockWindow + time.Second)
	s.sweepLogins(t.Context(), now)
	if n := len(s.records.entries); n != 0 {
		t.Errorf("after the sweep the limiter holds %d addresses", n)
	}
	for i := range 400 {
		f, err := st.LoginFailures(t.Context(), fmt.Sprintf("made-up-%d", i), fmt.Sprintf("10.1.%d.%d", i/250, i%250))
		if err != nil || f != (tracker.LoginFailures{Username: f.Username, Addr: f.Addr}) {
			t.Fatalf("made-up-%d still counted after the window: %+v, %v", i, f, err)
		}
	}
	recs, _ = st.Audit(t.Context(), 0, 0)
	if last := recs[len(recs)-1]; last.Object != "addr:*" || string(last.Detail) != `{"unrecorded":349}` {
		t.Errorf("the sweep's record of the unrecorded refusals: %+v", last)
	}
}

// TestDummyHashCost: the hash an unknown or disabled user's login is checked against costs as
// much as a stored password's, so the login's time does not tell which names exist.
func TestDummyHashCost(t *testing.T) {
	stored, err := hashPassword("Some-Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := bcrypt.Cost([]byte(stored))
	if got, err := bcrypt.Cost(dummyHash()); err != nil || got != want {
		t.Errorf("dummy hash cost %d (%v), a stored password's %d", got, err, want)
	}
}
