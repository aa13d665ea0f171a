package mapui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/risk"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

const adminPassword = "Admin-Passw0rd-1"

type api struct {
	t      *testing.T
	srv    *httptest.Server
	store  *sqlitestore.Store
	audit  *auditSwitch // the store as access sees it: its audit log can be made to fail
	risk   *risk.Scorer
	hub    *mapui.Hub
	tokens map[string]string // role → token
}

// newAPI serves a new store with a user of each role; configure changes the server's Config.
func newAPI(t *testing.T, configure ...func(*mapui.Config)) *api {
	t.Helper()
	return newAPIWith(t, access.Options{}, mapui.Config{}, configure...)
}

// newAPIWith is newAPI with access's options and the server's LiveRecheck and UnitBufferM of
// given; the hub runs.
func newAPIWith(t *testing.T, opt access.Options, given mapui.Config, configure ...func(*mapui.Config)) *api {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.PutZones(t.Context(), district.Zones()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Registerer: reg})
	t.Cleanup(p.Close)
	hub := mapui.NewHub(nil, reg)
	go hub.Run(t.Context())
	audit := &auditSwitch{Store: st}
	acc := access.New(audit, opt)
	scorer := risk.New(risk.Config{})
	cfg := mapui.Config{Store: st, Access: acc, Ingest: p, Hub: hub, Risk: scorer, Gatherer: reg,
		LiveRecheck: given.LiveRecheck, UnitBufferM: given.UnitBufferM}
	for _, f := range configure {
		f(&cfg)
	}
	s := mapui.NewServer(cfg, reg)
	if _, err := acc.EnsureAdmin(t.Context(), adminPassword); err != nil {
		t.Fatal(err)
	}
	a := &api{t: t, srv: httptest.NewServer(s.Handler()), store: st, audit: audit, risk: scorer, hub: hub, tokens: map[string]string{}}
	t.Cleanup(a.srv.Close)
	a.tokens[access.RoleAdmin] = a.login("admin", adminPassword, 200)
	// The auditor and then the security administrator are created while there is none yet.
	for _, role := range []string{access.RoleCommand, access.RolePatrol, access.RoleInvestigator, access.RoleAuditor, access.RoleSecurity} {
		if opt.TokenTTL > 0 && opt.TokenTTL < time.Minute {
			// A test of a short session: the administrator's own could end during this set-up
			// (ten password hashes) on a busy machine, as it did in CI with 3 s.
			a.tokens[access.RoleAdmin] = a.login("admin", adminPassword, 200)
		}
		pw := "Role-" + role + "-Pw1"
		a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": role + "1", "password": pw, "role": role}, 201)
		a.tokens[role] = a.login(role+"1", pw, 200)
	}
	return a
}

func (a *api) login(user, pw string, want int) string {
	a.t.Helper()
	var out struct{ Token string }
	a.req("POST", "/api/v1/login", "", map[string]string{"username": user, "password": pw}, want, &out)
	return out.Token
}

func (a *api) do(method, path, role string, body any, want int) []byte {
	a.t.Helper()
	return a.req(method, path, a.tokens[role], body, want, nil)
}

func (a *api) req(method, path, token string, body any, want int, out any) []byte {
	a.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
			a.t.Errorf("%s %s: error body is not {\"error\":{\"code\",\"message\"}}: %s", method, path, b)
		}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s: %v", b, err)
		}
	}
	return b
}

