package mapui_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/rules"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// newWeighAPI is the API with the rules matching weighings, a truck w1 (plate 蒙K·W0001, card
// C-W1) on an active inbound declaration d-w1 of 30 t of coal through Erenhot.
func newWeighAPI(t *testing.T) *api {
	var eng *rules.Engine
	a := newAPIWith(t, access.Options{}, mapui.Config{}, func(cfg *mapui.Config) {
		st := cfg.Store.(*sqlitestore.Store)
		geo := geofence.NewEmbedded(geofence.Options{})
		zs, err := st.Zones(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := geo.SetZones(t.Context(), zs); err != nil {
			t.Fatal(err)
		}
		eng = rules.New(rules.Config{Engine: geo, Store: st})
		cfg.Weighings = eng
		cfg.VehiclesChanged = eng.VehicleChanged
		cfg.DeclarationsChanged = eng.DeclarationChanged
	})
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "w1", "kind": "truck", "plate": "蒙K·W0001", "card_id": "C-W1"}, 201)
	now := time.Now().UTC()
	a.do("POST", "/api/v1/declarations", access.RoleAdmin, map[string]any{"id": "d-w1", "vehicle_id": "w1", "direction": "inbound",
		"port_zone_id": "port-erenhot", "yard_zone_id": "yard-erenhot-1", "valid_from": now.Add(-time.Hour), "valid_to": now.Add(5 * time.Hour),
		"cargo": "炼焦煤", "declared_net_kg": 30000}, 201)
	return a
}

func TestWeighingMatchedAndListed(t *testing.T) {
	a := newWeighAPI(t)
	var got struct {
		Weighing tracker.Weighing
		Alerts   []tracker.Alert
	}
	// By plate, written differently from the registry: matched, 6.7 % over the declaration.
	a.req("POST", "/api/v1/weighings", a.tokens[access.RoleCommand], map[string]any{"scale_id": "scale-erenhot-house", "zone_id": "port-erenhot",
		"plate": "蒙K W0001", "gross_kg": 47000, "tare_kg": 15000, "net_kg": 32000, "operator": "李四"}, 201, &got)
	if got.Weighing.VehicleID != "w1" || got.Weighing.DeclarationID != "d-w1" || got.Weighing.ID == 0 {
		t.Errorf("weighing %+v, want matched to w1 and d-w1 with an id", got.Weighing)
	}
	if len(got.Alerts) != 1 || got.Alerts[0].Type != tracker.AlertWeightMismatch {
		t.Errorf("alerts %+v, want one weight_mismatch", got.Alerts)
	}
	// By card, no net given (gross − tare), at the yard: within the tolerance of the
	// declaration, but 4.3 % heavier than the port's scale said.
	a.req("POST", "/api/v1/weighings", a.tokens[access.RoleAdmin], map[string]any{"scale_id": "scale-yard-erenhot-1", "zone_id": "yard-erenhot-1",
		"card_id": "C-W1", "gross_kg": 49000, "tare_kg": 19000}, 201, &got)
	if got.Weighing.NetKg != 30000 || got.Weighing.DeclarationID != "d-w1" || len(got.Alerts) != 1 || got.Alerts[0].Type != tracker.AlertDoubleWeighing {
		t.Errorf("second reading %+v, alerts %+v", got.Weighing, got.Alerts)
	}
	// An unknown truck is stored, matched to nothing, and raises nothing.
	a.req("POST", "/api/v1/weighings", a.tokens[access.RoleAdmin], map[string]any{"scale_id": "scale-yard-erenhot-1", "zone_id": "yard-erenhot-1",
		"plate": "蒙A·99999", "gross_kg": 20000, "tare_kg": 10000}, 201, &got)
	if got.Weighing.VehicleID != "" || len(got.Alerts) != 0 {
		t.Errorf("unknown truck: %+v %+v", got.Weighing, got.Alerts)
	}
	for _, q := range []string{"vehicle_id=w1", "declaration_id=d-w1"} {
		var list struct{ Weighings []tracker.Weighing }
		a.req("GET", "/api/v1/weighings?"+q, a.tokens[access.RolePatrol], nil, 200, &list)
		if len(list.Weighings) != 2 || list.Weighings[0].ScaleID != "scale-erenhot-house" {
			t.Errorf("%s: %+v", q, list.Weighings)
		}
	}
	var drift struct {
		Days   int
		Scales []tracker.ScaleDrift
	}
	a.req("GET", "/api/v1/weighings/drift", a.tokens[access.RoleInvestigator], nil, 200, &drift)
	if drift.Days != 30 || len(drift.Scales) != 2 || drift.Scales[0].Trips != 1 || drift.Scales[0].Drifting {
		t.Errorf("drift %+v", drift)
	}
	if evs, _ := a.store.Events(t.Context(), tracker.EventQuery{VehicleID: "w1", Type: tracker.EventWeighing}); len(evs) != 2 {
		t.Errorf("%d weighing events of w1, want 2", len(evs))
	}
}

