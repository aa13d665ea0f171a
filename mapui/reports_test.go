package mapui_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// get fetches path as role and returns the answer whatever its status.
func (a *api) get(path, role string) (*http.Response, string) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.tokens[role])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestDailyReport reads one day in the three formats: the figures, Chinese labels, China
// time, plates and port names, never a vehicle's or a port's id; a plate made to be a
// spreadsheet formula stays text.
func TestDailyReport(t *testing.T) {
	a := newAPI(t)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "veh-ern-1", "plate": "蒙K·12345", "kind": "truck"}, 201)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "veh-formula", "plate": "=HYPERLINK(\"x\")", "kind": "truck"}, 201)
	now := time.Now()
	today := now.In(tracker.ChinaTime).Format(time.DateOnly)
	dayStart, _ := time.ParseInLocation(time.DateOnly, today, tracker.ChinaTime)
	at := dayStart.Add(now.Sub(dayStart) / 2)
	b := &tracker.Batch{
		Events: []tracker.Event{{Type: tracker.EventBorderCross, Time: at, VehicleID: "veh-ern-1", Lat: erenLat, Lon: erenLon,
			Attrs: map[string]any{"port_zone_id": "port-erenhot", "direction": "inbound"}}},
		Alerts: []tracker.Alert{
			{Type: tracker.AlertBorderCrossingOutsidePort, Severity: tracker.SeverityCritical, VehicleID: "veh-ern-1", Time: at, DedupKey: "a1"},
			{Type: tracker.AlertBorderCrossingOutsidePort, Severity: tracker.SeverityCritical, VehicleID: "veh-formula", Time: at, DedupKey: "a2"},
		},
	}
	if err := a.store.Commit(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if err := a.risk.Load(t.Context(), a.store); err != nil {
		t.Fatal(err)
	}

	var r struct {
		Date     string
		District struct {
			CrossingsIn int `json:"crossings_in"`
			Alerts      []struct {
				Name  string
				Count int
				Trend []int
			}
		}
		TopRisk []struct{ Plate string } `json:"top_risk"`
	}
	a.req("GET", "/api/v1/reports/daily?date="+today, a.tokens[access.RoleCommand], nil, 200, &r)
	if r.Date != today || r.District.CrossingsIn != 1 || len(r.District.Alerts) != 1 || r.District.Alerts[0].Name != "非口岸越境" ||
		r.District.Alerts[0].Count != 2 || len(r.District.Alerts[0].Trend) != 30 || len(r.TopRisk) != 2 {
		t.Fatalf("JSON report: %+v", r)
	}

	resp, page := a.get("/api/v1/reports/daily?format=html&date="+today, access.RoleCommand)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("HTML report: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'sha256-") || strings.Contains(csp, "script-src") {
		t.Errorf("HTML report's policy %q: want its style by hash and no script", csp)
	}
	if i, j := strings.Index(page, "<style>"), strings.Index(page, "</style>"); i < 0 || j < i {
		t.Error("HTML report has no style")
	} else if sum := sha256.Sum256([]byte(page[i+len("<style>") : j])); !strings.Contains(resp.Header.Get("Content-Security-Policy"), base64.StdEncoding.EncodeToString(sum[:])) {
		t.Error("the browser would refuse the report's style: its hash is not in the policy")
	}
	for _, want := range []string{"监管日报 " + today, "二连浩特口岸", "全关区", "蒙K·12345", "非口岸越境", "30天内非口岸越境 1 次", "北京时间", "&#34;"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	for _, never := range []string{"veh-ern-1", "port-erenhot", "border_crossing_outside_port", "=HYPERLINK(\"x\")"} {
		if strings.Contains(page, never) {
			t.Errorf("HTML report shows %q", never)
		}
	}

	resp, text := a.get("/api/v1/reports/daily?format=csv&date="+today, access.RoleCommand)
	if resp.StatusCode != 200 || !strings.HasPrefix(text, "\ufeff") {
		t.Fatalf("CSV report: %d, starts %q", resp.StatusCode, text[:min(10, len(text))])
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(text, "\ufeff")))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var plates []string
	for _, row := range rows {
		if len(row) == 5 && row[0] != "序号" {
			plates = append(plates, row[1])
		}
	}
	if len(plates) != 2 || !strings.Contains(strings.Join(plates, " "), "'=HYPERLINK") || rows[1][0] != "口岸" {
		t.Errorf("CSV plates %q (a formula must start with '), header %q", plates, rows[1])
	}
	if strings.Contains(text, "veh-ern-1") || strings.Contains(text, "port-erenhot") {
		t.Errorf("CSV shows an internal id:\n%s", text)
	}

	// A day with nothing: zeros, no error.
	var empty struct {
		District struct {
			CrossingsIn int `json:"crossings_in"`
		}
	}
	a.req("GET", "/api/v1/reports/daily?date=2020-01-01", a.tokens[access.RoleCommand], nil, 200, &empty)
	if empty.District.CrossingsIn != 0 {
		t.Errorf("2020-01-01: %+v", empty)
	}

	// Attacks: bad dates and formats are refused with a reason.
	for _, q := range []string{"date=2026-13-01", "date=yesterday", "date=2026-01-01'%20OR%201=1", "date=9999-01-01", "format=xml", "format=html%00"} {
		body := a.do("GET", "/api/v1/reports/daily?"+q, access.RoleCommand, nil, 400)
		var e struct{ Error struct{ Message string } }
		if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
			t.Errorf("%s: %s", q, body)
		}
	}
}
