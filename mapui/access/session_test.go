package access_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

func TestLoginAndLogout(t *testing.T) {
	svc, st := newService(t)
	before := time.Now()
	token, se, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if se.Username != "admin" || se.Role != access.RoleAdmin || se.TokenHash != tokenHash(token) {
		t.Errorf("session %+v for token %q", se, token)
	}
	if d := se.ExpiresAt.Sub(before); d < 12*time.Hour || d > 12*time.Hour+time.Minute {
		t.Errorf("session lasts %v, want the default 12 h", d)
	}
	stored, err := st.Session(t.Context(), tokenHash(token))
	if err != nil {
		t.Fatalf("the session is not stored under the token's SHA-256: %v", err)
	}
	got, err := svc.Authenticate(t.Context(), token)
	if err != nil || got.Username != "admin" || got.TokenHash != stored.TokenHash {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	if err := svc.Logout(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(t.Context(), token); !errors.Is(err, access.ErrInvalidToken) {
		t.Errorf("after logout: %v, want ErrInvalidToken", err)
	}
	if err := svc.Logout(t.Context(), got); err != nil {
		t.Errorf("second logout: %v", err)
	}
	want := []string{"admin login user:admin ok", "admin logout user:admin ok", "admin logout user:admin ok"}
	if got := audited(t, svc); !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}

// TestLoginDenied: a wrong password, an unknown user and a disabled user are refused alike.
// (Each from its own address: the refusals of one address are audited once a minute.)
func TestLoginDenied(t *testing.T) {
	svc, _ := newService(t)
	if _, err := svc.CreateUser(t.Context(), admin, access.NewUser{Username: "gone1", Password: "Gone-user-Pw1", Role: access.RolePatrol, Disabled: true}); err != nil {
		t.Fatal(err)
	}
	for i, cr := range []access.Credentials{
		{Username: "admin", Password: "Admin-Passw0rd-2"},
		{Username: "nobody", Password: adminPassword},
		{Username: "gone1", Password: "Gone-user-Pw1"},
	} {
		if _, _, err := svc.Login(t.Context(), cr, fmt.Sprint("10.0.0.", i+1)); !errors.Is(err, access.ErrBadCredentials) {
			t.Errorf("Login(%q) = %v, want ErrBadCredentials", cr.Username, err)
		}
	}
	want := []string{"admin user.create user:gone1 ok", "admin login user:admin denied", "nobody login user:nobody denied", "gone1 login user:gone1 denied"}
	if got := audited(t, svc); !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}

// TestLoginThrottled: five failures lock the user name from that address, not from another.
func TestLoginThrottled(t *testing.T) {
	svc, _ := newService(t)
	bad := access.Credentials{Username: "admin", Password: "wrong-password"}
	for range 5 {
		if _, _, err := svc.Login(t.Context(), bad, "10.0.0.1"); !errors.Is(err, access.ErrBadCredentials) {
			t.Fatal(err)
		}
	}
	_, _, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.1")
	var te *access.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter < 14*time.Minute || te.RetryAfter > 15*time.Minute {
		t.Fatalf("the right password after five failures: %v, want a ThrottledError of about 15 min", err)
	}
	if got := audited(t, svc); got[len(got)-1] != "admin login user:admin throttled" {
		t.Errorf("last audit record %q", got[len(got)-1])
	}
	if _, _, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.2"); err != nil {
		t.Errorf("from another address: %v", err)
	}
}

// TestLoginFlood performs hole 4: an unauthenticated flood of logins, of admin's name and of
// made-up ones, from one address. It writes a handful of compact audit records, not one per
// attempt; it does not lock the real admin out from their own address; an over-long name is
// refused before anything is written; the security administrator unlocks the flooded pair, and
// the unlock is audited.
func TestLoginFlood(t *testing.T) {
	svc, _ := newService(t)
	sec := newSecurity(t, svc)
	before := len(audited(t, svc))
	for i := range 300 {
		name := "admin"
		if i%2 == 1 {
			name = fmt.Sprintf("made-up-%d", i)
		}
		svc.Login(t.Context(), access.Credentials{Username: name, Password: "guess"}, "203.0.113.9")
	}
	long := access.Credentials{Username: strings.Repeat("x", access.MaxUsernameLen+1), Password: "guess"}
	var pe access.PolicyError
	if _, _, err := svc.Login(t.Context(), long, "203.0.113.9"); !errors.As(err, &pe) {
		t.Errorf("a %d-character name: %v, want a PolicyError", len(long.Username), err)
	}
	flood := audited(t, svc)[before:]
	want := []string{"admin login user:admin denied", "admin login user:admin throttled"}
	if !slices.Equal(flood, want) {
		t.Errorf("the flood's audit records: %q, want %q", flood, want)
	}
	if _, _, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.7"); err != nil {
		t.Errorf("the flood locked the real admin out: %v", err)
	}

	// A lock of the pair alone (the address itself still free) is what an unlock lifts.
	for range 5 {
		svc.Login(t.Context(), access.Credentials{Username: "admin", Password: "guess"}, "10.0.0.8")
	}
	right := access.Credentials{Username: "admin", Password: adminPassword}
	var te *access.ThrottledError
	if _, _, err := svc.Login(t.Context(), right, "10.0.0.8"); !errors.As(err, &te) {
		t.Fatalf("five failures: %v, want throttled", err)
	}
	var fe access.ForbiddenError
	if err := svc.Unlock(t.Context(), admin, "admin"); !errors.As(err, &fe) {
		t.Errorf("the system administrator unlocks: %v, want a ForbiddenError", err)
	}
	if err := svc.Unlock(t.Context(), sec, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Login(t.Context(), right, "10.0.0.8"); err != nil {
		t.Errorf("after the unlock: %v", err)
	}
	if got := audited(t, svc); !slices.Contains(got, "sec1 user.unlock user:admin ok") {
		t.Errorf("the unlock is not audited: %q", got)
	}
}

func TestAuthenticateExpiry(t *testing.T) {
	svc, st := newService(t)
	now := time.Now().UTC()
	for _, tc := range []struct {
		name              string
		expires, lastSeen time.Time
		wantErr           error
	}{
		{"expired", now.Add(-time.Second), now, access.ErrTokenExpired},
		{"idle", now.Add(time.Hour), now.Add(-31 * time.Minute), access.ErrTokenExpired},
		{"active", now.Add(time.Hour), now.Add(-29 * time.Minute), nil},
	} {
		token := "token-" + tc.name
		se := tracker.Session{TokenHash: tokenHash(token), Username: "admin", Role: access.RoleAdmin, CreatedAt: now.Add(-time.Hour), ExpiresAt: tc.expires, LastSeen: tc.lastSeen}
		if err := st.CreateSession(t.Context(), se); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(t.Context(), token); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: Authenticate = %v, want %v", tc.name, err, tc.wantErr)
		}
		stored, err := st.Session(t.Context(), se.TokenHash)
		switch {
		case tc.wantErr != nil && !errors.Is(err, tracker.ErrNotFound):
			t.Errorf("%s: the ended session is still stored: %v", tc.name, err)
		case tc.wantErr == nil && (err != nil || !stored.LastSeen.After(tc.lastSeen.Add(time.Minute))):
			t.Errorf("%s: use did not touch the session: %+v, %v", tc.name, stored, err)
		}
	}
	if _, err := svc.Authenticate(t.Context(), "token-unknown"); !errors.Is(err, access.ErrInvalidToken) {
		t.Errorf("unknown token: %v, want ErrInvalidToken", err)
	}
}

