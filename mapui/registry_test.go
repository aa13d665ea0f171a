package mapui_test

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestVehicleDriver: a vehicle is answered with the driver of its newest driver_identity event,
// in the list and alone; a removed card leaves no driver, as does never having had one.
func TestVehicleDriver(t *testing.T) {
	a := newAPI(t)
	for _, id := range []string{"v-drv", "v-gone", "v-none"} {
		a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": id, "kind": "truck"}, 201)
	}
	t0 := time.Date(2026, 5, 4, 1, 0, 0, 0, time.UTC)
	card := func(veh string, at time.Time, inserted bool, id, name string) tracker.Event {
		ev := tracker.Event{Type: tracker.EventDriverIdentity, Time: at, VehicleID: veh, Attrs: map[string]any{"inserted": inserted}}
		if id != "" {
			ev.Attrs["card_id"], ev.Attrs["driver_name"] = id, name
		}
		return ev
	}
	// Stored out of order: the newest by time counts.
	if err := a.store.Commit(t.Context(), &tracker.Batch{Events: []tracker.Event{
		card("v-drv", t0.Add(2*time.Hour), true, "CY0002", "张三"),
		card("v-drv", t0, true, "CY0001", "王五"),
		card("v-gone", t0, true, "CY0003", "李四"),
		card("v-gone", t0.Add(time.Hour), false, "", ""),
	}}); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		ID     string
		Driver *struct {
			CardID string `json:"card_id"`
			Name   string
			Since  time.Time
		}
	}
	check := func(where string, v answer) {
		switch v.ID {
		case "v-drv":
			if v.Driver == nil || v.Driver.CardID != "CY0002" || v.Driver.Name != "张三" || !v.Driver.Since.Equal(t0.Add(2*time.Hour)) {
				t.Errorf("%s: %s driver %+v, want 张三 (CY0002) since %v", where, v.ID, v.Driver, t0.Add(2*time.Hour))
			}
		case "v-gone", "v-none":
			if v.Driver != nil {
				t.Errorf("%s: %s driver %+v, want none", where, v.ID, v.Driver)
			}
		}
	}
	for _, id := range []string{"v-drv", "v-gone", "v-none"} {
		var v answer
		a.req("GET", "/api/v1/vehicles/"+id, a.tokens[access.RolePatrol], nil, 200, &v)
		check("GET", v)
	}
	var list struct{ Vehicles []answer }
	a.req("GET", "/api/v1/vehicles", a.tokens[access.RolePatrol], nil, 200, &list)
	if len(list.Vehicles) < 3 {
		t.Fatalf("list: %d vehicles", len(list.Vehicles))
	}
	for _, v := range list.Vehicles {
		check("list", v)
	}
}
