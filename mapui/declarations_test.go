package mapui_test

import (
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestDeclarationFields creates declarations with and without the second version's fields and
// reads them back one by one and in the list; bad values are refused.
func TestDeclarationFields(t *testing.T) {
	a := newAPI(t)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "v-decl", "kind": "truck"}, 201)
	decl := func(id string, extra map[string]any) map[string]any {
		d := map[string]any{"id": id, "vehicle_id": "v-decl", "direction": "inbound", "port_zone_id": "port-erenhot",
			"valid_from": "2026-01-01T00:00:00Z", "valid_to": "2026-01-02T00:00:00Z"}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	var got tracker.Declaration
	a.req("POST", "/api/v1/declarations", a.tokens[access.RoleCommand], decl("d-plain", nil), 201, &got)
	if got.Type != tracker.DeclarationNormal || got.DeclaredNetKg != nil || got.DriverCard != "" {
		t.Errorf("declaration without the added fields = %+v, want type normal, no net weight, no driver", got)
	}
	full := decl("d-full", map[string]any{"type": "emergency", "valid_to": "2026-01-01T02:00:00Z", "cargo": "药品", "grade": " A ", "declared_net_kg": 0,
		"driver_card": " 152101198001011234 ", "seal_id": "7012345678"})
	a.req("POST", "/api/v1/declarations", a.tokens[access.RoleCommand], full, 201, &got)
	for _, path := range []string{"/api/v1/declarations/d-full", ""} {
		if path != "" {
			a.req("GET", path, a.tokens[access.RolePatrol], nil, 200, &got)
		} else {
			var list struct{ Declarations []tracker.Declaration }
			a.req("GET", "/api/v1/declarations?vehicle_id=v-decl", a.tokens[access.RolePatrol], nil, 200, &list)
			for _, d := range list.Declarations {
				if d.ID == "d-full" {
					got = d
				}
			}
			path = "the list"
		}
		if got.Type != tracker.DeclarationEmergency || got.Cargo != "药品" || got.Grade != "A" || got.DeclaredNetKg == nil ||
			*got.DeclaredNetKg != 0 || got.DriverCard != "152101198001011234" || got.SealID != "7012345678" {
			t.Errorf("%s: %+v, want the added fields as sent (driver card and grade trimmed)", path, got)
		}
	}
	for _, extra := range []map[string]any{
		{"type": "urgent"},
		{"declared_net_kg": -1},
		{"declared_net_kg": 1e12},
		{"declared_net_kg": "20t"},
		{"driver_card": "0123456789012345678901234567890123456789X"},
		{"seal_id": "seal 1; DROP TABLE"},
		{"grade": "A\nB"},
		{"grade": "A\u0000"},
		{"grade": 1},
	} {
		a.do("POST", "/api/v1/declarations", access.RoleAdmin, decl("d-bad", extra), 400)
	}
	a.do("GET", "/api/v1/declarations/d-bad", access.RoleAdmin, nil, 404)
}