// TestIdleTimeoutOption: a shorter idle timeout ends sessions sooner, and CheckSession (a live
// socket's re-check) keeps one alive.
func TestIdleTimeoutOption(t *testing.T) {
	_, st := newService(t)
	svc := access.New(st, access.Options{IdleTimeout: 5 * time.Minute})
	now := time.Now().UTC()
	se := tracker.Session{TokenHash: tokenHash("wall"), Username: "admin", Role: access.RoleAdmin, CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeen: now.Add(-4 * time.Minute)}
	if err := st.CreateSession(t.Context(), se); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CheckSession(t.Context(), se.TokenHash); err != nil {
		t.Fatal(err)
	}
	if stored, err := st.Session(t.Context(), se.TokenHash); err != nil || stored.LastSeen.Before(now) {
		t.Errorf("CheckSession did not count as activity: %+v, %v", stored, err)
	}
	if _, err := svc.Authenticate(t.Context(), "wall"); err != nil {
		t.Errorf("after CheckSession: %v", err)
	}
	if err := st.TouchSession(t.Context(), se.TokenHash, now.Add(-6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CheckSession(t.Context(), se.TokenHash); !errors.Is(err, access.ErrTokenExpired) {
		t.Errorf("6 min idle with a 5 min timeout: %v, want ErrTokenExpired", err)
	}
}

// TestLoginTimingUnknownUser performs the enumeration by timing: a login of a name that does
// not exist costs as much as one of a name that does (same bcrypt cost). It compares the CPU
// time each login spends, not the wall time: bcrypt is CPU-bound, and the wall time on a loaded
// machine is mostly waiting for a core (a median of 770 ms against 94 ms at load 70).
func TestLoginTimingUnknownUser(t *testing.T) {
	svc, _ := newService(t)
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	timed := func(name string, i int) time.Duration {
		start := cpu()
		svc.Login(t.Context(), access.Credentials{Username: name, Password: "wrong-password"}, fmt.Sprint("10.9.", i, ".1"))
		return cpu() - start
	}
	var known, unknown []time.Duration
	for i := range 5 {
		known = append(known, timed("admin", i))
		unknown = append(unknown, timed("nobody", 100+i))
	}
	slices.Sort(known)
	slices.Sort(unknown)
	if k, u := known[2], unknown[2]; u < k/3 {
		t.Errorf("a login of an unknown name takes %v of CPU, of a known one %v: names can be told apart", u, k)
	}
}

// TestLockoutSurvivesRestart: the embedded store keeps the lockout over a restart.
func TestLockoutSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(dir, "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := access.New(st, access.Options{AuditKey: auditKey})
	if _, err := svc.EnsureAdmin(t.Context(), adminPassword); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		svc.Login(t.Context(), access.Credentials{Username: "admin", Password: "wrong-password"}, "10.0.0.1")
	}
	st.Close()
	st, err = sqlitestore.Open(t.Context(), filepath.Join(dir, "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc = access.New(st, access.Options{AuditKey: auditKey})
	var te *access.ThrottledError
	if _, _, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.1"); !errors.As(err, &te) {
		t.Errorf("after a restart: %v, want still throttled", err)
	}
}
