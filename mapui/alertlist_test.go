package mapui_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

type alertPage struct {
	Alerts []struct {
		tracker.Alert
		Plate       string `json:"plate"`
		VehicleKind string `json:"vehicle_kind"`
	} `json:"alerts"`
	NextOffset int `json:"next_offset"`
}

// alertListAPI has two registered trucks and one unregistered vehicle with five alerts, a
// minute apart, newest last: at Erenhot's port, on a declaration through Ceke, on Ceke's
// corridor, a critical one outside every port and one of the unregistered vehicle.
func alertListAPI(t *testing.T) (*api, time.Time) {
	t.Helper()
	a := newAPI(t)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "t-1", "plate": "蒙B·00001", "kind": "truck"}, 201)
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "t-2", "plate": "蒙K 12345", "kind": "truck"}, 201)
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	if err := a.store.CreateDeclaration(t.Context(), tracker.Declaration{ID: "d-ceke", VehicleID: "t-2", Direction: tracker.Inbound,
		PortZoneID: "port-ceke", ValidFrom: t0, ValidTo: t0.Add(time.Hour), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	zone := func(s string) *string { return &s }
	mk := func(i int, veh, typ, sev string, zoneID *string, decl *string) tracker.Alert {
		return tracker.Alert{Type: typ, Severity: sev, VehicleID: veh, Time: t0.Add(time.Duration(i) * time.Minute), ZoneID: zoneID,
			DeclarationID: decl, DedupKey: "k" + string(rune('a'+i)), Evidence: json.RawMessage(`{}`)}
	}
	b := &tracker.Batch{Alerts: []tracker.Alert{
		mk(0, "t-1", tracker.AlertGateMismatch, tracker.SeverityWarning, zone("port-erenhot"), nil),
		mk(1, "t-2", tracker.AlertSealOpened, tracker.SeverityCritical, nil, zone("d-ceke")),
		mk(2, "t-2", tracker.AlertDetour, tracker.SeverityWarning, zone("corridor-ceke-yard1"), nil),
		mk(3, "t-1", tracker.AlertBorderCrossingOutsidePort, tracker.SeverityCritical, zone("cn-mn-border"), nil),
		mk(4, "x-9", tracker.AlertSignalLost, tracker.SeverityWarning, nil, nil),
	}}
	if err := a.store.Commit(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	return a, t0
}

func TestAlertListFilters(t *testing.T) {
	a, t0 := alertListAPI(t)
	tests := []struct {
		name, query string
		want        []string // alert types, newest first
	}{
		{"all", "", []string{"signal_lost", "border_crossing_outside_port", "detour", "seal_opened", "gate_mismatch"}},
		{"severity", "severity=critical", []string{"border_crossing_outside_port", "seal_opened"}},
		{"plate, any part, without separators", "plate=b0000", []string{"border_crossing_outside_port", "gate_mismatch"}},
		{"plate with a space as registered", "plate=" + url.QueryEscape("蒙K 123"), []string{"detour", "seal_opened"}},
		{"plate nobody has", "plate=ZZ999", nil},
		{"port: its corridor and a declaration through it", "port=port-ceke", []string{"detour", "seal_opened"}},
		{"port: the port zone itself", "port=port-erenhot", []string{"gate_mismatch"}},
		{"type and status", "type=detour&status=open", []string{"detour"}},
		{"period", "from=" + t0.Add(time.Minute).Format(time.RFC3339) + "&to=" + t0.Add(3*time.Minute).Format(time.RFC3339), []string{"detour", "seal_opened"}},
		{"all filters", "severity=warning&plate=" + url.QueryEscape("蒙K") + "&port=port-ceke", []string{"detour"}},
	}
	for _, tt := range tests {
		var p alertPage
		a.req("GET", "/api/v1/alerts?"+tt.query, a.tokens[access.RoleInvestigator], nil, 200, &p)
		var got []string
		for _, x := range p.Alerts {
			got = append(got, x.Type)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAlertListPlateAndPages(t *testing.T) {
	a, _ := alertListAPI(t)
	var seen []string
	offset, pages := 0, 0
	for {
		var p alertPage
		a.req("GET", "/api/v1/alerts?limit=2&offset="+itoa(int64(offset)), a.tokens[access.RoleCommand], nil, 200, &p)
		pages++
		for _, x := range p.Alerts {
			seen = append(seen, x.DedupKey)
			switch x.VehicleID {
			case "t-1":
				if x.Plate != "蒙B·00001" || x.VehicleKind != "truck" {
					t.Errorf("alert of t-1: plate %q kind %q", x.Plate, x.VehicleKind)
				}
			case "x-9":
				if x.Plate != "" {
					t.Errorf("unregistered vehicle has plate %q", x.Plate)
				}
			}
		}
		if p.NextOffset == 0 {
			break
		}
		if p.NextOffset != offset+2 || pages > 5 {
			t.Fatalf("next_offset %d after offset %d", p.NextOffset, offset)
		}
		offset = p.NextOffset
	}
	if want := []string{"ke", "kd", "kc", "kb", "ka"}; !slices.Equal(seen, want) || pages != 3 {
		t.Errorf("pages gave %v in %d pages, want %v in 3", seen, pages, want)
	}
	// The detail carries the plate too.
	var p alertPage
	a.req("GET", "/api/v1/alerts?plate=00001&limit=1", a.tokens[access.RoleCommand], nil, 200, &p)
	var one struct {
		Plate string `json:"plate"`
	}
	a.req("GET", "/api/v1/alerts/"+itoa(p.Alerts[0].ID), a.tokens[access.RolePatrol], nil, 200, &one)
	if one.Plate != "蒙B·00001" {
		t.Errorf("alert detail plate %q", one.Plate)
	}
}

// TestAlertListBadFilters: each wrong filter is a 400 with its reason, and the server answers on.
func TestAlertListBadFilters(t *testing.T) {
	a, _ := alertListAPI(t)
	for _, q := range []string{
		"severity=loud",
		"severity=" + url.QueryEscape("critical' OR '1'='1"),
		"port=corridor-ceke-yard1", // a zone, not a port
		"port=port-nowhere",
		"port=" + url.QueryEscape("port-ceke' OR 1=1 --"),
		"offset=-1",
		"offset=x",
		"offset=99999999",
		"limit=0",
		"plate=" + url.QueryEscape("蒙B0000100000000000000000000000000000"),
		"type=" + url.QueryEscape(string(make([]byte, 65))),
	} {
		a.do("GET", "/api/v1/alerts?"+q, access.RoleCommand, nil, 400)
	}
	// A plate made of separators only matches nothing rather than everything.
	var p alertPage
	a.req("GET", "/api/v1/alerts?plate="+url.QueryEscape(" · "), a.tokens[access.RoleCommand], nil, 200, &p)
	if len(p.Alerts) != 0 {
		t.Errorf("separator-only plate matched %d alerts", len(p.Alerts))
	}
	a.do("GET", "/api/v1/alerts", access.RoleCommand, nil, 200)
}
