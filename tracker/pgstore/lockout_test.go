package pgstore

import (
	"errors"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
)

// TestLockoutShared performs hole 6 against a cluster: guesses spread over two servers on one
// database, and a restart of one, get no more attempts than one server would give.
func TestLockoutShared(t *testing.T) {
	url := newDB(t)
	first := access.New(open(t, url), access.Options{})
	if _, err := first.EnsureAdmin(t.Context(), "Admin-Passw0rd-1"); err != nil {
		t.Fatal(err)
	}
	second := access.New(open(t, url), access.Options{})
	bad := access.Credentials{Username: "admin", Password: "wrong-password"}
	for i := range 5 {
		svc := first
		if i%2 == 1 {
			svc = second
		}
		if _, _, err := svc.Login(t.Context(), bad, "10.0.0.1"); !errors.Is(err, access.ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	right := access.Credentials{Username: "admin", Password: "Admin-Passw0rd-1"}
	var te *access.ThrottledError
	if _, _, err := second.Login(t.Context(), right, "10.0.0.1"); !errors.As(err, &te) {
		t.Errorf("after five guesses over two servers: %v, want throttled", err)
	}
	restarted := access.New(open(t, url), access.Options{})
	if _, _, err := restarted.Login(t.Context(), right, "10.0.0.1"); !errors.As(err, &te) {
		t.Errorf("after a restart: %v, want still throttled", err)
	}
}
