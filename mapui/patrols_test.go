package mapui_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// patrolAPI is targetAPI with each patrol's tablet registered (OsmAnd, bound to a patrol
// vehicle) and linked to the user: patrol-erenhot 20 km west of the Erenhot alert, reported a
// minute ago; patrol-erenhot-2 3 km from it, silent for 20 minutes; patrol-ceke at Ceke;
// patrol-erenhot-3 without a device (and newAPI's patrol1 of the district, without one too).
func patrolAPI(t *testing.T) (a *api, ernAlert, cekAlert int64) {
	t.Helper()
	a, ernAlert, cekAlert = targetAPI(t)
	for _, u := range []string{"patrol-erenhot-2", "patrol-erenhot-3"} {
		a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": u, "password": "Unit-Passw0rd-" + u, "role": "patrol", "unit": "port-erenhot"}, 201)
		a.tokens[u] = a.login(u, "Unit-Passw0rd-"+u, 200)
	}
	now := time.Now().UTC()
	var fixes []tracker.Fix
	for i, p := range []struct {
		user, plate, name string
		lat, lon          float64
		age               time.Duration
	}{
		{"patrol-erenhot", "蒙K·J0001", "二连浩特巡逻一组", erenLat, erenLon - 0.248, time.Minute}, // ≈20 km west
		{"patrol-erenhot-2", "蒙K·J0002", "二连浩特巡逻二组", erenLat + 0.027, erenLon, 20 * time.Minute},
		{"patrol-ceke", "蒙M·J0001", "策克巡逻一组", cekeLat, cekeLon, time.Minute},
	} {
		veh, dev := fmt.Sprintf("PAT%d", i+1), fmt.Sprintf("tablet-%d", i+1)
		a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": veh, "plate": p.plate, "kind": "patrol", "name": p.name}, 201)
		a.do("POST", "/api/v1/devices", access.RoleAdmin, map[string]any{"id": dev, "protocol": "osmand", "vehicle_id": veh}, 201)
		a.do("PUT", "/api/v1/users/"+p.user, access.RoleAdmin, map[string]any{"device_id": dev}, 200)
		at := now.Add(-p.age)
		fixes = append(fixes, tracker.Fix{VehicleID: veh, DeviceID: dev, Protocol: "osmand", Time: at, ReceivedAt: at, Lat: p.lat, Lon: p.lon, Valid: true})
	}
	fixes = append(fixes,
		tracker.Fix{VehicleID: "ERN", DeviceID: "ERN", Time: now, ReceivedAt: now, Lat: erenLat, Lon: erenLon, Valid: true},
		tracker.Fix{VehicleID: "CEK", DeviceID: "CEK", Time: now, ReceivedAt: now, Lat: cekeLat, Lon: cekeLon, Valid: true})
	if err := a.store.Commit(t.Context(), &tracker.Batch{Fixes: fixes}); err != nil {
		t.Fatal(err)
	}
	return a, ernAlert, cekAlert
}

func patrols(a *api, query, role string) []mapui.Patrol {
	a.t.Helper()
	var out struct{ Patrols []mapui.Patrol }
	a.req("GET", "/api/v1/patrols"+query, a.tokens[role], nil, 200, &out)
	return out.Patrols
}

