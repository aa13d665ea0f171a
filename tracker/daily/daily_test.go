package daily_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb/planar"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/daily"
	"github.com/borderwatch/borderwatch/tracker/risk"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// day is 2026-03-15 in China, 2026-03-14 16:00 UTC.
var day = time.Date(2026, 3, 15, 0, 0, 0, 0, tracker.ChinaTime)

func yardPoint(t *testing.T, zones []geofence.Zone, id string) (lat, lon float64) {
	t.Helper()
	for _, z := range zones {
		if z.ID == id {
			c, _ := planar.CentroidArea(z.Geometry)
			return c.Lat(), c.Lon()
		}
	}
	t.Fatalf("no zone %s in the default district", id)
	return 0, 0
}

// TestMake plants a day at Erenhot next to a control truck and a day before, and reads the
// report's figures back.
func TestMake(t *testing.T) {
	ctx := t.Context()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	zones, err := st.PutZones(ctx, district.Zones())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []tracker.Vehicle{
		{ID: "v-yard", Plate: "蒙K12345", Kind: tracker.KindTruck},
		{ID: "v-control", Plate: "蒙K54321", Kind: tracker.KindTruck},
		{ID: "v-silent", Plate: "蒙K00001", Kind: tracker.KindTruck},
		{ID: "v-car", Plate: "蒙H88888", Kind: tracker.KindResidentCar},
	} {
		if err := st.CreateVehicle(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []tracker.Device{{ID: "13800000001", VehicleID: "v-yard"}, {ID: "13800000002", VehicleID: "v-control"},
		{ID: "13800000003", VehicleID: "v-silent"}, {ID: "13800000004", VehicleID: "v-car"}} {
		d.Protocol = tracker.ProtocolJT808
		if err := st.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	now := day.Add(10 * time.Hour)
	yLat, yLon := yardPoint(t, zones, "yard-erenhot-1")
	fix := func(dev, veh string, at time.Time, lat, lon float64) tracker.Fix {
		return tracker.Fix{VehicleID: veh, DeviceID: dev, Protocol: tracker.ProtocolJT808, Time: at, ReceivedAt: at, Lat: lat, Lon: lon, Valid: true}
	}
	cross := func(veh, port, dir string, at time.Time) tracker.Event {
		return tracker.Event{Type: tracker.EventBorderCross, Time: at, VehicleID: veh, Lat: 43.65, Lon: 111.97,
			Attrs: map[string]any{"port_zone_id": port, "direction": dir}}
	}
	corridor := "corridor-erenhot-yard1"
	b := &tracker.Batch{
		Fixes: []tracker.Fix{
			fix("13800000001", "v-yard", now.Add(-time.Minute), yLat, yLon),
			fix("13800000002", "v-control", now.Add(-time.Minute), 43.0, 112.5), // on the road, not in a yard
			fix("13800000003", "v-silent", now.Add(-3*time.Hour), 43.0, 112.5),
		},
		Events: []tracker.Event{
			cross("v-yard", "port-erenhot", geofence.Inbound, day.Add(9*time.Hour)),
			cross("v-control", "port-erenhot", geofence.Inbound, day.Add(9*time.Hour+time.Minute)),
			cross("v-control", "port-erenhot", geofence.Outbound, day.Add(2*time.Hour)),
			cross("v-car", "port-ceke", geofence.Inbound, day.Add(-time.Minute)), // the day before
		},
		Alerts: []tracker.Alert{
			{Type: tracker.AlertDetour, Severity: tracker.SeverityWarning, VehicleID: "v-yard", Time: day.Add(8 * time.Hour), UpdatedAt: day.Add(8 * time.Hour), ZoneID: &corridor, DedupKey: "a"},
			{Type: tracker.AlertDetour, Severity: tracker.SeverityWarning, VehicleID: "v-yard", Time: day.AddDate(0, 0, -3), UpdatedAt: day.AddDate(0, 0, -3), ZoneID: &corridor, DedupKey: "b"},
			{Type: tracker.AlertBorderCrossingOutsidePort, Severity: tracker.SeverityCritical, VehicleID: "v-yard", Time: day.Add(7 * time.Hour), UpdatedAt: day.Add(7 * time.Hour), DedupKey: "c"},
		},
	}
	if err := st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	inspected := day.Add(9*time.Hour + 30*time.Minute)
	for i, found := range []bool{true, false} {
		o := tracker.TargetOrder{ID: []string{"o1", "o2"}[i], VehicleID: "v-yard", Reason: tracker.TargetReasonRisk, Source: tracker.TargetReasonRisk,
			Action: tracker.TargetInspectNextCrossing, Level: tracker.TargetLevelDistrict, PortID: "port-erenhot", IssuedBy: "chief",
			CreatedAt: day.Add(-time.Hour), ValidUntil: day.Add(48 * time.Hour), Status: tracker.TargetClosed,
			Result: &tracker.InspectionResult{Found: found, Category: tracker.FindingNone, By: "officer", At: inspected}}
		if err := st.CreateTarget(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	scorer := risk.New(risk.Config{Now: func() time.Time { return now }})
	if err := scorer.Load(ctx, st); err != nil {
		t.Fatal(err)
	}

	r, err := daily.Make(ctx, st, scorer, day, now, tracker.UnitDistrict)
	if err != nil {
		t.Fatal(err)
	}
	if r.Date != "2026-03-15" || len(r.TrendDates) != daily.TrendDays || r.TrendDates[daily.TrendDays-1] != r.Date {
		t.Fatalf("date %s, trend dates %v", r.Date, r.TrendDates)
	}
	d := r.District
	if d.CrossingsIn != 2 || d.CrossingsOut != 1 || d.TrucksInYards != 1 || d.Inspections != 2 || d.Hits != 1 {
		t.Errorf("district: %+v, want 2 in, 1 out (the day before not counted), 1 truck in a yard (the control on the road not), 2 inspections, 1 hit", d)
	}
	var erenhot, ceke daily.Section
	for _, p := range r.Ports {
		switch p.PortID {
		case "port-erenhot":
			erenhot = p
		case "port-ceke":
			ceke = p
		}
	}
	if erenhot.Name != "二连浩特口岸" || erenhot.CrossingsIn != 2 || erenhot.TrucksInYards != 1 || erenhot.Hits != 1 {
		t.Errorf("Erenhot: %+v", erenhot)
	}
	if ceke.CrossingsIn != 0 || ceke.TrucksInYards != 0 || len(ceke.Alerts) != 0 {
		t.Errorf("Ceke, where nothing happened on the day: %+v", ceke)
	}
	// The detour on a corridor counts for its port; the crossing outside every port for the district only.
	var detour daily.AlertTrend
	for _, a := range erenhot.Alerts {
		if a.Type == tracker.AlertDetour {
			detour = a
		}
	}
	if detour.Name != "偏离线路" || detour.Count != 1 || detour.Trend[daily.TrendDays-4] != 1 || sum(detour.Trend) != 2 {
		t.Errorf("Erenhot's detours: %+v, want 1 on the day and 1 three days before", detour)
	}
	if len(erenhot.Alerts) != 1 || len(d.Alerts) != 2 {
		t.Errorf("alerts: Erenhot %+v, district %+v", erenhot.Alerts, d.Alerts)
	}
	if len(r.TopRisk) != 1 || r.TopRisk[0].Plate != "蒙K12345" || !slices.Contains(r.TopRisk[0].Reasons, "30天内非口岸越境 1 次") {
		t.Errorf("top risk: %+v", r.TopRisk)
	}
	var problems []string
	for _, p := range r.Devices {
		problems = append(problems, p.Plate+" "+p.Problem)
	}
	if want := []string{"蒙H88888 " + daily.ProblemNeverHeard, "蒙K00001 " + daily.ProblemSilent}; !slices.Equal(problems, want) {
		t.Errorf("device problems %v, want %v (the reporting trucks not listed)", problems, want)
	}

	scorer.SetGroups(map[string]risk.Membership{"v-car": {GroupID: "v-car", Others: []string{"v-yard"}, Trips: 4, Meetings: 2}})
	scorer.SetOffenders(map[string]risk.Offence{"v-control": {Findings: 1, Last: day.Add(-48 * time.Hour), Category: tracker.FindingUndeclaredGoods, Via: "v-yard", Card: "CARD-9"}})
	scorer.SetAnts(map[string]risk.Ants{"v-silent": {Week: 16, OwnWeekly: 3, PeerMedian: 3, Z: 8.8}})
	grouped, err := daily.Make(ctx, st, scorer, day, now, tracker.UnitDistrict)
	if err != nil {
		t.Fatal(err)
	}
	if len(grouped.TopRisk) != 4 || !slices.Equal(grouped.TopRisk[3].Reasons, []string{"蚂蚁搬家：7天内过境 16 次，此前3周每周约 3.0 次，边民车辆中位数 3.0 次（稳健z值 8.8）"}) {
		t.Errorf("ant moving's reasons: %+v", grouped.TopRisk)
	}
	if len(grouped.TopRisk) != 4 || grouped.TopRisk[1].Reasons[1] != "司机卡 CARD-9 曾用于蒙K12345，该车此前查验查获 1 次，最近一次 2026-03-13（未申报货物）" {
		t.Errorf("an offender's reasons: %+v", grouped.TopRisk)
	}
	if len(grouped.TopRisk) != 4 || grouped.TopRisk[2].Plate != "蒙H88888" || !slices.Equal(grouped.TopRisk[2].Reasons, []string{"7天内跨境 1 次", "与蒙K12345结伙同行，30天内同行 4 次、停车会面 2 次"}) {
		t.Errorf("a group member's reasons: %+v", grouped.TopRisk)
	}
	// The same facts, structured, vehicles by plate: what a screen words in English.
	if len(grouped.TopRisk) == 4 {
		if o := grouped.TopRisk[1].Offence; o == nil || o.ViaPlate != "蒙K12345" || o.Card != "CARD-9" || o.Findings != 1 || o.Category != tracker.FindingUndeclaredGoods {
			t.Errorf("offence facts: %+v", o)
		}
		if g := grouped.TopRisk[2].Group; g == nil || !slices.Equal(g.Plates, []string{"蒙K12345"}) || g.Trips != 4 || grouped.TopRisk[2].Crossings != 1 {
			t.Errorf("group facts: %+v, crossings %d", g, grouped.TopRisk[2].Crossings)
		}
		if a := grouped.TopRisk[3].Ants; a == nil || a.Week != 16 {
			t.Errorf("ant facts: %+v", a)
		}
	}
	if r.TopRisk[0].Alerts[tracker.AlertBorderCrossingOutsidePort] != 1 {
		t.Errorf("alert facts: %+v", r.TopRisk[0].Alerts)
	}

	port, err := daily.Make(ctx, st, scorer, day, now, "port-ceke")
	if err != nil {
		t.Fatal(err)
	}
	if len(port.Ports) != 1 || port.Ports[0].PortID != "port-ceke" || port.District.Name != "" {
		t.Errorf("a Ceke user's report has %d ports and district %q: want Ceke's alone", len(port.Ports), port.District.Name)
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