// TestRoleMatrix checks every endpoint against every role: allowed calls pass authorization
// (whatever they then answer), forbidden ones get 403, and no token gets 401.
func TestRoleMatrix(t *testing.T) {
	a := newAPI(t)
	zone := `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[111.9,43.6],[112.0,43.6],[112.0,43.7],[111.9,43.6]]]},"properties":{"id":"yard-x","name":"x","kind":"yard"}}`
	type call struct {
		method, path string
		body         any
		allowed      []string
	}
	all := []string{access.RoleAdmin, access.RoleCommand, access.RolePatrol, access.RoleInvestigator}
	calls := []call{
		{"GET", "/api/v1/vehicles", nil, all},
		{"POST", "/api/v1/vehicles", map[string]string{"id": "v-x", "kind": "truck"}, []string{access.RoleAdmin}},
		{"GET", "/api/v1/devices", nil, all},
		{"POST", "/api/v1/devices", map[string]string{"id": "123", "protocol": "jt808"}, []string{access.RoleAdmin}},
		{"POST", "/api/v1/devices/123/reset-registration", nil, []string{access.RoleAdmin}},
		{"GET", "/api/v1/positions", nil, all},
		{"GET", "/api/v1/vehicles/v1/track", nil, all},
		{"GET", "/api/v1/vehicles/v1/track?format=gpx", nil, []string{access.RoleAdmin, access.RoleInvestigator}},
		{"GET", "/api/v1/zones", nil, all},
		{"POST", "/api/v1/zones", zone, []string{access.RoleAdmin}},
		{"DELETE", "/api/v1/zones/yard-none", nil, []string{access.RoleAdmin}},
		{"GET", "/api/v1/events", nil, all},
		{"GET", "/api/v1/alerts", nil, all},
		{"GET", "/api/v1/alerts/1/evidence", nil, []string{access.RoleAdmin, access.RoleInvestigator}},
		{"POST", "/api/v1/alerts/1/ack", nil, []string{access.RoleAdmin, access.RoleCommand, access.RolePatrol}},
		{"POST", "/api/v1/alerts/1/confirm", nil, []string{access.RoleAdmin, access.RoleCommand, access.RolePatrol}},
		{"GET", "/api/v1/declarations", nil, all},
		{"POST", "/api/v1/declarations", map[string]string{"id": "d"}, []string{access.RoleAdmin, access.RoleCommand}},
		{"POST", "/api/v1/gate-events", map[string]string{"gate_zone_id": "port-erenhot", "plate": "X", "direction": "in"}, []string{access.RoleAdmin, access.RoleCommand}},
		{"GET", "/api/v1/users", nil, []string{access.RoleAdmin, access.RoleSecurity}},
		{"POST", "/api/v1/users", map[string]string{"username": "u"}, []string{access.RoleAdmin}},
		{"PUT", "/api/v1/users/nobody", map[string]string{"role": "patrol"}, []string{access.RoleAdmin, access.RoleSecurity}},
		{"DELETE", "/api/v1/users/nobody", nil, []string{access.RoleAdmin, access.RoleSecurity}},
		{"GET", "/api/v1/audit", nil, []string{access.RoleAuditor}},
		{"GET", "/api/v1/audit/verify", nil, []string{access.RoleAuditor}},
		{"GET", "/api/v1/search?bbox=111,43,112,44", nil, []string{access.RoleAdmin, access.RoleInvestigator}},
		{"GET", "/api/v1/reports/daily", nil, all},
	}
	roles := append(all, access.RoleAuditor, access.RoleSecurity)
	for _, c := range calls {
		for _, role := range roles {
			allowed := false
			for _, r := range c.allowed {
				allowed = allowed || r == role
			}
			var r io.Reader
			switch b := c.body.(type) {
			case string:
				r = strings.NewReader(b)
			case nil:
			default:
				j, _ := json.Marshal(b)
				r = bytes.NewReader(j)
			}
			req, _ := http.NewRequest(c.method, a.srv.URL+c.path, r)
			req.Header.Set("Authorization", "Bearer "+a.tokens[role])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if allowed && (resp.StatusCode == 401 || resp.StatusCode == 403) {
				t.Errorf("%s %s as %s: %d, want allowed", c.method, c.path, role, resp.StatusCode)
			}
			if !allowed && resp.StatusCode != 403 {
				t.Errorf("%s %s as %s: %d, want 403", c.method, c.path, role, resp.StatusCode)
			}
		}
		a.req(c.method, c.path, "", nil, 401, nil)
	}
}

