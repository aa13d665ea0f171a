package mapui_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// targetAPI is unitAPI with targeting, a command user and a patrol of each of Erenhot and Ceke
// (tokens "command-erenhot", "patrol-erenhot", "command-ceke", "patrol-ceke"), the truck ERN
// registered with its plate, and no random draws unless share is given.
func targetAPI(t *testing.T, share ...float64) (a *api, ernAlert, cekAlert int64) {
	t.Helper()
	var svc *targeting.Service
	a = newAPI(t, func(c *mapui.Config) {
		cfg := targeting.Config{Store: c.Store.(targeting.Store), Audit: c.Access, Notify: c.Hub, Rand: func() float64 { return 0 }}
		if len(share) > 0 {
			cfg.RandomShare = share[0]
		}
		svc = targeting.New(cfg)
		svc.SetZones(district.Zones())
		c.Targets = svc
	})
	for _, u := range []struct{ name, role, unit string }{
		{"patrol-erenhot", access.RolePatrol, "port-erenhot"}, {"command-erenhot", access.RoleCommand, "port-erenhot"},
		{"patrol-ceke", access.RolePatrol, "port-ceke"}, {"command-ceke", access.RoleCommand, "port-ceke"},
	} {
		a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": u.name, "password": "Unit-Passw0rd-" + u.name, "role": u.role, "unit": u.unit}, 201)
		a.tokens[u.name] = a.login(u.name, "Unit-Passw0rd-"+u.name, 200)
	}
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "ERN", "plate": "蒙K·12345", "kind": "truck"}, 201)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "CEK", "plate": "蒙M54321", "kind": "truck"}, 201)
	now := time.Now().UTC().Add(-time.Minute)
	alert := func(id string, lat, lon float64) tracker.Alert {
		return tracker.Alert{Type: tracker.AlertCrossingMismatch, Severity: tracker.SeverityCritical, VehicleID: id, Time: now, Lat: lat, Lon: lon,
			DedupKey: "crossing_mismatch:" + id, Evidence: json.RawMessage(`{}`)}
	}
	b := &tracker.Batch{Alerts: []tracker.Alert{alert("ERN", erenLat, erenLon), alert("CEK", cekeLat, cekeLon)}}
	if err := a.store.Commit(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	return a, b.Alerts[0].ID, b.Alerts[1].ID
}