// TestPatrolsNearest: command sees its patrols nearest first to an alert or an order, with the
// distance, the age of the position and stale ones flagged, and what each is doing as it
// accepts and arrives; a port's command only its own port's patrols.
func TestPatrolsNearest(t *testing.T) {
	a, ernAlert, cekAlert := patrolAPI(t)
	got := patrols(a, fmt.Sprintf("?alert_id=%d", ernAlert), access.RoleCommand)
	var order []string
	for _, p := range got {
		order = append(order, p.Username)
	}
	if strings.Join(order, ",") != "patrol-erenhot-2,patrol-erenhot,patrol-ceke,patrol-erenhot-3,patrol1" {
		t.Fatalf("patrols nearest the Erenhot alert: %v", order)
	}
	near, far, none := got[0], got[1], got[3]
	if d := *near.DistanceM; d < 2800 || d > 3200 || !near.Stale || *near.AgeS < 1190 || near.Plate != "蒙K·J0002" || near.Name != "二连浩特巡逻二组" {
		t.Errorf("nearest patrol = %+v (distance %.0f m), want 3 km, stale, 20 min old, its vehicle named", near, d)
	}
	if d := *far.DistanceM; d < 19500 || d > 20500 || far.Stale || *far.AgeS > 120 || far.Status != "free" || far.Unit != "port-erenhot" {
		t.Errorf("patrol 20 km away = %+v (distance %.0f m)", far, d)
	}
	if none.Lat != nil || none.DistanceM != nil || none.Stale {
		t.Errorf("a patrol without a device has a position: %+v", none)
	}

	// A port's command: its patrols only, and not measured from another port's alert.
	for _, p := range patrols(a, "", "command-erenhot") {
		if p.Unit != "port-erenhot" {
			t.Errorf("Erenhot's command lists %s of %s", p.Username, p.Unit)
		}
	}
	a.do("GET", fmt.Sprintf("/api/v1/patrols?alert_id=%d", cekAlert), "command-erenhot", nil, 404)
	if got := patrols(a, fmt.Sprintf("?alert_id=%d", cekAlert), "command-ceke"); len(got) != 1 || got[0].Username != "patrol-ceke" || *got[0].DistanceM > 10 {
		t.Errorf("Ceke's patrols near Ceke's alert: %+v", got)
	}

	// Status follows the assignment: assigned, en route, arrived; by order too.
	var asg tracker.Assignment
	a.req("POST", "/api/v1/assignments", a.tokens[access.RoleCommand], map[string]any{"alert_id": ernAlert, "user": "patrol-erenhot"}, 201, &asg)
	status := func() mapui.Patrol {
		for _, p := range patrols(a, "?order_id="+asg.OrderID, access.RoleCommand) {
			if p.Username == "patrol-erenhot" {
				return p
			}
		}
		t.Fatal("patrol-erenhot not listed")
		return mapui.Patrol{}
	}
	if p := status(); p.Status != "assigned" || p.Order != asg.OrderID || p.DistanceM == nil || *p.DistanceM < 19500 {
		t.Errorf("after the assignment: %+v", p)
	}
	// Busy patrols come after the free ones, however near: patrol-erenhot-2 (3 km) is free.
	busyLast := func(when string) {
		t.Helper()
		var order []string
		for _, p := range patrols(a, fmt.Sprintf("?alert_id=%d", ernAlert), access.RoleCommand) {
			order = append(order, p.Username+":"+p.Status)
		}
		if want := "patrol-erenhot-2:free,patrol-ceke:free,patrol-erenhot-3:free,patrol1:free,patrol-erenhot:" + when; strings.Join(order, ",") != want {
			t.Errorf("patrols near the Erenhot alert, patrol-erenhot %s: %v, want %s", when, order, want)
		}
	}
	busyLast("assigned")
	a.do("POST", "/api/v1/assignments/"+asg.ID+"/accept", "patrol-erenhot", nil, 200)
	busyLast("en_route")
	if p := status(); p.Status != "en_route" {
		t.Errorf("after acceptance: %s, want en_route", p.Status)
	}
	a.do("POST", "/api/v1/assignments/"+asg.ID+"/arrive", "patrol-erenhot", nil, 200)
	if p := status(); p.Status != "arrived" {
		t.Errorf("after arrival: %s, want arrived", p.Status)
	}

	// A team's assignment is the patrol's that accepts it.
	var team tracker.Assignment
	a.req("POST", "/api/v1/assignments", a.tokens[access.RoleCommand], map[string]any{"order_id": asg.OrderID, "team": "port-erenhot"}, 201, &team)
	a.do("POST", "/api/v1/assignments/"+team.ID+"/accept", "patrol-erenhot-2", nil, 200)
	for _, p := range patrols(a, "", "command-erenhot") {
		if want := map[string]string{"patrol-erenhot-2": "en_route", "patrol-erenhot-3": "free"}[p.Username]; want != "" && p.Status != want {
			t.Errorf("%s: %s, want %s", p.Username, p.Status, want)
		}
	}

	// Who may not, and bad input.
	a.do("GET", "/api/v1/patrols", "patrol-erenhot", nil, 403)
	a.do("GET", "/api/v1/patrols", access.RoleInvestigator, nil, 403)
	for _, q := range []string{"?lat=abc&lon=1", "?lat=91&lon=111", "?lat=43", "?alert_id=-3", "?alert_id=x"} {
		a.do("GET", "/api/v1/patrols"+q, access.RoleCommand, nil, 400)
	}
	a.do("GET", "/api/v1/patrols?order_id=T-nope", access.RoleCommand, nil, 404)
	a.do("GET", "/api/v1/patrols?alert_id=999999", access.RoleCommand, nil, 404)
	if got := patrols(a, "?lat=42.56&lon=101.30", access.RoleCommand); got[0].Username != "patrol-ceke" {
		t.Errorf("nearest to Ceke by position: %s", got[0].Username)
	}
}