func TestBadRequests(t *testing.T) {
	a := newAPI(t)
	for _, tc := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/api/v1/vehicles", "{not json", 400},
		{"POST", "/api/v1/vehicles", map[string]string{"id": "", "kind": "truck"}, 400},
		{"POST", "/api/v1/vehicles", map[string]string{"id": "v", "kind": "spaceship"}, 400},
		{"POST", "/api/v1/devices", map[string]string{"id": "012345", "protocol": "jt808"}, 400},
		{"POST", "/api/v1/devices", map[string]string{"id": "abc", "protocol": "carrier-pigeon"}, 400},
		{"POST", "/api/v1/devices", map[string]string{"id": "0012345678", "protocol": "jt600"}, 400},
		{"POST", "/api/v1/devices", map[string]string{"id": "70a2345678", "protocol": "jt600"}, 400},
		{"GET", "/api/v1/vehicles/v1/track?from=yesterday", nil, 400},
		{"GET", "/api/v1/vehicles/v1/track?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", nil, 400},
		{"GET", "/api/v1/vehicles/v1/track?format=shp", nil, 400},
		{"GET", "/api/v1/search?bbox=1,2,3", nil, 400},
		{"GET", "/api/v1/search?bbox=10,50,0,40", nil, 400},
		{"GET", "/api/v1/alerts?status=maybe", nil, 400},
		{"POST", "/api/v1/alerts/abc/ack", nil, 400},
		// NUL in any text, a value or a key (PostgreSQL's text cannot hold it: a 500 there).
		{"POST", "/api/v1/vehicles", `{"id":"v-nul","plate":"蒙A\u00001","kind":"truck"}`, 400},
		{"POST", "/api/v1/users", `{"username":"nul\u0000","password":"Str0ng-Enough-1","role":"patrol"}`, 400},
		{"POST", "/api/v1/alerts/999/ack", nil, 404},
		{"POST", "/api/v1/zones", `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[111.9,43.6],[112.0,43.6],[112.0,43.7]]]},"properties":{"id":"z","kind":"yard"}}`, 422},
		{"POST", "/api/v1/zones", `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[111.9,43.6],[112.0,43.6]]},"properties":{"id":"c","kind":"corridor"}}`, 422},
		{"POST", "/api/v1/zones", `{"type":"Feature","geometry":{"type":"Point","coordinates":[111.9,43.6]},"properties":{"id":"p","kind":"volcano"}}`, 422},
		{"POST", "/api/v1/users", map[string]string{"username": "weak", "password": "password", "role": "patrol"}, 400},
		{"POST", "/api/v1/users", map[string]string{"username": "x", "password": "Str0ng-Enough-1", "role": "king"}, 400},
		{"POST", "/api/v1/gate-events", map[string]string{"gate_zone_id": "nowhere", "plate": "X", "direction": "in"}, 400},
		{"POST", "/api/v1/gate-events", map[string]string{"gate_zone_id": "port-erenhot", "direction": "in"}, 400},
		{"POST", "/api/v1/declarations", map[string]any{"id": "d1", "vehicle_id": "ghost", "direction": "inbound", "port_zone_id": "port-erenhot", "valid_from": "2026-01-01T00:00:00Z", "valid_to": "2026-01-02T00:00:00Z"}, 400},
		{"GET", "/api/v1/nothing-here", nil, 404},
	} {
		a.do(tc.method, tc.path, access.RoleAdmin, tc.body, tc.want)
	}
	// A body over the limit is refused, and the server keeps serving.
	huge := `{"type":"FeatureCollection","features":[` + strings.Repeat(" ", 9<<20) + `]}`
	a.do("POST", "/api/v1/zones/import", access.RoleAdmin, huge, 413)
	a.do("GET", "/api/v1/vehicles", access.RoleAdmin, nil, 200)
	// A JT701 e-seal is known by its terminal id.
	a.do("POST", "/api/v1/devices", access.RoleAdmin, map[string]string{"id": "7012345678", "protocol": "jt600"}, 201)
}

