package mapui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestSeparationOfDutiesHTTP: the system administrator tries the other administrators' duties
// over the API (reading the audit, giving roles, taking over the security administrator's
// account) and is refused; the security administrator's change of an administrator's account is
// in the audit, with before and after, for the auditor to see.
func TestSeparationOfDutiesHTTP(t *testing.T) {
	a := newAPI(t)
	a.do("GET", "/api/v1/audit", access.RoleAdmin, nil, 403)
	a.do("GET", "/api/v1/audit/verify", access.RoleAdmin, nil, 403)
	a.do("PUT", "/api/v1/users/patrol1", access.RoleAdmin, map[string]string{"role": "admin"}, 403)
	a.do("PUT", "/api/v1/users/admin", access.RoleAdmin, map[string]string{"role": "security"}, 400) // not even their own
	a.do("PUT", "/api/v1/users/security1", access.RoleAdmin, map[string]string{"password": "Taken-Over-Pw1"}, 403)
	a.do("PUT", "/api/v1/users/auditor1", access.RoleAdmin, map[string]any{"disabled": true}, 403)
	a.do("DELETE", "/api/v1/users/security1", access.RoleAdmin, nil, 403)
	a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": "auditor2", "password": "Good-Passw0rd-1", "role": "auditor"}, 403)
	a.do("PUT", "/api/v1/users/security1", access.RoleSecurity, map[string]string{"role": "admin"}, 400)
	a.do("GET", "/api/v1/positions", access.RoleSecurity, nil, 403)

	a.do("PUT", "/api/v1/users/admin", access.RoleSecurity, map[string]string{"password": "Reset-Passw0rd-1"}, 200)
	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit", a.tokens[access.RoleAuditor], nil, 200, &audit)
	var seen bool
	for _, r := range audit.Records {
		if r.Action == "user.update" && r.Object == "user:admin" {
			seen = r.Actor == "security1" && r.Addr == "127.0.0.1" &&
				strings.Contains(string(r.Detail), `"before":{"role":"admin","disabled":false}`) &&
				strings.Contains(string(r.Detail), `"password":"changed"`)
		}
	}
	if !seen {
		t.Errorf("the auditor does not see the security administrator's reset of admin's password: %+v", audit.Records)
	}
}

// loginFrom logs in with X-Forwarded-For set to forwardedFor and returns the status.
func (a *api) loginFrom(forwardedFor, user, pw string) int {
	a.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("X-Forwarded-For", forwardedFor)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestForwardedForNotTrusted performs hole 6: a client that sends a new X-Forwarded-For with
// every guess is still throttled, since no proxy is trusted by default, and the audit records
// the connection's address, not the forged one.
func TestForwardedForNotTrusted(t *testing.T) {
	a := newAPI(t)
	for i := range 5 {
		if code := a.loginFrom(fmt.Sprintf("198.51.100.%d", i), "patrol1", "wrong-password"); code != 401 {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if code := a.loginFrom("198.51.100.99", "patrol1", "Role-patrol-Pw1"); code != 429 {
		t.Errorf("a sixth guess with a forged address: %d, want 429", code)
	}
	recs, _ := a.store.Audit(t.Context(), 0, 0)
	for _, r := range recs {
		if r.Addr != "127.0.0.1" {
			t.Errorf("record %d has the forged address %q", r.Seq, r.Addr)
		}
	}
}

// TestLoginFloodHTTP performs hole 4 through a trusted proxy: a flood of guesses at admin's
// password and of made-up names from one client leaves a few audit records with that client's
// address, does not lock admin out from their own, and the security administrator's unlock
// lifts the lock of the flooded pair. An over-long name is a 400.
func TestLoginFloodHTTP(t *testing.T) {
	a := newAPI(t, func(c *mapui.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	before, _ := a.store.AuditHead(t.Context())
	const attacker = "203.0.113.9"
	for i := range 200 {
		name := "admin"
		if i%2 == 1 {
			name = fmt.Sprintf("made-up-%d", i)
		}
		if code := a.loginFrom(attacker, name, "guess"); code != 401 && code != 429 {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if code := a.loginFrom(attacker, strings.Repeat("a", 65), "guess"); code != 400 {
		t.Errorf("a 65-character name: %d, want 400", code)
	}
	flood, _ := a.store.Audit(t.Context(), before.Seq, 0)
	if len(flood) != 2 {
		t.Errorf("the flood wrote %d audit records, want 2 (one denied, one throttled)", len(flood))
	}
	for _, r := range flood {
		if r.Addr != attacker {
			t.Errorf("record %d has address %q, want the client's behind the proxy", r.Seq, r.Addr)
		}
	}
	if code := a.loginFrom("198.51.100.7", "admin", adminPassword); code != 200 {
		t.Errorf("the real admin after the flood: %d, want 200", code)
	}
	if code := a.loginFrom(attacker, "admin", adminPassword); code != 429 {
		t.Errorf("admin from the attacker's address: %d, want 429", code)
	}
	a.do("POST", "/api/v1/users/admin/unlock", access.RoleAdmin, nil, 403)
	a.do("POST", "/api/v1/users/admin/unlock", access.RoleSecurity, nil, 204)
	a.do("POST", "/api/v1/users/nobody/unlock", access.RoleSecurity, nil, 404)
}

// TestPasswordChangeRequired: a session whose password must be changed (first login with a
// generated password, or an expired one) reaches nothing but GET /me, logout and the change;
// the change gives a full session.
func TestPasswordChangeRequired(t *testing.T) {
	a := newAPI(t)
	u, err := a.store.User(t.Context(), "command1")
	if err != nil {
		t.Fatal(err)
	}
	u.MustChange = true
	if err := a.store.UpdateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Token      string
		MustChange bool `json:"must_change"`
	}
	a.req("POST", "/api/v1/login", "", map[string]string{"username": "command1", "password": "Role-command-Pw1"}, 200, &out)
	if !out.MustChange {
		t.Errorf("login does not say the password must change")
	}
	for _, path := range []string{"/api/v1/positions", "/api/v1/vehicles", "/api/v1/alerts"} {
		if b := a.req("GET", path, out.Token, nil, 403, nil); !strings.Contains(string(b), "password_change_required") {
			t.Errorf("GET %s: %s", path, b)
		}
	}
	a.tokens["must-change"] = out.Token
	if resp, err := a.dialLive("must-change"); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("live with a session that must change its password: %v, %v", err, resp)
	}
	a.req("GET", "/api/v1/me", out.Token, nil, 200, nil)
	a.req("POST", "/api/v1/me/password", out.Token, map[string]string{"old": "wrong-password", "new": "Command-New-Pw1"}, 403, nil)
	a.req("POST", "/api/v1/me/password", out.Token, map[string]string{"old": "Role-command-Pw1", "new": "weak"}, 400, nil)
	a.req("POST", "/api/v1/me/password", out.Token, map[string]string{"old": "Role-command-Pw1", "new": "Command-New-Pw1"}, 200, &out)
	if out.MustChange {
		t.Error("the session after the change must still change the password")
	}
	a.req("GET", "/api/v1/positions", out.Token, nil, 200, nil)
	a.login("command1", "Command-New-Pw1", 200)
}
