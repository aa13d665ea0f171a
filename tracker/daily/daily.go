// Package daily makes the command center's morning picture of one China day: per port and for
// the district, the border crossings in and out, the trucks in the yards, the alerts by type
// with their 30-day trend, the inspections and their hits; and, as of the report's making, the
// top risk vehicles and the devices that are silent or broken.
package daily

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/risk"
)

const (
	// TrendDays is how many days an alert type's trend covers, the report's day the last.
	TrendDays = 30
	// TopRisk is how many risk vehicles the report lists.
	TopRisk = 20
	// SilentAfter is how long without a position makes a device silent.
	SilentAfter = time.Hour
	// inspectionLookback is how long before the day an order may have been issued and still be
	// inspected on the day.
	inspectionLookback = 60 * 24 * time.Hour
)

// Store is what a report reads.
type Store interface {
	CrossingCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error)
	AlertCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error)
	LatestFixes(ctx context.Context) ([]tracker.Fix, error)
	Vehicles(ctx context.Context) ([]tracker.Vehicle, error)
	Devices(ctx context.Context) ([]tracker.Device, error)
	Zones(ctx context.Context) ([]geofence.Zone, error)
	Alerts(ctx context.Context, q tracker.AlertQuery) ([]tracker.Alert, error)
	Targets(ctx context.Context, q tracker.TargetQuery) ([]tracker.TargetOrder, error)
}

// Ranker ranks vehicles for inspection (risk.Scorer).
type Ranker interface {
	Ranking(now time.Time, limit int) []risk.Target
}

// Report is one day's picture.
type Report struct {
	Date        string    `json:"date"` // 2006-01-02, China time
	GeneratedAt time.Time `json:"generated_at"`
	// TrendDates are the days of every trend, oldest first, Date the last.
	TrendDates []string  `json:"trend_dates"`
	District   Section   `json:"district"`
	Ports      []Section `json:"ports"`
	// TopRisk and Devices are as of GeneratedAt, whatever the day.
	TopRisk []RiskVehicle   `json:"top_risk"`
	Devices []DeviceProblem `json:"devices"`
}

// Section is the district's figures or one port's.
type Section struct {
	PortID        string       `json:"port_id,omitempty"`
	Name          string       `json:"name"`
	CrossingsIn   int          `json:"crossings_in"`
	CrossingsOut  int          `json:"crossings_out"`
	TrucksInYards int          `json:"trucks_in_yards"` // now
	Alerts        []AlertTrend `json:"alerts"`
	Inspections   int          `json:"inspections"` // results reported on the day
	Hits          int          `json:"hits"`        // of which found something
}

// AlertTrend is one alert type's count on the day and on each of the trend's days.
type AlertTrend struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Count int    `json:"count"`
	Trend []int  `json:"trend"`
}

// RiskVehicle is a ranked vehicle with its reasons in Chinese, and the facts the reasons are
// made of (vehicles by plate), for screens that word them in their reader's language.
type RiskVehicle struct {
	VehicleID string         `json:"vehicle_id"`
	Plate     string         `json:"plate"`
	Kind      string         `json:"kind"`
	Score     float64        `json:"score"`
	Reasons   []string       `json:"reasons"`
	Alerts    map[string]int `json:"alerts"`       // its alerts of the last 30 days, by type
	Crossings int            `json:"crossings_7d"` // its border crossings in the last 7 days
	Group     *RiskGroup     `json:"group,omitempty"`
	Offence   *RiskOffence   `json:"offence,omitempty"`
	Ants      *risk.Ants     `json:"ants,omitempty"`
}

// RiskGroup is the co-travel group a ranked vehicle travels with.
type RiskGroup struct {
	Plates []string `json:"plates"` // the other members
	Trips  int      `json:"trips"`  // trips together in 30 days
}

// RiskOffence is a ranked vehicle's earlier inspection findings, or those of the vehicle
// (ViaPlate) its driver card was in.
type RiskOffence struct {
	Findings int       `json:"findings"`
	Last     time.Time `json:"last"`
	Category string    `json:"category"`
	ViaPlate string    `json:"via_plate,omitempty"`
	Card     string    `json:"card,omitempty"`
}