// TestZoneImportAllOrNothing imports a collection with one bad feature: nothing is stored and
// the error names the feature.
func TestZoneImportAllOrNothing(t *testing.T) {
	a := newAPI(t)
	before, _ := a.store.Zones(t.Context())
	fc := `{"type":"FeatureCollection","features":[
	 {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[111.9,43.6],[112.0,43.6],[112.0,43.7],[111.9,43.6]]]},"properties":{"id":"yard-new","name":"new","kind":"yard"}},
	 {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[111.9,43.6],[112.0,43.6],[112.0,43.7],[111.9,43.6]]]},"properties":{"id":"bad-one","name":"bad","kind":"lake"}}]}`
	b := a.do("POST", "/api/v1/zones/import", access.RoleAdmin, fc, 422)
	if !strings.Contains(string(b), "bad-one") {
		t.Errorf("error does not name the bad feature: %s", b)
	}
	after, _ := a.store.Zones(t.Context())
	if len(after) != len(before) {
		t.Errorf("zones %d → %d after a failed import", len(before), len(after))
	}
}

func TestLoginThrottleAndSessions(t *testing.T) {
	a := newAPI(t)
	for range 5 {
		a.login("patrol1", "wrong-password", 401)
	}
	a.login("patrol1", "Role-patrol-Pw1", 429) // even the right password waits now
	// Logout revokes the token.
	tok := a.login("command1", "Role-command-Pw1", 200)
	a.req("GET", "/api/v1/me", tok, nil, 200, nil)
	a.req("POST", "/api/v1/logout", tok, nil, 204, nil)
	a.req("GET", "/api/v1/me", tok, nil, 401, nil)
	// Changing a user's role ends their sessions.
	tok = a.login("investigator1", "Role-investigator-Pw1", 200)
	a.do("PUT", "/api/v1/users/investigator1", access.RoleSecurity, map[string]string{"role": "patrol"}, 200)
	a.req("GET", "/api/v1/me", tok, nil, 401, nil)
}

// TestAlertLifecycleAndAudit acknowledges and resolves an alert, then checks the audit chain
// records who did it and verifies.
func TestAlertLifecycleAndAudit(t *testing.T) {
	a := newAPI(t)
	b := &tracker.Batch{Alerts: []tracker.Alert{{Type: tracker.AlertDetour, Severity: tracker.SeverityWarning, VehicleID: "v1",
		Time: time.Now().UTC(), DedupKey: "detour:test", Evidence: json.RawMessage(`{}`)}}}
	if err := a.store.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	id := b.Alerts[0].ID
	path := "/api/v1/alerts/" + itoa(id)
	var got tracker.Alert
	a.req("POST", path+"/ack", a.tokens[access.RolePatrol], map[string]string{"note": "on my way"}, 200, &got)
	if got.Status != tracker.StatusAcknowledged || got.AckedBy != "patrol1" {
		t.Errorf("after ack: %+v", got)
	}
	a.do("POST", path+"/ack", access.RolePatrol, nil, 409)
	a.req("POST", path+"/resolve", a.tokens[access.RolePatrol], map[string]string{"note": "load checked"}, 200, &got)
	if got.Status != tracker.StatusResolved || got.ResolvedBy != "patrol1" || !strings.Contains(got.Note, "load checked") {
		t.Errorf("after resolve: %+v", got)
	}
	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit", a.tokens[access.RoleAuditor], nil, 200, &audit)
	actions := map[string]bool{}
	for _, r := range audit.Records {
		actions[r.Actor+" "+r.Action] = true
	}
	for _, want := range []string{"patrol1 alert.ack", "patrol1 alert.resolve", "admin user.create", "admin login"} {
		if !actions[want] {
			t.Errorf("audit lacks %q", want)
		}
	}
	var v struct {
		OK      bool
		Records int
	}
	a.req("GET", "/api/v1/audit/verify", a.tokens[access.RoleAuditor], nil, 200, &v)
	if !v.OK || v.Records != len(audit.Records)+1 { // the read of the audit is recorded after it
		t.Errorf("verify = %+v with %d records and the read", v, len(audit.Records))
	}
}

