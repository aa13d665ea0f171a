package mapui_test

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestGroups: three trucks that cross together at Ceke on four days are one group, listed by
// plate with their trips and the port's name; a control truck crossing at the same port an
// hour later each time is not in it.
func TestGroups(t *testing.T) {
	a := newAPI(t)
	for _, v := range [][2]string{{"g1", "蒙M·G0001"}, {"g2", "蒙M·G0002"}, {"g3", "蒙M·G0003"}, {"ctl", "蒙M·C0001"}} {
		a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": v[0], "plate": v[1], "kind": "truck"}, 201)
	}
	now := time.Now().UTC()
	var events []tracker.Event
	for d := 1; d <= 4; d++ {
		at := now.AddDate(0, 0, -d*3)
		for i, v := range []string{"g1", "g2", "g3"} {
			events = append(events, tracker.Event{Type: tracker.EventBorderCross, Time: at.Add(time.Duration(i) * time.Minute), VehicleID: v,
				Attrs: map[string]any{"port_zone_id": "port-ceke", "direction": "inbound"}})
		}
		events = append(events, tracker.Event{Type: tracker.EventBorderCross, Time: at.Add(time.Hour), VehicleID: "ctl",
			Attrs: map[string]any{"port_zone_id": "port-ceke", "direction": "inbound"}})
	}
	if err := a.store.Commit(t.Context(), &tracker.Batch{Events: events}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Groups []struct {
			Members []struct{ Plate string }
			Trips   []struct {
				PortName string `json:"port_name"`
				Vehicles []string
			}
		}
	}
	a.req("GET", "/api/v1/groups", a.tokens[access.RoleInvestigator], nil, 200, &out)
	if len(out.Groups) != 1 || len(out.Groups[0].Members) != 3 || out.Groups[0].Members[0].Plate != "蒙M·G0001" {
		t.Fatalf("groups %+v: want g1, g2, g3 and not the control", out.Groups)
	}
	if tr := out.Groups[0].Trips; len(tr) != 4 || tr[0].PortName != "策克口岸" || len(tr[0].Vehicles) != 3 {
		t.Errorf("trips %+v", tr)
	}
	// A period before the trips has none.
	a.req("GET", "/api/v1/groups?to="+now.AddDate(0, 0, -20).Format(time.RFC3339), a.tokens[access.RoleInvestigator], nil, 200, &out)
	if len(out.Groups) != 0 {
		t.Errorf("groups before the trips: %+v", out.Groups)
	}
	for _, q := range []string{"from=yesterday", "from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"} {
		a.do("GET", "/api/v1/groups?"+q, access.RoleInvestigator, nil, 400)
	}
	a.do("GET", "/api/v1/groups", access.RoleAuditor, nil, 403)

	// Erenhot's command does not see a group that only ever crossed at Ceke; Ceke's does.
	for _, u := range []struct{ name, unit string }{{"cmd-erenhot", "port-erenhot"}, {"cmd-ceke", "port-ceke"}} {
		a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": u.name, "password": "Unit-Passw0rd-" + u.name, "role": access.RoleCommand, "unit": u.unit}, 201)
		a.tokens[u.name] = a.login(u.name, "Unit-Passw0rd-"+u.name, 200)
	}
	a.req("GET", "/api/v1/groups", a.tokens["cmd-erenhot"], nil, 200, &out)
	if len(out.Groups) != 0 {
		t.Errorf("Erenhot's command sees %+v", out.Groups)
	}
	a.req("GET", "/api/v1/groups", a.tokens["cmd-ceke"], nil, 200, &out)
	if len(out.Groups) != 1 {
		t.Errorf("Ceke's command sees %d groups, want 1", len(out.Groups))
	}
}
