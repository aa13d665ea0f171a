package mapui_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// Hole 1 of issue 16: the auth code lets a terminal report as the truck, so only those who
// administer devices see it; and a registered terminal registers again only after an audited
// reset.
func TestDeviceAuthCodeAndRegistrationReset(t *testing.T) {
	a := newAPI(t)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "truck-1", "plate": "蒙H12345", "kind": "truck"}, 201)
	a.do("POST", "/api/v1/devices", access.RoleAdmin, map[string]any{"id": "13912344329", "protocol": "jt808", "vehicle_id": "truck-1",
		"auth_code": "s3cret-code", "terminal_id": "T100001", "maker": "70111", "model": "KM-9",
		"registered_at": "2026-01-01T00:00:00Z"}, 201) // registered_at is the terminal's to set, not the API's

	for _, role := range []string{access.RoleAdmin, access.RoleCommand, access.RolePatrol, access.RoleInvestigator} {
		list := a.do("GET", "/api/v1/devices", role, nil, 200)
		one := a.do("GET", "/api/v1/devices/13912344329", role, nil, 200)
		shown := access.Allowed(role, access.PermRegistry)
		for _, b := range [][]byte{list, one} {
			if strings.Contains(string(b), "s3cret-code") != shown {
				t.Errorf("%s sees %s; auth code shown: want %v", role, b, shown)
			}
			if !strings.Contains(string(b), `"terminal_id":"T100001"`) {
				t.Errorf("%s: no terminal_id in %s", role, b)
			}
		}
	}
	var d tracker.Device
	if err := json.Unmarshal(a.do("GET", "/api/v1/devices/13912344329", access.RoleAdmin, nil, 200), &d); err != nil {
		t.Fatal(err)
	}
	if !d.RegisteredAt.IsZero() || d.Maker != "70111" || d.Model != "KM-9" {
		t.Errorf("created %+v, want maker and model, not registered", d)
	}
	a.do("POST", "/api/v1/devices", access.RoleAdmin, map[string]any{"id": "13912344330", "protocol": "jt808", "terminal_id": strings.Repeat("T", 31)}, 400)

	// The terminal registers; an update does not undo that; the reset does, and is audited.
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	if err := a.store.MarkRegistered(t.Context(), "13912344329", at); err != nil {
		t.Fatal(err)
	}
	a.do("PUT", "/api/v1/devices/13912344329", access.RoleAdmin, map[string]any{"protocol": "jt808", "vehicle_id": "truck-1",
		"auth_code": "s3cret-code", "terminal_id": "T100001"}, 200)
	if d, _ := a.store.Device(t.Context(), "13912344329"); !d.RegisteredAt.Equal(at) {
		t.Errorf("after update RegisteredAt = %v, want %v", d.RegisteredAt, at)
	}
	a.do("POST", "/api/v1/devices/13912344329/reset-registration", access.RolePatrol, nil, 403)
	a.do("POST", "/api/v1/devices/nope/reset-registration", access.RoleAdmin, nil, 404)
	if err := json.Unmarshal(a.do("POST", "/api/v1/devices/13912344329/reset-registration", access.RoleAdmin, nil, 200), &d); err != nil {
		t.Fatal(err)
	}
	if !d.RegisteredAt.IsZero() {
		t.Errorf("after reset RegisteredAt = %v", d.RegisteredAt)
	}
	recs, err := a.store.Audit(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var resets []string
	for _, r := range recs {
		if strings.Contains(string(r.Detail), "s3cret-code") {
			t.Errorf("audit record %d holds the auth code: %s", r.Seq, r.Detail)
		}
		if r.Action == "device.reset_registration" {
			resets = append(resets, r.Actor+" "+r.Object+" "+string(r.Detail))
		}
	}
	if want := `admin device:13912344329 {"registered_at":"2026-05-01T10:00:00Z"}`; len(resets) != 1 || resets[0] != want {
		t.Errorf("reset audit %q, want [%s]", resets, want)
	}
}