// TestAlertConfirm: an officer confirms an alert as an offence: resolved with the note, once
// (again: 409, nothing changed), audited; bad ids and unknown alerts are refused.
func TestAlertConfirm(t *testing.T) {
	a := newAPI(t)
	b := &tracker.Batch{Alerts: []tracker.Alert{{Type: tracker.AlertMeeting, Severity: tracker.SeverityWarning, VehicleID: "v1",
		Time: time.Now().UTC(), DedupKey: "meeting:test", Evidence: json.RawMessage(`{}`)}}}
	if err := a.store.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/alerts/" + itoa(b.Alerts[0].ID)
	var got tracker.Alert
	a.req("POST", path+"/confirm", a.tokens[access.RolePatrol], map[string]string{"note": "goods handed over"}, 200, &got)
	if got.Status != tracker.StatusResolved || got.ResolvedBy != "patrol1" || got.Note != tracker.ConfirmedNote("goods handed over") {
		t.Errorf("after confirm: %+v", got)
	}
	a.do("POST", path+"/confirm", access.RoleCommand, map[string]string{"note": "twice"}, 409)
	a.do("POST", "/api/v1/alerts/x/confirm", access.RolePatrol, nil, 400)
	a.do("POST", "/api/v1/alerts/999999/confirm", access.RolePatrol, nil, 404)
	a.do("POST", path+"/confirm", access.RolePatrol, map[string]string{"note": strings.Repeat("x", 4001)}, 400)
	cs, err := a.store.Confirmations(context.Background(), time.Time{})
	if err != nil || len(cs) != 1 || cs[0].By != "patrol1" || cs[0].Note != "goods handed over" {
		t.Errorf("confirmations %+v, %v: want one, by patrol1", cs, err)
	}
	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit", a.tokens[access.RoleAuditor], nil, 200, &audit)
	var confirms, refused int
	for _, r := range audit.Records {
		if r.Action == "alert.confirm" {
			confirms++
			if r.Result == "refused" {
				refused++
			}
		}
	}
	if confirms != 3 || refused != 2 { // the confirmation, the second and the unknown alert
		t.Errorf("audit: %d alert.confirm records, %d refused; want 3 and 2", confirms, refused)
	}
}

// TestRisk ranks a vehicle with a recent crossing outside a port above one with an old stop, and
// leaves a vehicle with nothing against it off the list. The scorer reads the store as at a
// start.
func TestRisk(t *testing.T) {
	a := newAPI(t)
	now := time.Now().UTC()
	b := &tracker.Batch{
		Alerts: []tracker.Alert{
			{Type: tracker.AlertBorderCrossingOutsidePort, Severity: tracker.SeverityCritical, VehicleID: "smuggler", Time: now.Add(-time.Hour), DedupKey: "a1"},
			{Type: tracker.AlertUnauthorizedStop, Severity: tracker.SeverityWarning, VehicleID: "stopper", Time: now.Add(-20 * 24 * time.Hour), DedupKey: "a2"},
			{Type: tracker.AlertUnauthorizedStop, Severity: tracker.SeverityWarning, VehicleID: "stopper", Time: now.Add(-2 * time.Hour), DedupKey: "a3"},
		},
		Events: []tracker.Event{{Type: tracker.EventBorderCross, Time: now.Add(-time.Hour), VehicleID: "smuggler"}},
	}
	if err := a.store.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if err := a.risk.Load(context.Background(), a.store); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Targets []struct {
			VehicleID string `json:"vehicle_id"`
			Score     float64
			Reasons   []string
		}
	}
	a.req("GET", "/api/v1/risk", a.tokens[access.RoleCommand], nil, 200, &out)
	if len(out.Targets) != 2 || out.Targets[0].VehicleID != "smuggler" || out.Targets[1].VehicleID != "stopper" {
		t.Fatalf("targets %+v", out.Targets)
	}
	if out.Targets[0].Score < 10 || len(out.Targets[0].Reasons) != 2 {
		t.Errorf("smuggler %+v", out.Targets[0])
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