// TestUserDevice: a user's device is a registered device, shown with the user, changed and
// unlinked by the administrator without ending the user's sessions, and audited.
func TestUserDevice(t *testing.T) {
	a, _, _ := patrolAPI(t)
	a.do("PUT", "/api/v1/users/patrol-erenhot-3", access.RoleAdmin, map[string]any{"device_id": "no-such-device"}, 400)
	a.do("PUT", "/api/v1/users/patrol-erenhot-3", access.RoleAdmin, map[string]any{"device_id": "tablet-1/../x"}, 400)
	a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]any{"username": "p4", "password": "Unit-Passw0rd-p4", "role": "patrol", "device_id": "ghost"}, 400)
	a.do("PUT", "/api/v1/users/patrol-erenhot-3", "patrol-erenhot-3", map[string]any{"device_id": "tablet-1"}, 403)
	a.do("PUT", "/api/v1/users/patrol-erenhot", access.RoleAdmin, map[string]any{"device_id": ""}, 200)
	a.do("GET", "/api/v1/assignments", "patrol-erenhot", nil, 200) // still signed in
	var list struct{ Users []tracker.User }
	a.req("GET", "/api/v1/users", a.tokens[access.RoleAdmin], nil, 200, &list)
	for _, u := range list.Users {
		if want := map[string]string{"patrol-erenhot-2": "tablet-2", "patrol-erenhot": ""}[u.Username]; (u.Username == "patrol-erenhot-2" || u.Username == "patrol-erenhot") && u.DeviceID != want {
			t.Errorf("%s's device = %q, want %q", u.Username, u.DeviceID, want)
		}
	}
	for _, p := range patrols(a, "", access.RoleCommand) {
		if p.Username == "patrol-erenhot" && p.Lat != nil {
			t.Errorf("an unlinked patrol keeps a position: %+v", p)
		}
	}
	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit?limit=1000", a.tokens[access.RoleAuditor], nil, 200, &audit)
	found := false
	for _, r := range audit.Records {
		found = found || (r.Action == "user.update" && r.Object == "user:patrol-erenhot" && strings.Contains(string(r.Detail), "device_id"))
	}
	if !found {
		t.Error("the device change is not in the audit log")
	}
}

