package mapui_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
)

// TestUnknownFieldsRefused sends each kind of request body, otherwise valid, with one field the
// server does not know: it is refused with 400 naming the field, not silently ignored.
func TestUnknownFieldsRefused(t *testing.T) {
	a := newAPI(t)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "v-known", "kind": "truck"}, 201)
	for _, tc := range []struct {
		name, method, path, role string
		body                     map[string]any
		unknown                  string
	}{
		{"vehicle", "POST", "/api/v1/vehicles", access.RoleAdmin, map[string]any{"id": "v-typo", "kind": "truck"}, "plat"},
		{"vehicle update", "PUT", "/api/v1/vehicles/v-known", access.RoleAdmin, map[string]any{"kind": "truck"}, "plat"},
		{"device", "POST", "/api/v1/devices", access.RoleAdmin, map[string]any{"id": "123456789012", "protocol": "jt808"}, "vehicle"},
		{"declaration", "POST", "/api/v1/declarations", access.RoleAdmin, map[string]any{"id": "d-typo", "vehicle_id": "v-known",
			"direction": "inbound", "port_zone_id": "port-erenhot", "valid_from": "2026-01-01T00:00:00Z", "valid_to": "2026-01-02T00:00:00Z"}, "valid_until"},
		{"user", "POST", "/api/v1/users", access.RoleAdmin, map[string]any{"username": "typo1", "password": "Str0ng-Enough-1", "role": "patrol"}, "rol"},
		{"login", "POST", "/api/v1/login", "", map[string]any{"username": "admin", "password": adminPassword}, "remember"},
		{"gate event", "POST", "/api/v1/gate-events", access.RoleAdmin, map[string]any{"gate_zone_id": "port-erenhot", "plate": "X", "direction": "in"}, "lane"},
	} {
		tc.body[tc.unknown] = "x"
		b := a.req(tc.method, tc.path, a.tokens[tc.role], tc.body, 400, nil)
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if want := `unknown field "` + tc.unknown + `"`; e.Error.Code != "bad_request" || !strings.Contains(e.Error.Message, want) {
			t.Errorf("%s: error %+v, want code bad_request and a message with %s", tc.name, e.Error, want)
		}
	}
}