func pngPhoto(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		img.Set(i%8, i/8, color.RGBA{shade, 80, 40, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts data as the multipart file field (normally "photo") named filename.
func (a *api) upload(path, token, field, filename string, data []byte, want int) []byte {
	a.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile(field, filename)
	part.Write(data)
	w.Close()
	req, _ := http.NewRequest("POST", a.srv.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("upload %s as %s: %d, want %d: %s", filename, path, resp.StatusCode, want, b)
	}
	return b
}

func gateRead(a *api, plate string) (hold bool, orders []tracker.TargetOrder) {
	a.t.Helper()
	var out struct {
		Hold   bool
		Orders []tracker.TargetOrder
	}
	a.req("POST", "/api/v1/gate-events", a.tokens[access.RoleCommand], map[string]string{"gate_zone_id": "port-erenhot", "plate": plate, "direction": "in"}, 201, &out)
	return out.Hold, out.Orders
}

// TestTargetToInspection runs the loop through the API: the district targets the truck of a
// wrong-port crossing alert, its gate read is held, the Erenhot patrol hears of it, accepts,
// arrives, photographs and reports a finding; the order closes, the alert resolves and the hit
// table counts one hit.
func TestTargetToInspection(t *testing.T) {
	a, ernAlert, _ := targetAPI(t)
	patrolLive := a.watchLive(a.tokens["patrol-erenhot"], map[string]any{"type": "subscribe", "all_alerts": true})
	cekeLive := a.watchLive(a.tokens["patrol-ceke"], map[string]any{"type": "subscribe", "all_alerts": true})

	var o tracker.TargetOrder
	a.req("POST", "/api/v1/targets", a.tokens[access.RoleCommand], map[string]any{"alert_id": ernAlert, "reason": "alert", "action": "inspect_next_crossing",
		"note": "错口岸出境，下次过卡查验"}, 201, &o)
	if o.Status != tracker.TargetActive || o.VehicleID != "ERN" || o.Plate != "蒙K·12345" || o.Source != tracker.AlertCrossingMismatch ||
		o.Level != tracker.TargetLevelDistrict || o.PortID != "" || o.IssuedBy != "command1" {
		t.Fatalf("issued order = %+v", o)
	}
	// A gate read of another plate holds nothing; the truck's, read with the plate written
	// differently, is held with the order.
	if hold, _ := gateRead(a, "蒙M54321"); hold {
		t.Error("gate read of an untargeted truck: hold")
	}
	hold, orders := gateRead(a, "蒙K 12345")
	if !hold || len(orders) != 1 || orders[0].ID != o.ID || orders[0].Status != tracker.TargetFired || orders[0].FiredVia != targeting.ViaGateRead ||
		orders[0].PortID != "port-erenhot" {
		t.Fatalf("gate read of the targeted truck: hold %v, orders %+v", hold, orders)
	}
	if n := waitNotice(t, patrolLive, "fired"); n.Order.ID != o.ID {
		t.Errorf("the Erenhot patrol heard of order %s, want %s", n.Order.ID, o.ID)
	}

	var asg tracker.Assignment
	a.req("POST", "/api/v1/assignments", a.tokens[access.RoleCommand], map[string]any{"order_id": o.ID, "user": "patrol-erenhot"}, 201, &asg)
	if n := waitNotice(t, patrolLive, "assigned"); n.Assignment.ID != asg.ID {
		t.Errorf("the patrol heard of assignment %s, want %s", n.Assignment.ID, asg.ID)
	}
	var list struct{ Assignments []targeting.AssignmentView }
	a.req("GET", "/api/v1/assignments", a.tokens["patrol-erenhot"], nil, 200, &list)
	if len(list.Assignments) != 1 || list.Assignments[0].ID != asg.ID || list.Assignments[0].Order.Plate != "蒙K·12345" {
		t.Fatalf("the patrol's assignments = %+v", list.Assignments)
	}
	a.req("GET", "/api/v1/assignments", a.tokens["patrol-ceke"], nil, 200, &list)
	if len(list.Assignments) != 0 {
		t.Errorf("the Ceke patrol sees %d of Erenhot's assignments", len(list.Assignments))
	}
	a.do("POST", "/api/v1/assignments/"+asg.ID+"/accept", "patrol-ceke", nil, 404)
	a.do("POST", "/api/v1/assignments/"+asg.ID+"/arrive", "patrol-erenhot", nil, 409) // not accepted yet
	a.do("POST", "/api/v1/assignments/"+asg.ID+"/accept", "patrol-erenhot", nil, 200)
	a.do("POST", "/api/v1/assignments/"+asg.ID+"/accept", "patrol-erenhot", nil, 409)
	a.do("POST", "/api/v1/assignments/"+asg.ID+"/arrive", "patrol-erenhot", nil, 200)

	photo := pngPhoto(t, 200)
	var p tracker.Photo
	if err := json.Unmarshal(a.upload("/api/v1/targets/"+o.ID+"/photos", a.tokens["patrol-erenhot"], "photo", "IMG_0001.png", photo, 201), &p); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(photo)
	if p.SHA256 != hex.EncodeToString(sum[:]) || p.ContentType != "image/png" || p.Size != len(photo) {
		t.Errorf("photo = %+v, want sha256 %x of %d PNG bytes", p, sum, len(photo))
	}
	got := a.photo(o.ID, p.SHA256, a.tokens[access.RoleCommand], 200)
	if !bytes.Equal(got, photo) {
		t.Error("the photo served back differs from the one uploaded")
	}
	a.photo(o.ID, p.SHA256, a.tokens["patrol-ceke"], 404)

	var closed tracker.TargetOrder
	a.req("POST", "/api/v1/targets/"+o.ID+"/result", a.tokens["patrol-erenhot"], map[string]any{"found": true, "category": "undeclared_goods",
		"note": "车厢夹层藏匿未申报货物"}, 200, &closed)
	if closed.Status != tracker.TargetClosed || closed.Result == nil || !closed.Result.Found || closed.Result.By != "patrol-erenhot" ||
		len(closed.Photos) != 1 || closed.Photos[0] != p.SHA256 {
		t.Fatalf("closed order = %+v", closed)
	}
	var al tracker.Alert
	a.req("GET", fmt.Sprintf("/api/v1/alerts/%d", ernAlert), a.tokens[access.RoleCommand], nil, 200, &al)
	if al.Status != tracker.StatusResolved || al.ResolvedBy != "patrol-erenhot" || !strings.Contains(al.Note, "undeclared_goods") {
		t.Errorf("the order's alert = %s by %q (%q), want resolved by the patrol", al.Status, al.ResolvedBy, al.Note)
	}
	a.do("POST", "/api/v1/targets/"+o.ID+"/result", "patrol-erenhot", map[string]any{"found": false}, 409)
	if hold, _ := gateRead(a, "蒙K12345"); hold {
		t.Error("gate read after the inspection: still held")
	}
	a.req("GET", "/api/v1/assignments?all=true", a.tokens["patrol-erenhot"], nil, 200, &list)
	if len(list.Assignments) != 1 || list.Assignments[0].Status != tracker.AssignmentReported || list.Assignments[0].ReportedAt == nil {
		t.Errorf("assignment after the report = %+v", list.Assignments)
	}

	var stats struct {
		Rows     []targeting.HitRow
		Baseline targeting.HitRow
	}
	a.req("GET", "/api/v1/stats/hits", a.tokens[access.RoleCommand], nil, 200, &stats)
	month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	want := targeting.HitRow{Source: tracker.AlertCrossingMismatch, PortID: "port-erenhot", Month: month, Issued: 1, Inspected: 1, Found: 1, HitRate: 1}
	if len(stats.Rows) != 1 || stats.Rows[0] != want {
		t.Errorf("hit table = %+v, want [%+v]", stats.Rows, want)
	}
	a.req("GET", "/api/v1/stats/hits", a.tokens["command-ceke"], nil, 200, &stats)
	if len(stats.Rows) != 0 {
		t.Errorf("Ceke's command sees Erenhot's hits: %+v", stats.Rows)
	}

	// Every step is in the audit log, under who did it.
	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit?limit=1000", a.tokens[access.RoleAuditor], nil, 200, &audit)
	seen := map[string]string{}
	for _, r := range audit.Records {
		if r.Result == "ok" {
			seen[r.Action] = r.Actor
		}
	}
	for action, actor := range map[string]string{"target.issue": "command1", "target.fire": "system", "assignment.create": "command1",
		"assignment.accept": "patrol-erenhot", "assignment.arrive": "patrol-erenhot", "target.photo": "patrol-erenhot",
		"target.result": "patrol-erenhot", "alert.resolve": "patrol-erenhot"} {
		if seen[action] != actor {
			t.Errorf("audit %s by %q, want by %s", action, seen[action], actor)
		}
	}
	// Ceke's patrol heard nothing of Erenhot's order: the next thing on its socket is what a
	// Ceke order sends.
	var co tracker.TargetOrder
	a.req("POST", "/api/v1/targets", a.tokens["command-ceke"], map[string]any{"vehicle_id": "CEK", "reason": "intelligence", "action": "intercept_now"}, 201, &co)
	if n := waitNotice(t, cekeLive, "fired"); n.Order.ID != co.ID {
		t.Errorf("Ceke's patrol heard first of order %s, want its own %s", n.Order.ID, co.ID)
	}
}

func (a *api) photo(orderID, sha, token string, want int) []byte {
	a.t.Helper()
	return a.req("GET", "/api/v1/targets/"+orderID+"/photos/"+sha, token, nil, want, nil)
}

type notice struct {
	Type       string
	Kind       string
	Order      tracker.TargetOrder
	Assignment tracker.Assignment
}

// waitNotice reads ws until a targeting notice of kind arrives.
func waitNotice(t *testing.T, ws interface{ ReadJSON(any) error }, kind string) notice {
	t.Helper()
	for {
		var m struct {
			Type     string
			Messages []json.RawMessage
		}
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("waiting for a %s notice: %v", kind, err)
		}
		for _, raw := range m.Messages {
			var n notice
			if json.Unmarshal(raw, &n) == nil && n.Type == "target" && n.Kind == kind {
				return n
			}
		}
	}
}

// TestTargetAttacks performs what a careless or hostile client might: malformed orders,
// another port's orders, oversized and disguised photos, path-traversal names, replayed steps.
// Each is refused with a 4xx and a reason, and the server keeps serving.
func TestTargetAttacks(t *testing.T) {
	a, ernAlert, cekAlert := targetAPI(t)
	cmd := access.RoleCommand
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	far := time.Now().Add(100 * 24 * time.Hour).UTC().Format(time.RFC3339)
	for _, body := range []any{
		map[string]any{"vehicle_id": "ERN", "reason": "hunch", "action": "inspect_next_crossing"},
		map[string]any{"vehicle_id": "ERN", "reason": "risk", "action": "shoot"},
		map[string]any{"vehicle_id": "ERN", "reason": "risk", "action": "inspect_at_yard", "valid_until": past},
		map[string]any{"vehicle_id": "ERN", "reason": "risk", "action": "inspect_at_yard", "valid_until": far},
		map[string]any{"vehicle_id": "NOPE", "reason": "risk", "action": "inspect_at_yard"},
		map[string]any{"reason": "risk", "action": "inspect_at_yard"},
		map[string]any{"vehicle_id": "ERN", "plate": "蒙M54321", "reason": "risk", "action": "inspect_at_yard"},
		map[string]any{"vehicle_id": "ERN", "reason": "alert", "action": "inspect_at_yard"},
		map[string]any{"vehicle_id": "ERN", "reason": "risk", "alert_id": ernAlert, "action": "inspect_at_yard"},
		map[string]any{"vehicle_id": "CEK", "reason": "alert", "alert_id": ernAlert, "action": "inspect_at_yard"},
		map[string]any{"reason": "alert", "alert_id": 999999, "action": "inspect_at_yard"},
		map[string]any{"vehicle_id": "ERN", "reason": "risk", "action": "inspect_at_yard", "port_id": "yard-erenhot-1"},
		map[string]any{"vehicle_id": "ERN", "reason": "risk", "action": "inspect_at_yard", "note": strings.Repeat("长", 1000)},
		map[string]any{"vehicle_id": "ERN", "reason": "risk", "action": "inspect_at_yard", "level": "district"}, // unknown field
		`{"vehicle_id": "ERN",`,
	} {
		a.do("POST", "/api/v1/targets", cmd, body, 400)
	}
	// A patrol may not issue; a port may not issue for another port, nor on another port's alert.
	a.do("POST", "/api/v1/targets", access.RolePatrol, map[string]any{"vehicle_id": "ERN", "reason": "risk", "action": "inspect_at_yard"}, 403)
	a.do("POST", "/api/v1/targets", "command-erenhot", map[string]any{"vehicle_id": "CEK", "reason": "risk", "action": "inspect_at_yard", "port_id": "port-ceke"}, 403)
	a.do("POST", "/api/v1/targets", "command-erenhot", map[string]any{"reason": "alert", "alert_id": cekAlert, "action": "inspect_at_yard"}, 400)
	a.do("POST", "/api/v1/assignments", "command-erenhot", map[string]any{"alert_id": cekAlert, "team": "port-erenhot"}, 400)

	// Ceke's order is not Erenhot's to see, dispatch, photograph, report or cancel.
	var ceke, district tracker.TargetOrder
	a.req("POST", "/api/v1/targets", a.tokens["command-ceke"], map[string]any{"vehicle_id": "CEK", "reason": "risk", "action": "intercept_now"}, 201, &ceke)
	a.req("POST", "/api/v1/targets", a.tokens[cmd], map[string]any{"vehicle_id": "ERN", "reason": "risk", "action": "inspect_at_yard", "port_id": "port-erenhot"}, 201, &district)
	for _, who := range []string{"patrol-erenhot", "command-erenhot"} {
		a.do("GET", "/api/v1/targets/"+ceke.ID, who, nil, 404)
		a.upload("/api/v1/targets/"+ceke.ID+"/photos", a.tokens[who], "photo", "x.png", pngPhoto(t, 1), 404)
		a.do("POST", "/api/v1/targets/"+ceke.ID+"/result", who, map[string]any{"found": false}, 404)
	}
	var list struct{ Targets []tracker.TargetOrder }
	a.req("GET", "/api/v1/targets", a.tokens["command-erenhot"], nil, 200, &list)
	for _, o := range list.Targets {
		if o.PortID != "port-erenhot" {
			t.Errorf("Erenhot's command lists order %s of %q", o.ID, o.PortID)
		}
	}
	a.do("DELETE", "/api/v1/targets/"+ceke.ID, "command-erenhot", nil, 404)
	a.do("DELETE", "/api/v1/targets/"+district.ID, "command-erenhot", nil, 403) // the district's order
	a.do("POST", "/api/v1/assignments", "command-erenhot", map[string]any{"order_id": ceke.ID, "team": "port-erenhot"}, 404)
	a.do("POST", "/api/v1/assignments", "command-erenhot", map[string]any{"order_id": district.ID, "user": "patrol-ceke"}, 403)
	for _, body := range []any{
		map[string]any{"order_id": district.ID},
		map[string]any{"order_id": district.ID, "team": "port-erenhot", "user": "patrol-erenhot"},
		map[string]any{"order_id": district.ID, "team": "yard-erenhot-1"},
		map[string]any{"order_id": district.ID, "user": "command-erenhot"}, // no patrol
		map[string]any{"order_id": district.ID, "user": "nobody"},
		map[string]any{"alert_id": ernAlert, "order_id": district.ID, "team": "port-erenhot"},
	} {
		a.do("POST", "/api/v1/assignments", cmd, body, 400)
	}

	// Photos: too large, not an image, an image's name on HTML, traversal in the name.
	path := "/api/v1/targets/" + district.ID + "/photos"
	patrol := a.tokens["patrol-erenhot"]
	big := append(pngPhoto(t, 3), make([]byte, targeting.MaxPhotoBytes)...)
	a.upload(path, patrol, "photo", "big.png", big, 413)
	a.upload(path, patrol, "photo", "huge.png", append(big, make([]byte, 2<<20)...), 413)
	a.upload(path, patrol, "photo", "evil.png", []byte("<html><script>alert(1)</script></html>"), 400)
	a.upload(path, patrol, "photo", "a.jpg", []byte("MZ\x90\x00 an executable"), 400)
	a.upload(path, patrol, "photo", "empty.png", nil, 400)
	a.upload(path, patrol, "file", "wrong-field.png", pngPhoto(t, 4), 400)
	a.do("POST", path, "patrol-erenhot", `{"photo":"not multipart"}`, 400)
	var p tracker.Photo
	json.Unmarshal(a.upload(path, patrol, "photo", "../../../../etc/passwd", pngPhoto(t, 5), 201), &p)
	if len(p.SHA256) != 64 || strings.Contains(string(a.do("GET", "/api/v1/targets/"+district.ID, "patrol-erenhot", nil, 200)), "passwd") {
		t.Errorf("a photo named by a traversal path: %+v, or its name kept", p)
	}
	for _, sha := range []string{"..%2F..%2Fetc%2Fpasswd", strings.ToUpper(p.SHA256), "0000", strings.Repeat("0", 64)} {
		req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/targets/"+district.ID+"/photos/"+sha, nil)
		req.Header.Set("Authorization", "Bearer "+patrol)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("GET photo %q: %d, want 400 or 404", sha, resp.StatusCode)
		}
	}
	a.photo(ceke.ID, p.SHA256, a.tokens["command-ceke"], 404) // Erenhot's photo under Ceke's order

	// Results: a finding needs its category; nothing found has none; only once.
	for _, body := range []any{
		map[string]any{"found": true},
		map[string]any{"found": true, "category": "none"},
		map[string]any{"found": false, "category": "prohibited_items"},
		map[string]any{"found": true, "category": "undeclared_goods", "note": strings.Repeat("x", 2001)},
		map[string]any{"found": "yes"},
	} {
		a.do("POST", "/api/v1/targets/"+district.ID+"/result", "patrol-erenhot", body, 400)
	}
	a.do("POST", "/api/v1/targets/"+district.ID+"/result", "patrol-erenhot", map[string]any{"found": false}, 200)
	a.do("POST", "/api/v1/targets/"+district.ID+"/result", "patrol-erenhot", map[string]any{"found": true, "category": "prohibited_items"}, 409)
	a.upload(path, patrol, "photo", "late.png", pngPhoto(t, 6), 409)
	a.do("DELETE", "/api/v1/targets/"+district.ID, cmd, nil, 409)
	a.do("DELETE", "/api/v1/targets/"+ceke.ID, "command-ceke", map[string]string{"reason": "情报有误"}, 200)
	a.do("DELETE", "/api/v1/targets/"+ceke.ID, "command-ceke", nil, 409)
	a.do("GET", "/api/v1/targets?status=lost", cmd, nil, 400)
	a.do("GET", "/api/v1/stats/hits?from=yesterday", cmd, nil, 400)

	// The refusals are audited too.
	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit?limit=1000", a.tokens[access.RoleAuditor], nil, 200, &audit)
	refused := 0
	for _, r := range audit.Records {
		if strings.HasPrefix(r.Action, "target.") && r.Result == "refused" {
			refused++
		}
	}
	if refused < 10 {
		t.Errorf("%d refused targeting actions audited, want every one", refused)
	}
	a.do("GET", "/healthz", "", nil, 200)
}