// riskVehicle is t as the report lists it, vehicles named by plate.
func riskVehicle(t risk.Target, v tracker.Vehicle, plate func(vehicleID string) string) RiskVehicle {
	rv := RiskVehicle{VehicleID: t.VehicleID, Plate: v.Plate, Kind: v.Kind, Score: t.Score, Reasons: Reasons(t, plate),
		Alerts: t.Alerts, Crossings: t.Crossings, Ants: t.Ants}
	if rv.Alerts == nil {
		rv.Alerts = map[string]int{}
	}
	if g := t.Group; g != nil {
		rv.Group = &RiskGroup{Plates: make([]string, len(g.Others)), Trips: g.Trips}
		for i, id := range g.Others {
			rv.Group.Plates[i] = plate(id)
		}
	}
	if o := t.Offence; o != nil {
		rv.Offence = &RiskOffence{Findings: o.Findings, Last: o.Last.UTC(), Category: o.Category, Card: o.Card}
		if o.Via != "" {
			rv.Offence.ViaPlate = plate(o.Via)
		}
	}
	return rv
}

// DeviceProblem is a device that is silent or broken.
type DeviceProblem struct {
	DeviceID  string     `json:"device_id"`
	VehicleID string     `json:"vehicle_id,omitempty"`
	Plate     string     `json:"plate,omitempty"`
	Problem   string     `json:"problem"` // ProblemSilent, ProblemNeverHeard or ProblemConflict
	LastFix   *time.Time `json:"last_fix,omitempty"`
}

// Device problems.
const (
	ProblemSilent     = "silent"      // no position for SilentAfter
	ProblemNeverHeard = "never_heard" // registered to a vehicle, no position ever
	ProblemConflict   = "conflict"    // two positions for one time on the day: broken or cloned
)

// ParseDate reads a China date (YYYY-MM-DD) and returns its start.
func ParseDate(s string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, s, tracker.ChinaTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("date must be YYYY-MM-DD: %q", s)
	}
	return d, nil
}

