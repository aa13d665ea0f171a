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