// TestAssignedPatrolSeesItsAlert: a patrol of Erenhot sent by the district to a Ceke order sees
// that order, its alert and its truck, over REST and on its socket; and nothing else of Ceke: not
// another Ceke alert, not another Ceke order, not another Ceke truck. Its colleague not sent sees
// none of it.
func TestAssignedPatrolSeesItsAlert(t *testing.T) {
	a, _, cekAlert := patrolAPI(t)
	now := time.Now().UTC()
	other := &tracker.Batch{
		Fixes: []tracker.Fix{{VehicleID: "CEK2", DeviceID: "CEK2", Time: now, ReceivedAt: now, Lat: cekeLat, Lon: cekeLon + 0.01, Valid: true}},
		Alerts: []tracker.Alert{{Type: tracker.AlertDetour, Severity: tracker.SeverityCritical, VehicleID: "CEK2", Time: now, Lat: cekeLat, Lon: cekeLon + 0.01,
			DedupKey: "detour:CEK2", Evidence: json.RawMessage(`{}`)}},
	}
	if err := a.store.Commit(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	otherAlert := other.Alerts[0].ID
	var cekeOrder tracker.TargetOrder
	a.req("POST", "/api/v1/targets", a.tokens["command-ceke"], map[string]any{"vehicle_id": "CEK", "reason": "intelligence", "action": "inspect_at_yard"}, 201, &cekeOrder)

	ws := a.watchLive(a.tokens["patrol-erenhot"], map[string]any{"type": "subscribe", "all_alerts": true})
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", cekAlert), "patrol-erenhot", nil, 404)

	var o tracker.TargetOrder
	a.req("POST", "/api/v1/targets", a.tokens[access.RoleCommand], map[string]any{"alert_id": cekAlert, "reason": "alert", "action": "inspect_next_crossing", "port_id": "port-ceke"}, 201, &o)
	var asg tracker.Assignment
	a.req("POST", "/api/v1/assignments", a.tokens[access.RoleCommand], map[string]any{"order_id": o.ID, "user": "patrol-erenhot"}, 201, &asg)
	if n := waitNotice(t, ws, "assigned"); n.Assignment.ID != asg.ID {
		t.Fatalf("assignment notice for %s, want %s", n.Assignment.ID, asg.ID)
	}

	// REST: the alert, the order and the truck it is sent to; nothing else of Ceke.
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", cekAlert), "patrol-erenhot", nil, 200)
	a.do("GET", "/api/v1/targets/"+o.ID, "patrol-erenhot", nil, 200)
	if got := vehiclesIn(t, a.do("GET", "/api/v1/alerts", "patrol-erenhot", nil, 200), "alerts"); !got["CEK"] || got["CEK2"] {
		t.Errorf("alerts of the patrol sent to CEK: %v", got)
	}
	if got := vehiclesIn(t, a.do("GET", "/api/v1/positions", "patrol-erenhot", nil, 200), "positions"); !got["CEK"] || got["CEK2"] {
		t.Errorf("positions of the patrol sent to CEK: %v", got)
	}
	a.do("GET", "/api/v1/vehicles/CEK/track", "patrol-erenhot", nil, 200)
	a.do("GET", "/api/v1/vehicles/CEK2/track", "patrol-erenhot", nil, 403)
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", otherAlert), "patrol-erenhot", nil, 404)
	a.do("POST", fmt.Sprintf("/api/v1/alerts/%d/ack", otherAlert), "patrol-erenhot", nil, 404)
	a.do("GET", "/api/v1/targets/"+cekeOrder.ID, "patrol-erenhot", nil, 404)
	a.do("POST", "/api/v1/targets/"+cekeOrder.ID+"/result", "patrol-erenhot", map[string]any{"found": false}, 404)
	// The colleague not sent sees none of it.
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", cekAlert), "patrol-erenhot-2", nil, 404)
	a.do("GET", "/api/v1/targets/"+o.ID, "patrol-erenhot-2", nil, 404)
	if got := vehiclesIn(t, a.do("GET", "/api/v1/positions", "patrol-erenhot-2", nil, 200), "positions"); got["CEK"] {
		t.Errorf("a patrol not sent sees the truck: %v", got)
	}

	// Socket: the truck sent to and its alert; not the other Ceke truck nor its alert.
	colleague := a.watchLive(a.tokens["patrol-erenhot-2"], map[string]any{"type": "subscribe", "all_alerts": true})
	fix := func(id string, lat, lon float64) tracker.Fix {
		return tracker.Fix{VehicleID: id, DeviceID: id, Time: now, ReceivedAt: now, Lat: lat, Lon: lon, Valid: true}
	}
	alert := func(id int64, v string) tracker.Alert {
		return tracker.Alert{ID: id, Type: tracker.AlertDetour, Severity: tracker.SeverityCritical, VehicleID: v, Time: now, Lat: cekeLat, Lon: cekeLon}
	}
	time.Sleep(200 * time.Millisecond) // the colleague's socket registered before the publish
	a.hub.Publish([]tracker.Fix{fix("CEK2", cekeLat, cekeLon), fix("CEK", cekeLat, cekeLon)}, nil, []tracker.Alert{alert(otherAlert, "CEK2"), alert(cekAlert, "CEK")})
	a.hub.Publish([]tracker.Fix{fix("MARK", erenLat, erenLon)}, nil, nil)
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if seen := receiveUntil(func() []liveMsg { return readLive(t, ws) }, "MARK"); !seen["CEK"] || !seen["alert:CEK"] || seen["CEK2"] || seen["alert:CEK2"] {
		t.Errorf("socket of the patrol sent to CEK: %v, want CEK and its alert only", seen)
	}
	colleague.SetReadDeadline(time.Now().Add(10 * time.Second))
	if seen := receiveUntil(func() []liveMsg { return readLive(t, colleague) }, "MARK"); seen["CEK"] || seen["alert:CEK"] || seen["CEK2"] {
		t.Errorf("socket of the patrol not sent: %v", seen)
	}
	// A socket opened after the assignment knows it from the start.
	late := a.watchLive(a.tokens["patrol-erenhot"], map[string]any{"type": "subscribe", "all_alerts": true})
	time.Sleep(200 * time.Millisecond)
	a.hub.Publish(nil, nil, []tracker.Alert{alert(otherAlert, "CEK2"), alert(cekAlert, "CEK")})
	a.hub.Publish([]tracker.Fix{fix("MARK", erenLat, erenLon)}, nil, nil)
	late.SetReadDeadline(time.Now().Add(10 * time.Second))
	if seen := receiveUntil(func() []liveMsg { return readLive(t, late) }, "MARK"); !seen["alert:CEK"] || seen["alert:CEK2"] {
		t.Errorf("socket opened after the assignment: %v", seen)
	}
}

// TestTakeOver: the district takes over a port's order; the port hears of it, sees who and
// when, and may no longer cancel it. A port may not take over, nor anyone a district order
// or a closed one.
func TestTakeOver(t *testing.T) {
	a, _, _ := targetAPI(t)
	portLive := a.watchLive(a.tokens["command-erenhot"], map[string]any{"type": "subscribe", "vehicles": []string{"-"}})
	cekeLive := a.watchLive(a.tokens["command-ceke"], map[string]any{"type": "subscribe", "vehicles": []string{"-"}})
	var o, closed tracker.TargetOrder
	a.req("POST", "/api/v1/targets", a.tokens["command-erenhot"], map[string]any{"vehicle_id": "ERN", "reason": "risk", "action": "inspect_at_yard"}, 201, &o)
	a.req("POST", "/api/v1/targets", a.tokens["command-erenhot"], map[string]any{"vehicle_id": "ERN", "reason": "intelligence", "action": "inspect_at_yard"}, 201, &closed)
	a.do("DELETE", "/api/v1/targets/"+closed.ID, "command-erenhot", nil, 200)
	if o.Level != tracker.TargetLevelPort {
		t.Fatalf("a port's order at level %s", o.Level)
	}
	path := "/api/v1/targets/" + o.ID + "/takeover"
	a.do("POST", path, "command-ceke", nil, 403)
	a.do("POST", path, "command-erenhot", nil, 403)
	a.do("POST", path, "patrol-erenhot", nil, 403)
	a.do("POST", path, access.RoleCommand, map[string]string{"reason": strings.Repeat("长", 1000)}, 400)
	a.do("POST", path, access.RoleCommand, `{"reason":`, 400)
	a.do("POST", "/api/v1/targets/T-none/takeover", access.RoleCommand, nil, 404)
	a.do("POST", "/api/v1/targets/"+closed.ID+"/takeover", access.RoleCommand, nil, 409)

	var took tracker.TargetOrder
	a.req("POST", path, a.tokens[access.RoleCommand], map[string]string{"reason": "涉嫌团伙走私，由直属关统一指挥"}, 200, &took)
	if took.Level != tracker.TargetLevelDistrict || took.TakenOverBy != "command1" || took.TakenOverAt == nil || took.PortID != "port-erenhot" ||
		took.TakeOverNote != "涉嫌团伙走私，由直属关统一指挥" {
		t.Fatalf("taken over: %+v", took)
	}
	if n := waitNotice(t, portLive, "taken_over"); n.Order.ID != o.ID || n.Order.TakenOverBy != "command1" {
		t.Errorf("the port heard %+v", n.Order)
	}
	var seen tracker.TargetOrder
	a.req("GET", "/api/v1/targets/"+o.ID, a.tokens["command-erenhot"], nil, 200, &seen)
	if seen.Level != tracker.TargetLevelDistrict || seen.TakenOverBy != "command1" {
		t.Errorf("the port reads %+v", seen)
	}
	a.do("POST", path, access.RoleCommand, nil, 400) // the district's already
	a.do("DELETE", "/api/v1/targets/"+o.ID, "command-erenhot", nil, 403)

	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit?limit=1000", a.tokens[access.RoleAuditor], nil, 200, &audit)
	var ok, refused int
	for _, r := range audit.Records {
		if r.Action == "target.takeover" && r.Result == "ok" && r.Actor == "command1" && r.Object == "target:"+o.ID {
			ok++
		}
		if r.Action == "target.takeover" && r.Result == "refused" {
			refused++
		}
	}
	if ok != 1 || refused < 4 {
		t.Errorf("audit: %d take-overs, %d refusals", ok, refused)
	}
	// Ceke heard nothing of Erenhot's order: its next notice is its own.
	var co tracker.TargetOrder
	a.req("POST", "/api/v1/targets", a.tokens["command-ceke"], map[string]any{"vehicle_id": "CEK", "reason": "intelligence", "action": "intercept_now"}, 201, &co)
	if n := waitNotice(t, cekeLive, "fired"); n.Order.ID != co.ID {
		t.Errorf("Ceke heard first of order %s, want its own %s", n.Order.ID, co.ID)
	}
}

// TestEndedAssignmentEndsLiveSight performs the attack on a socket kept open: a patrol of Erenhot
// sent by the district to a Ceke alert keeps its socket after the order is cancelled. It hears of
// the cancellation and gets no further position of that truck nor update of that alert, as over
// REST. Sent again and the order cancelled on another server (whose notices do not reach this
// socket), the socket loses the truck and the alert at its next re-read of the session. Sent a
// third time and its inspection reported, the alert stays and the truck is no longer followed.
func TestEndedAssignmentEndsLiveSight(t *testing.T) {
	a, _, cekAlert := patrolAPI(t)
	now := time.Now().UTC()
	ws := a.watchLive(a.tokens["patrol-erenhot"], map[string]any{"type": "subscribe", "all_alerts": true})
	fix := func(id string, lat, lon float64) tracker.Fix {
		return tracker.Fix{VehicleID: id, DeviceID: id, Time: now, ReceivedAt: now, Lat: lat, Lon: lon, Valid: true}
	}
	update := tracker.Alert{ID: cekAlert, Type: tracker.AlertDetour, Severity: tracker.SeverityCritical, VehicleID: "CEK", Time: now, Lat: cekeLat, Lon: cekeLon}
	// seen publishes a position of the Ceke truck and an update of its alert, then a mark in
	// Erenhot, and returns what the socket got up to the mark.
	seen := func() map[string]bool {
		a.hub.Publish([]tracker.Fix{fix("CEK", cekeLat, cekeLon)}, nil, []tracker.Alert{update})
		a.hub.Publish([]tracker.Fix{fix("MARK", erenLat, erenLon)}, nil, nil)
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		return receiveUntil(func() []liveMsg { return readLive(t, ws) }, "MARK")
	}
	send := func() tracker.TargetOrder {
		t.Helper()
		var o tracker.TargetOrder
		a.req("POST", "/api/v1/targets", a.tokens[access.RoleCommand], map[string]any{"alert_id": cekAlert, "reason": "alert", "action": "inspect_next_crossing", "port_id": "port-ceke"}, 201, &o)
		a.do("POST", "/api/v1/assignments", access.RoleCommand, map[string]any{"order_id": o.ID, "user": "patrol-erenhot"}, 201)
		if s := seen(); !s["notice:assigned"] || !s["CEK"] || !s["alert:CEK"] {
			t.Fatalf("sent to the Ceke truck, the socket got %v", s)
		}
		return o
	}

	o := send()
	a.do("DELETE", "/api/v1/targets/"+o.ID, access.RoleCommand, map[string]any{"reason": "wrong truck"}, 200)
	if s := seen(); s["CEK"] || s["alert:CEK"] || !s["notice:cancelled"] {
		t.Errorf("after the cancellation the socket got %v, want the cancellation only", s)
	}
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", cekAlert), "patrol-erenhot", nil, 404)

	o = send()
	other := targeting.New(targeting.Config{Store: a.store})
	if _, err := other.Cancel(t.Context(), targeting.Actor{Username: "command1", Unit: tracker.UnitDistrict}, o.ID, "wrong truck"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		s := seen()
		if !s["CEK"] && !s["alert:CEK"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after a cancellation on another server the socket still gets %v", s)
		}
		time.Sleep(time.Second)
	}

	o = send()
	a.do("POST", "/api/v1/targets/"+o.ID+"/result", "patrol-erenhot", map[string]any{"found": false}, 200)
	if s := seen(); s["CEK"] || !s["alert:CEK"] || !s["notice:closed"] {
		t.Errorf("after the report the socket got %v, want the alert and the closing, not the truck", s)
	}
}
