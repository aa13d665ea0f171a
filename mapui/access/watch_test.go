package access_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// heard records what a SessionWatcher is told.
type heard struct {
	mu  sync.Mutex
	got []string
}

func (h *heard) SessionEnded(tokenHash string)     { h.add("session " + tokenHash) }
func (h *heard) UserSessionsEnded(username string) { h.add("user " + username) }
func (h *heard) add(s string) {
	h.mu.Lock()
	h.got = append(h.got, s)
	h.mu.Unlock()
}

// TestSessionWatch: a logout tells the watchers of its session; a change of a user and a
// deletion of one of all that user's sessions, which are gone from the store too; an update
// that changes nothing tells nobody.
func TestSessionWatch(t *testing.T) {
	svc, st := newService(t)
	w := &heard{}
	svc.Watch(w)
	if _, err := svc.CreateUser(t.Context(), admin, access.NewUser{Username: "p1", Password: "Patrol-Passw0rd", Role: access.RolePatrol}); err != nil {
		t.Fatal(err)
	}
	login := func() tracker.Session {
		_, se, err := svc.Login(t.Context(), access.Credentials{Username: "p1", Password: "Patrol-Passw0rd"}, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return se
	}
	first := login()
	if err := svc.Logout(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser(t.Context(), admin, "p1", access.UserChange{Role: access.RolePatrol}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser(t.Context(), admin, "p1", access.UserChange{Unit: "port-ceke"}); err != nil {
		t.Fatal(err)
	}
	se := login()
	if err := svc.DeleteUser(t.Context(), admin, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Session(t.Context(), se.TokenHash); !errors.Is(err, tracker.ErrNotFound) {
		t.Errorf("a deleted user's session is still stored: %v", err)
	}
	want := []string{"session " + first.TokenHash, "user p1", "user p1"}
	if !slices.Equal(w.got, want) {
		t.Errorf("watchers heard %q, want %q", w.got, want)
	}
}