// Every way a reading can be wrong is refused with a reason, and nothing is stored.
func TestWeighingRefused(t *testing.T) {
	a := newWeighAPI(t)
	ok := func() map[string]any {
		return map[string]any{"scale_id": "s1", "zone_id": "port-erenhot", "plate": "蒙K·W0001", "gross_kg": 40000, "tare_kg": 15000}
	}
	for _, tc := range []struct {
		name  string
		key   string
		value any
	}{
		{"no scale", "scale_id", ""},
		{"scale id with a slash", "scale_id", "a/b"},
		{"no zone", "zone_id", ""},
		{"unknown zone", "zone_id", "nowhere"},
		{"corridor zone", "zone_id", "corridor-erenhot-yard1"},
		{"no gross", "gross_kg", nil},
		{"zero gross", "gross_kg", 0},
		{"negative tare", "tare_kg", -1},
		{"tare above gross", "tare_kg", 40001},
		{"absurd gross", "gross_kg", 2e6},
		{"net not gross minus tare", "net_kg", 30000},
		{"in the future", "time", time.Now().Add(time.Hour)},
		{"gross as text", "gross_kg", "40000"},
		{"vehicle chosen by the scale", "vehicle_id", "w1"},
		{"long plate", "plate", string(make([]byte, 41))},
	} {
		body := ok()
		if tc.value == nil {
			delete(body, tc.key)
		} else {
			body[tc.key] = tc.value
		}
		t.Run(tc.name, func(t *testing.T) { a.do("POST", "/api/v1/weighings", access.RoleAdmin, body, 400) })
	}
	body := ok()
	delete(body, "plate")
	a.do("POST", "/api/v1/weighings", access.RoleAdmin, body, 400)
	a.do("POST", "/api/v1/weighings", access.RoleAdmin, "[1,2", 400)
	a.do("POST", "/api/v1/weighings", access.RolePatrol, ok(), 403)
	a.do("POST", "/api/v1/weighings", access.RoleInvestigator, ok(), 403)
	a.do("GET", "/api/v1/weighings", access.RoleAdmin, nil, 400)
	a.do("GET", "/api/v1/weighings?vehicle_id=w1&from=yesterday", access.RoleAdmin, nil, 400)
	for _, d := range []string{"0", "-3", "367", "x", "1e3"} {
		a.do("GET", "/api/v1/weighings/drift?days="+url.QueryEscape(d), access.RoleAdmin, nil, 400)
	}
	if ws, _ := a.store.Weighings(t.Context(), tracker.WeighingQuery{}); len(ws) != 0 {
		b, _ := json.Marshal(ws)
		t.Errorf("refused readings stored: %s", b)
	}
	a.do("POST", "/api/v1/weighings", access.RoleAdmin, ok(), 201) // and the server goes on
}