// Make builds the report of the China day starting at day, at now; rank may be nil (no risk
// ranking). Port-unit users pass their
// port as unit: only its section comes back and the district's is left empty.
func Make(ctx context.Context, st Store, rank Ranker, day, now time.Time, unit string) (Report, error) {
	day = day.In(tracker.ChinaTime)
	end := day.AddDate(0, 0, 1)
	trendFrom := day.AddDate(0, 0, 1-TrendDays)
	r := Report{Date: day.Format(time.DateOnly), GeneratedAt: now.UTC()}
	for d := trendFrom; d.Before(end); d = d.AddDate(0, 0, 1) {
		r.TrendDates = append(r.TrendDates, d.Format(time.DateOnly))
	}
	zones, err := st.Zones(ctx)
	if err != nil {
		return r, err
	}
	vehicles, err := st.Vehicles(ctx)
	if err != nil {
		return r, err
	}
	byVehicle := make(map[string]tracker.Vehicle, len(vehicles))
	for _, v := range vehicles {
		byVehicle[v.ID] = v
	}
	portOf := map[string]string{} // zone → its port
	sections := map[string]*Section{"": {Name: "全关区"}}
	for _, z := range zones {
		if z.Kind == geofence.KindPort {
			portOf[z.ID] = z.ID
			sections[z.ID] = &Section{PortID: z.ID, Name: z.Name}
		} else if p, ok := z.Properties["port_id"].(string); ok {
			portOf[z.ID] = p
		}
	}

	crossings, err := st.CrossingCounts(ctx, day, end)
	if err != nil {
		return r, err
	}
	for _, c := range crossings {
		for _, port := range uniq("", c.Zone) {
			s := sections[port]
			if s == nil {
				continue
			}
			switch c.Key {
			case geofence.Inbound:
				s.CrossingsIn += c.Count
			case geofence.Outbound:
				s.CrossingsOut += c.Count
			}
		}
	}

	alerts, err := st.AlertCounts(ctx, trendFrom, end)
	if err != nil {
		return r, err
	}
	trends := map[string]map[string][]int{} // port ("" district) → type → per day
	dayIndex := make(map[string]int, len(r.TrendDates))
	for i, d := range r.TrendDates {
		dayIndex[d] = i
	}
	for _, a := range alerts {
		i, ok := dayIndex[a.Day]
		if !ok {
			continue
		}
		for _, port := range uniq("", portOf[a.Zone]) {
			if sections[port] == nil {
				continue
			}
			if trends[port] == nil {
				trends[port] = map[string][]int{}
			}
			if trends[port][a.Key] == nil {
				trends[port][a.Key] = make([]int, TrendDays)
			}
			trends[port][a.Key][i] += a.Count
		}
	}
	for port, byType := range trends {
		s := sections[port]
		for _, typ := range slices.Sorted(maps.Keys(byType)) {
			t := byType[typ]
			s.Alerts = append(s.Alerts, AlertTrend{Type: typ, Name: AlertName(typ), Count: t[TrendDays-1], Trend: t})
		}
		slices.SortStableFunc(s.Alerts, func(a, b AlertTrend) int { return cmp.Compare(b.Count, a.Count) })
	}

	if err := countInspections(ctx, st, day, end, sections); err != nil {
		return r, err
	}
	latest, err := st.LatestFixes(ctx)
	if err != nil {
		return r, err
	}
	countYards(zones, latest, byVehicle, portOf, sections)

	devices, err := st.Devices(ctx)
	if err != nil {
		return r, err
	}
	conflicts, err := st.Alerts(ctx, tracker.AlertQuery{Type: tracker.AlertDeviceConflict, From: day, To: end})
	if err != nil {
		return r, err
	}
	r.Devices = deviceProblems(devices, latest, conflicts, byVehicle, now)

	var ranked []risk.Target
	if rank != nil {
		ranked = rank.Ranking(now, TopRisk)
	}
	r.TopRisk = []RiskVehicle{}
	for _, t := range ranked {
		v := byVehicle[t.VehicleID]
		r.TopRisk = append(r.TopRisk, riskVehicle(t, v, func(id string) string {
			if p := byVehicle[id].Plate; p != "" {
				return p
			}
			return id
		}))
	}

	if unit != "" && unit != tracker.UnitDistrict {
		if s := sections[unit]; s != nil {
			r.Ports = []Section{*s}
		}
		r.Ports = nonNil(r.Ports)
		return r, nil
	}
	r.District = *sections[""]
	for id, s := range sections {
		if id != "" {
			r.Ports = append(r.Ports, *s)
		}
	}
	slices.SortFunc(r.Ports, func(a, b Section) int { return cmp.Compare(a.PortID, b.PortID) })
	r.Ports = nonNil(r.Ports)
	return r, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// uniq is the district and a port, once each.
func uniq(district, port string) []string {
	if port == district {
		return []string{district}
	}
	return []string{district, port}
}

// countInspections counts the inspection results reported on the day, by the order's port.
func countInspections(ctx context.Context, st Store, day, end time.Time, sections map[string]*Section) error {
	orders, err := st.Targets(ctx, tracker.TargetQuery{Status: tracker.TargetClosed, From: day.Add(-inspectionLookback), To: end})
	if err != nil {
		return err
	}
	for _, o := range orders {
		if o.Result == nil || o.Result.At.Before(day) || !o.Result.At.Before(end) {
			continue
		}
		for _, port := range uniq("", o.PortID) {
			s := sections[port]
			if s == nil {
				continue
			}
			s.Inspections++
			if o.Result.Found {
				s.Hits++
			}
		}
	}
	return nil
}

// countYards counts the trucks whose latest position is inside a yard, by the yard's port.
func countYards(zones []geofence.Zone, latest []tracker.Fix, vehicles map[string]tracker.Vehicle, portOf map[string]string, sections map[string]*Section) {
	var yards []geofence.Zone
	for _, z := range zones {
		if z.Kind == geofence.KindYard {
			yards = append(yards, z)
		}
	}
	for _, f := range latest {
		if vehicles[f.VehicleID].Kind != tracker.KindTruck {
			continue
		}
		pt := orb.Point{f.Lon, f.Lat}
		for _, y := range yards {
			if !contains(y.Geometry, pt) {
				continue
			}
			for _, port := range uniq("", portOf[y.ID]) {
				if s := sections[port]; s != nil {
					s.TrucksInYards++
				}
			}
			break
		}
	}
}

func contains(g orb.Geometry, pt orb.Point) bool {
	switch g := g.(type) {
	case orb.Polygon:
		return planar.PolygonContains(g, pt)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(g, pt)
	}
	return false
}
