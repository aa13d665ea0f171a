package mapui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// An officer declares an emergency with nothing but the vehicle, the direction and the port:
// the window is the next 2 h, the suspended rules are on the declaration and in the audit, and
// a critical emergency_crossing at the port is raised at once.
func TestEmergencyDeclaration(t *testing.T) {
	a := newWeighAPI(t)
	before := time.Now().UTC()
	var d tracker.Declaration
	a.req("POST", "/api/v1/declarations", a.tokens[access.RoleCommand], map[string]any{"id": "em-1", "vehicle_id": "w1", "type": "emergency",
		"direction": "inbound", "port_zone_id": "port-erenhot", "cargo": "伤员"}, 201, &d)
	if w := d.ValidTo.Sub(d.ValidFrom); w != 2*time.Hour || d.ValidFrom.Before(before.Add(-time.Second)) {
		t.Errorf("window %v from %v, want 2 h from now", w, d.ValidFrom)
	}
	want := []string{tracker.AlertDetour, tracker.AlertUnauthorizedStop}
	if strings.Join(d.SuspendedRules, ",") != strings.Join(want, ",") {
		t.Errorf("suspended_rules %v, want %v", d.SuspendedRules, want)
	}
	var got tracker.Declaration
	a.req("GET", "/api/v1/declarations/em-1", a.tokens[access.RolePatrol], nil, 200, &got)
	if len(got.SuspendedRules) != 2 {
		t.Errorf("GET: suspended_rules %v", got.SuspendedRules)
	}
	got = tracker.Declaration{}
	a.req("GET", "/api/v1/declarations/d-w1", a.tokens[access.RolePatrol], nil, 200, &got)
	if got.SuspendedRules != nil {
		t.Errorf("a normal declaration suspends %v", got.SuspendedRules)
	}
	as, err := a.store.Alerts(t.Context(), tracker.AlertQuery{Type: tracker.AlertEmergencyCrossing})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Severity != tracker.SeverityCritical || as[0].ZoneID == nil || *as[0].ZoneID != "port-erenhot" ||
		!strings.Contains(string(as[0].Evidence), `"declared_by":"command1"`) || !strings.Contains(as[0].Message, "蒙K·W0001") {
		t.Errorf("emergency_crossing alerts %+v", as)
	}
	recs, err := a.store.Audit(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		found = found || r.Action == "declaration.create" && r.Object == "declaration:em-1" &&
			strings.Contains(string(r.Detail), `"suspended_rules":["detour","unauthorized_stop"]`)
	}
	if !found {
		t.Error("no declaration.create audit record of em-1 listing the suspended rules")
	}
	// Not a way around the rules: at most 12 h; and still only for those who may declare.
	a.do("POST", "/api/v1/declarations", access.RoleAdmin, map[string]any{"id": "em-2", "vehicle_id": "w1", "type": "emergency",
		"direction": "inbound", "port_zone_id": "port-erenhot", "valid_from": before, "valid_to": before.Add(13 * time.Hour)}, 400)
	a.do("POST", "/api/v1/declarations", access.RolePatrol, map[string]any{"id": "em-3", "vehicle_id": "w1", "type": "emergency",
		"direction": "inbound", "port_zone_id": "port-erenhot"}, 403)
	// A normal declaration still needs its window.
	a.do("POST", "/api/v1/declarations", access.RoleAdmin, map[string]any{"id": "n-4", "vehicle_id": "w1",
		"direction": "inbound", "port_zone_id": "port-erenhot"}, 400)
}

// A client that got no answer (a 503, a lost connection) sends its declaration again: the same
// declaration is answered 201 as stored (the window the server chose for an emergency kept), its
// emergency_crossing raised once; another declaration under the ID, or a resend after the
// declaration was cancelled, is 409.
func TestDeclarationResent(t *testing.T) {
	a := newWeighAPI(t)
	tok := a.tokens[access.RoleCommand]
	em := map[string]any{"id": "em-r", "vehicle_id": "w1", "type": "emergency", "direction": "inbound", "port_zone_id": "port-erenhot", "cargo": "伤员"}
	var first, again tracker.Declaration
	a.req("POST", "/api/v1/declarations", tok, em, 201, &first)
	a.req("POST", "/api/v1/declarations", tok, em, 201, &again)
	if again.ValidFrom.Sub(first.ValidFrom).Abs() >= time.Microsecond || again.ValidTo.Sub(first.ValidTo).Abs() >= time.Microsecond || again.Status != tracker.DeclarationActive || len(again.SuspendedRules) != 2 {
		t.Errorf("resend answered %+v, want the declaration stored %+v", again, first)
	}
	as, err := a.store.Alerts(t.Context(), tracker.AlertQuery{Type: tracker.AlertEmergencyCrossing})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 {
		t.Errorf("%d emergency_crossing alerts after the resend, want 1", len(as))
	}
	em["cargo"] = "煤"
	a.req("POST", "/api/v1/declarations", tok, em, 409, nil)
	em["cargo"] = "伤员"
	em["valid_to"] = first.ValidTo.Add(time.Hour)
	a.req("POST", "/api/v1/declarations", tok, em, 409, nil)

	now := time.Now().UTC().Truncate(time.Second)
	normal := map[string]any{"id": "n-r", "vehicle_id": "w1", "direction": "inbound", "port_zone_id": "port-erenhot",
		"valid_from": now, "valid_to": now.Add(4 * time.Hour), "declared_net_kg": 30000}
	a.req("POST", "/api/v1/declarations", tok, normal, 201, nil)
	a.req("POST", "/api/v1/declarations", tok, normal, 201, nil)
	normal["declared_net_kg"] = 31000
	a.req("POST", "/api/v1/declarations", tok, normal, 409, nil)
	normal["declared_net_kg"] = 30000
	a.req("POST", "/api/v1/declarations/n-r/cancel", tok, nil, 200, nil)
	a.req("POST", "/api/v1/declarations", tok, normal, 409, nil)
}
