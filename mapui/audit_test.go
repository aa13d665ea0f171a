package mapui_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// auditSwitch is a store whose audit log fails while fail is set.
type auditSwitch struct {
	access.Store
	fail atomic.Bool
}

func (s *auditSwitch) AppendAudit(ctx context.Context, r tracker.AuditRecord, key *tracker.AuditKey) (tracker.AuditRecord, error) {
	if s.fail.Load() {
		return tracker.AuditRecord{}, errors.New("disk I/O error")
	}
	return s.Store.AppendAudit(ctx, r, key)
}

func (a *api) dialLive(role string) (*http.Response, error) {
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.srv.URL, "http")+"/api/v1/live?token="+a.tokens[role], nil)
	if err == nil {
		ws.Close()
	}
	return resp, err
}

// TestAuditCompleteness: reading positions, opening the live map, listing users and reading the
// audit are recorded, one record a request, and every record made over HTTP has the client's
// address.
func TestAuditCompleteness(t *testing.T) {
	a := newAPI(t)
	a.do("GET", "/api/v1/positions", access.RoleCommand, nil, 200)
	if resp, err := a.dialLive(access.RolePatrol); err != nil {
		t.Fatalf("live: %v (%v)", err, resp)
	}
	a.do("GET", "/api/v1/users", access.RoleAdmin, nil, 200)
	a.do("GET", "/api/v1/audit?limit=3", access.RoleAuditor, nil, 200)
	a.do("GET", "/api/v1/audit/verify", access.RoleAuditor, nil, 200)

	recs, err := a.store.Audit(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var reads []string
	for _, r := range recs {
		if r.Addr != "127.0.0.1" {
			t.Errorf("record %d (%s %s) has address %q, want the client's", r.Seq, r.Actor, r.Action, r.Addr)
		}
		if !strings.HasPrefix(r.Action, "user.") && r.Action != "login" {
			reads = append(reads, r.Actor+" "+r.Action+" "+r.Object+" "+string(r.Detail))
		}
	}
	want := []string{
		`command1 positions.read positions {"vehicles":0}`,
		`patrol1 live.open live `,
		`admin users.list users {"users":6}`,
		`auditor1 audit.read audit {"after":0,"records":3}`,
		`auditor1 audit.verify audit {"first_broken_seq":0,"ok":true,"records":15}`,
	}
	if strings.Join(reads, "\n") != strings.Join(want, "\n") {
		t.Errorf("reads recorded:\n%s\nwant:\n%s", strings.Join(reads, "\n"), strings.Join(want, "\n"))
	}
}

// TestAuditFailureFailsTheRequest: with the audit log failing, a read returns nothing, a login
// opens no session, and a change answers 500 audit_failed.
func TestAuditFailureFailsTheRequest(t *testing.T) {
	a := newAPI(t)
	zones, err := a.store.Zones(t.Context())
	if err != nil || len(zones) == 0 {
		t.Fatal(zones, err)
	}
	// The track read below must reach its audit: an unknown vehicle is a 404 before it.
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "v1", "kind": "truck"}, 201)
	a.audit.fail.Store(true)
	for _, c := range []struct {
		method, path, role string
		body               any
	}{
		{"GET", "/api/v1/positions", access.RoleCommand, nil},
		{"GET", "/api/v1/vehicles/v1/track", access.RoleCommand, nil},
		{"GET", "/api/v1/users", access.RoleAdmin, nil},
		{"GET", "/api/v1/audit", access.RoleAuditor, nil},
		{"GET", "/api/v1/audit/verify", access.RoleAuditor, nil},
		{"POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "v-unaudited", "kind": "truck"}},
		{"DELETE", "/api/v1/zones/" + zones[0].ID, access.RoleAdmin, nil},
		{"POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": "patrol9", "password": "Good-Passw0rd", "role": "patrol"}},
		{"POST", "/api/v1/logout", access.RoleInvestigator, nil},
	} {
		b := a.do(c.method, c.path, c.role, c.body, 500)
		if !strings.Contains(string(b), `"audit_failed"`) {
			t.Errorf("%s %s: %s, want audit_failed", c.method, c.path, b)
		}
	}
	var out map[string]any
	b := a.req("POST", "/api/v1/login", "", map[string]string{"username": "admin", "password": adminPassword}, 500, &out)
	if !strings.Contains(string(b), `"audit_failed"`) || out["token"] != nil {
		t.Errorf("login without audit: %s", b)
	}
	resp, err := a.dialLive(access.RolePatrol)
	if err == nil || resp == nil || resp.StatusCode != 500 {
		t.Errorf("live opened without audit: %v, %v", err, resp)
	}

	a.audit.fail.Store(false)
	a.do("GET", "/api/v1/positions", access.RoleCommand, nil, 200)
}
