package mapui_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// watchLive opens the live socket with token and sub (nil: everything), and returns once the
// subscription is acknowledged: the hub holds the client then.
func (a *api) watchLive(token string, sub map[string]any) *websocket.Conn {
	a.t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.srv.URL, "http")+"/api/v1/live?token="+token, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { ws.Close() })
	if sub == nil {
		sub = map[string]any{"type": "subscribe"}
	}
	if err := ws.WriteJSON(sub); err != nil {
		a.t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		for _, m := range readLive(a.t, ws) {
			if m.Type == "subscribed" {
				return ws
			}
		}
	}
}

// readLive returns the messages of ws's next frame.
func readLive(t *testing.T, ws *websocket.Conn) []liveMsg {
	t.Helper()
	var m liveMsg
	if err := ws.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	if m.Type == "batch" {
		return m.Messages
	}
	return []liveMsg{m}
}

// wantSessionClosed reads ws until the server closes it, and fails unless it closes with 4401
// session_ended within d.
func wantSessionClosed(t *testing.T, ws *websocket.Conn, d time.Duration) {
	t.Helper()
	start := time.Now()
	ws.SetReadDeadline(start.Add(d + 5*time.Second)) // past d, so that a late close is measured
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4401 || ce.Text != "session_ended" {
			t.Fatalf("socket ended with %v, want close 4401 session_ended", err)
		}
		if el := time.Since(start); el > d {
			t.Errorf("socket closed after %v, want within %v", el.Round(time.Millisecond), d)
		}
		return
	}
}

// wantLive fails unless ws still receives: a position published now arrives.
func (a *api) wantLive(ws *websocket.Conn, vehicle string) {
	a.t.Helper()
	now := time.Now().UTC()
	a.hub.Publish([]tracker.Fix{{VehicleID: vehicle, DeviceID: vehicle, Time: now, ReceivedAt: now, Lat: 43.67, Lon: 111.93, Valid: true}}, nil, nil)
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		for _, m := range readLive(a.t, ws) {
			if m.Type == "position" && m.Fix.VehicleID == vehicle {
				return
			}
		}
	}
}

// TestLiveClosesWhenSessionEnds performs each way a session ends while its user watches the
// live map: the socket must close within a second, by this server's notice (the re-check is
// a minute away), and a socket of another session or user must stay.
func TestLiveClosesWhenSessionEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(a *api, victimToken string)
		// bystanderIsVictim: the bystander is another session of the victim (a logout ends one
		// session, not the user's others).
		bystanderIsVictim bool
	}{
		{"logout", func(a *api, tok string) { a.req("POST", "/api/v1/logout", tok, nil, 204, nil) }, true},
		{"user disabled", func(a *api, _ string) {
			a.do("PUT", "/api/v1/users/victim", access.RoleAdmin, map[string]any{"disabled": true}, 200)
		}, false},
		{"user deleted", func(a *api, _ string) { a.do("DELETE", "/api/v1/users/victim", access.RoleAdmin, nil, 204) }, false},
		{"role changed", func(a *api, _ string) {
			a.do("PUT", "/api/v1/users/victim", access.RoleSecurity, map[string]any{"role": "investigator"}, 200)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPIWith(t, access.Options{}, mapui.Config{LiveRecheck: time.Minute})
			a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": "victim", "password": "Victim-Passw0rd", "role": "patrol"}, 201)
			tok := a.login("victim", "Victim-Passw0rd", 200)
			victim := a.watchLive(tok, nil)
			bystanderToken := a.tokens[access.RoleAdmin]
			if tc.bystanderIsVictim {
				bystanderToken = a.login("victim", "Victim-Passw0rd", 200)
			}
			bystander := a.watchLive(bystanderToken, nil)
			tc.end(a, tok)
			wantSessionClosed(t, victim, time.Second)
			a.wantLive(bystander, "STILL-HERE")
			// The token no longer opens a socket either.
			if _, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.srv.URL, "http")+"/api/v1/live?token="+tok, nil); err == nil || resp == nil || resp.StatusCode != 401 {
				t.Errorf("the ended session opened a socket again: %v", err)
			}
		})
	}
}

// TestLiveClosesAtExpiry: a session that reaches its lifetime closes its socket within a
// second, though the socket keeps it from going idle.
func TestLiveClosesAtExpiry(t *testing.T) {
	// 5 s: the login and the socket's opening must fit in it on a busy machine.
	const ttl = 5 * time.Second
	a := newAPIWith(t, access.Options{TokenTTL: ttl}, mapui.Config{LiveRecheck: time.Minute})
	before := time.Now() // the session expires ttl after a moment between before and issued
	tok := a.login("patrol1", "Role-patrol-Pw1", 200)
	issued := time.Now()
	ws := a.watchLive(tok, nil)
	wantSessionClosed(t, ws, time.Until(issued.Add(ttl))+time.Second)
	if early := time.Until(before.Add(ttl)); early > 0 {
		t.Errorf("closed %v before the session expired", early)
	}
}

// TestLiveClosesWhenAnotherServerEndsSession: another server on the same store ends the
// session (here: deletes it in the store, as its logout, user change or lockout does); this
// server hears nothing of it and closes the socket at its next re-check.
func TestLiveClosesWhenAnotherServerEndsSession(t *testing.T) {
	a := newAPIWith(t, access.Options{}, mapui.Config{LiveRecheck: 300 * time.Millisecond})
	tok := a.login("command1", "Role-command-Pw1", 200)
	ws := a.watchLive(tok, nil)
	bystander := a.watchLive(a.tokens[access.RoleCommand], nil)
	if err := a.store.DeleteSession(t.Context(), tokenHash(tok)); err != nil {
		t.Fatal(err)
	}
	wantSessionClosed(t, ws, time.Second)
	a.wantLive(bystander, "STILL-HERE")
}

// tokenHash is how sessions are stored: the hex SHA-256 of the token.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
