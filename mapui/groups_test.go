package mapui_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestGroups: three trucks that cross together at Ceke on four days are one group, listed by
// plate with their trips and the port's name; a control truck crossing at the same port an
// hour later each time is not in it. A contact meeting one of them on two days is in it by a
// meeting edge, a vehicle met once is not.
func TestGroups(t *testing.T) {
	a := newAPI(t)
	for _, v := range [][2]string{{"g1", "蒙M·G0001"}, {"g2", "蒙M·G0002"}, {"g3", "蒙M·G0003"}, {"ctl", "蒙M·C0001"}, {"contact", "蒙M·K0001"}, {"once", "蒙M·C0002"}} {
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
	// A contact meets g1 abroad on two days and joins the group by its meeting edge; another
	// vehicle met g2 once and does not.
	var alerts []tracker.Alert
	for i, m := range []struct {
		a, b string
		at   time.Time
	}{{"contact", "g1", now.AddDate(0, 0, -4)}, {"contact", "g1", now.AddDate(0, 0, -7)}, {"g2", "once", now.AddDate(0, 0, -5)}} {
		alerts = append(alerts, tracker.Alert{Type: tracker.AlertMeeting, Severity: tracker.SeverityWarning, Status: tracker.StatusOpen, VehicleID: m.a,
			Time: m.at, UpdatedAt: m.at, Lat: 43.2, Lon: 111.8, DedupKey: fmt.Sprintf("meeting:%d", i),
			Evidence: json.RawMessage(fmt.Sprintf(`{"vehicles":[%q,%q]}`, m.a, m.b))})
	}
	if err := a.store.Commit(t.Context(), &tracker.Batch{Events: events, Alerts: alerts}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Groups []struct {
			Members []struct{ Plate string }
			Edges   []struct {
				A, B        string
				Kinds       []string
				Trips       int
				Meetings    int
				LastMeeting time.Time `json:"last_meeting"`
			}
			Trips []struct {
				PortName string `json:"port_name"`
				Vehicles []string
			}
			Meetings []struct{ Vehicles []string }
		}
	}
	a.req("GET", "/api/v1/groups", a.tokens[access.RoleInvestigator], nil, 200, &out)
	if len(out.Groups) != 1 || len(out.Groups[0].Members) != 4 || out.Groups[0].Members[1].Plate != "蒙M·G0001" {
		t.Fatalf("groups %+v: want contact, g1, g2, g3 and not the controls", out.Groups)
	}
	kinds := map[string]string{}
	for _, e := range out.Groups[0].Edges {
		kinds[e.A+"-"+e.B] = strings.Join(e.Kinds, ",")
		if e.A == "contact" && (e.Meetings != 2 || e.Trips != 0 || !e.LastMeeting.Equal(now.AddDate(0, 0, -4).Truncate(time.Microsecond))) {
			t.Errorf("contact's edge %+v", e)
		}
	}
	if kinds["contact-g1"] != "meeting" || kinds["g1-g2"] != "crossing" || len(kinds) != 4 {
		t.Errorf("edge kinds %v", kinds)
	}
	if m := out.Groups[0].Meetings; len(m) != 2 || m[0].Vehicles[0] != "contact" {
		t.Errorf("meetings %+v", m)
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
