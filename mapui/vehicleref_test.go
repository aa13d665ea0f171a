package mapui_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"mime"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestVehicleByPlate: a vehicle and its track are found by the plate as an officer types it
// (spaced, lower case, without the dot), as well as by the id; a name that is neither is a 404
// that says so, a plate two vehicles share a 409, and an unregistered vehicle's track is still
// found by its id.
func TestVehicleByPlate(t *testing.T) {
	a := newAPI(t)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "truck-p1", "plate": "蒙B·00001", "kind": "truck"}, 201)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "truck-p2", "plate": "蒙B00002", "kind": "truck"}, 201)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "truck-p3", "plate": "蒙b 00002", "kind": "truck"}, 201)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var b tracker.Batch
	for i := range 5 {
		b.Fixes = append(b.Fixes, tracker.Fix{VehicleID: "truck-p1", DeviceID: "D1", Time: t0.Add(time.Duration(i) * time.Minute), ReceivedAt: t0.Add(time.Duration(i) * time.Minute),
			Lat: 43.6, Lon: 111.9 + float64(i)*0.001, SpeedKmh: 40, Valid: true})
	}
	b.Fixes = append(b.Fixes, tracker.Fix{VehicleID: "unreg-9", DeviceID: "unreg-9", Time: t0, ReceivedAt: t0, Lat: 43.6, Lon: 111.9, Valid: true})
	if err := a.store.Commit(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	period := "from=" + t0.Format(time.RFC3339) + "&to=" + t0.Add(time.Hour).Format(time.RFC3339)

	for _, ref := range []string{"truck-p1", "蒙B·00001", "蒙B00001", "蒙b 00001", " 蒙B00001 "} {
		var v struct{ ID, Plate string }
		a.req("GET", "/api/v1/vehicles/"+url.PathEscape(ref), a.tokens[access.RolePatrol], nil, 200, &v)
		if v.ID != "truck-p1" || v.Plate != "蒙B·00001" {
			t.Errorf("GET vehicle %q: %+v, want truck-p1", ref, v)
		}
		var tr struct {
			VehicleID string `json:"vehicle_id"`
			Fixes     []tracker.Fix
		}
		a.req("GET", "/api/v1/vehicles/"+url.PathEscape(ref)+"/track?"+period, a.tokens[access.RoleInvestigator], nil, 200, &tr)
		if tr.VehicleID != "truck-p1" || len(tr.Fixes) != 5 {
			t.Errorf("track %q: vehicle %q with %d fixes, want truck-p1 with 5", ref, tr.VehicleID, len(tr.Fixes))
		}
	}

	// Attacks and mistakes: each a 4xx with a reason, the server answering the next request.
	for ref, want := range map[string]struct {
		status int
		code   string
	}{
		"蒙B99999":                 {404, "unknown_vehicle"},
		"' OR 1=1 --":             {404, "unknown_vehicle"},
		"%":                       {404, "unknown_vehicle"},
		"蒙B00002":                 {409, "plate_shared"},
		strings.Repeat("蒙", 5000): {404, "unknown_vehicle"},
	} {
		for _, path := range []string{"/api/v1/vehicles/" + url.PathEscape(ref), "/api/v1/vehicles/" + url.PathEscape(ref) + "/track?" + period} {
			body := a.req("GET", path, a.tokens[access.RoleInvestigator], nil, want.status, nil)
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(body, &e) != nil || e.Error.Code != want.code || e.Error.Message == "" {
				t.Errorf("GET %.80s: %s, want %s with a reason", path, body, want.code)
			}
		}
	}
	// A device admitted unknown reports as a vehicle of its own id: its track is there.
	var tr struct{ Fixes []tracker.Fix }
	a.req("GET", "/api/v1/vehicles/unreg-9/track?"+period, a.tokens[access.RoleInvestigator], nil, 200, &tr)
	if len(tr.Fixes) != 1 {
		t.Errorf("unregistered vehicle: %d fixes, want 1", len(tr.Fixes))
	}
	// A registered vehicle with no fixes in the period is an empty track, not a 404.
	a.req("GET", "/api/v1/vehicles/truck-p2/track?"+period, a.tokens[access.RoleInvestigator], nil, 200, &tr)
	if len(tr.Fixes) != 0 {
		t.Errorf("truck-p2: %d fixes, want none", len(tr.Fixes))
	}
}

// TestCSVExportChinese: the CSV opens in Excel in Chinese: a UTF-8 byte order mark, a Chinese
// header, times in China time with the date, the plate in each row and in the file name.
func TestCSVExportChinese(t *testing.T) {
	a := newAPI(t)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "truck-c1", "plate": "蒙B00007", "kind": "truck"}, 201)
	t0 := time.Date(2026, 11, 1, 23, 30, 5, 0, time.UTC) // 07:30:05 on 2 November in China
	b := tracker.Batch{Fixes: []tracker.Fix{{VehicleID: "truck-c1", DeviceID: "D7", Time: t0, ReceivedAt: t0.Add(3 * time.Second), Lat: 43.6, Lon: 111.9, SpeedKmh: 52.5, Valid: true}}}
	if err := a.store.Commit(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	q := "/api/v1/vehicles/" + url.PathEscape("蒙B00007") + "/track?format=csv&from=" + t0.Add(-30*time.Minute).Format(time.RFC3339) + "&to=" + t0.Add(30*time.Minute).Format(time.RFC3339)
	body, header := export(t, a, q)
	if !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
		t.Errorf("no UTF-8 byte order mark: % x", body[:min(len(body), 8)])
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v: %s", len(rows), err, body)
	}
	if got := strings.Join(rows[0][:5], ","); got != "车牌,车辆编号,终端编号,定位时间（北京时间）,接收时间（北京时间）" {
		t.Errorf("header %q", got)
	}
	if r := rows[1]; r[0] != "蒙B00007" || r[3] != "2026-11-02 07:30:05" || r[4] != "2026-11-02 07:30:08" || r[7] != "52.5" || r[10] != "是" || r[11] != "否" {
		t.Errorf("row %q", r)
	}
	_, params, err := mime.ParseMediaType(header.Get("Content-Disposition"))
	if err != nil || params["filename"] != "蒙B00007_20261102-0700_20261102-0800.csv" {
		t.Errorf("file name %q (%v)", params["filename"], err)
	}
}
