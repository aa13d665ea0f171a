package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/paulmach/orb"

	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker"
)

// History plants the month before a run's start (the 29 days before its day), so that
// patterns of weeks (co-travel groups, ant moving) can be scored in a run of minutes. Its vehicles are vehicles of their own, with
// JT/T 808 terminals, and send what they did over the real protocol with its past times, in
// time order, as fast as the server takes it: the server stores and judges those fixes as any
// other (a vehicle's fixes in order are not late, however old). A planted meeting waits, before
// the vehicles move on, until the server's timer check has raised its alerts: the rules find a
// meeting only while both vehicles stand, and a check runs every 30 s of the server's clock.
//
// What is planted, at Erenhot, all crossings through its port:
//   - a gang: three trucks that haul together every third day, crossing the border 40 s apart
//     both ways, and on three of those days meet a local car off the road in China, beyond the
//     control zone (the rules raise meetings in China only); the car never crosses, it is in
//     the group by its meetings alone;
//   - ant moving: a border resident's car that crossed in and out twice a week for three weeks
//     and three times a day in the last six days;
//   - controls, which must be in no group and not flagged: a company's six trucks that haul most
//     mornings within the same 40 minutes, two of them together on four days, two of them meeting
//     once (in China, early, as the gang), all of them standing in the same yard; a resident who crosses every day, as
//     often in the last week as in every week before; ten residents crossing two to six times
//     a week, enough that the ranking's peers are these and not a run's few residents.
//
// The truth gets the groups, the ant-moving cars and the controls, and a meeting injection for
// every pair that met.
type History struct {
	// MeetingWait bounds how long a planted meeting waits for its alerts (default 2 min).
	MeetingWait time.Duration
}

// histPort is the port the history's vehicles use.
const histPort = "port-erenhot"

// histVehicle is a vehicle of the history and what it reported.
type histVehicle struct {
	id, plate, kind, name, device string
	home                          orb.Point
	reps                          []report
}

// histMeeting is a planted meeting: the vehicles stand together at one place over [from, to].
type histMeeting struct {
	vehicles []*histVehicle
	from, to time.Time
}

// histPlan is the month of one history: its vehicles' reports and meetings, and the truth.
type histPlan struct {
	vehicles []*histVehicle
	meetings []histMeeting
	groups   []PlantedGroup
	ants     []string
	controls []string
}

// histGeo is the port's geometry the history drives on.
type histGeo struct {
	haul     *path     // the Mongolian town through the crossing to the yard
	loop     *path     // the residents' loop: Mongolian town, Chinese port town, back
	town     orb.Point // the Mongolian town, where both start
	crossing orb.Point
}

// planHistory makes the history of days before start at the district's Erenhot port.
func planHistory(start time.Time, seed uint64) (*histPlan, error) {
	port := portByID(district.Ports(), histPort)
	roads := map[string]orb.LineString{}
	for _, r := range district.Roads() {
		roads[r.ID] = r.Line
	}
	g := histGeo{haul: newPath(join(roads[port.Feeders[0]], roads[port.Routes[0].RoadID])), loop: newPath(roads[port.TownLoop]),
		town: roads[port.Feeders[0]][0], crossing: port.Crossing}
	p := &histPlan{}
	rng := rand.New(rand.NewPCG(seed, 19))
	n := 0
	add := func(id, kind, name string, home orb.Point) *histVehicle {
		n++
		v := &histVehicle{id: id, plate: fmt.Sprintf("蒙H%05d", 90000+n), kind: kind, name: name, device: fmt.Sprintf("138%08d", 90000+n), home: home}
		p.vehicles = append(p.vehicles, v)
		return v
	}
	// China days: the ports keep China time.
	cst := time.FixedZone("CST", 8*3600)
	s := start.In(cst)
	day := func(d int) time.Time { return time.Date(s.Year(), s.Month(), s.Day()-d, 0, 0, 0, 0, cst) }

	// The gang and its contact. The rules raise meetings in China only (stops abroad are no
	// customs matter), outside the zones where stopping is allowed: the gang meets a local
	// car off the road beyond the control zone, in the early morning, when no other vehicle
	// of the history is in a control zone (the history stands still while a meeting waits for
	// its alerts: a vehicle in one would lose its signal).
	var gang []*histVehicle
	for i := range 3 {
		gang = append(gang, add(fmt.Sprintf("erenhot-haul-%03d", i+1), tracker.KindTruck, "erenhot-haul", offset(g.town, -1500-400*float64(i), 800+300*float64(i))))
	}
	spot := offset(g.crossing, 3000, -24000)
	contact := add("erenhot-pickup-001", "car", "erenhot-pickup", offset(spot, 3000, -4000))
	for d := 29; d >= 2; d -= 3 {
		if d == 5 || d == 14 || d == 23 {
			t0 := day(d).Add(6*time.Hour + time.Duration(rng.IntN(20))*time.Minute)
			m := histMeeting{vehicles: append([]*histVehicle{contact}, gang...), from: t0.Add(72 * time.Minute), to: t0.Add(110 * time.Minute)}
			t := contact.straight(contact.home, spot, t0.Add(69*time.Minute), 50)
			t = contact.dwell(spot, t.Add(time.Minute), t0.Add(115*time.Minute), time.Minute, rng)
			contact.straight(spot, contact.home, t.Add(time.Minute), 50)
			for i, v := range gang {
				lag := time.Duration(i) * 40 * time.Second
				v.meetingTrip(g, t0.Add(lag), spot, t0.Add(50*time.Minute+lag), m.to.Add(lag), rng)
			}
			p.meetings = append(p.meetings, m)
			continue
		}
		depart := day(d).Add(10*time.Hour + time.Duration(rng.IntN(120))*time.Minute)
		for i, v := range gang {
			v.haulTrip(g, depart.Add(time.Duration(i)*40*time.Second), 50, 40*time.Minute, rng)
		}
	}
	p.groups = append(p.groups, PlantedGroup{Members: []string{contact.id, gang[0].id, gang[1].id, gang[2].id},
		Note: "three trucks hauling together every third day, meeting a local car in China on three of them"})

	// The company's convoy: most mornings in one window, two trucks together now and then, two
	// meeting once (early, as the gang), all standing in the same yard.
	var convoy []*histVehicle
	for i := range 6 {
		convoy = append(convoy, add(fmt.Sprintf("erenhot-fleet-%03d", i+1), tracker.KindTruck, "erenhot-fleet", offset(g.town, -1200-350*float64(i), 2200+250*float64(i%2))))
	}
	onceSpot := offset(g.crossing, -6000, -23000)
	for d := 29; d >= 1; d-- {
		base := day(d).Add(9*time.Hour + 30*time.Minute)
		together := d%7 == 3
		for i, v := range convoy {
			if d == 12 && (i == 2 || i == 3) {
				t0 := day(d).Add(6 * time.Hour)
				lag := time.Duration(i-2) * 2 * time.Minute
				v.meetingTrip(g, t0.Add(lag), onceSpot, t0.Add(45*time.Minute+lag), t0.Add(100*time.Minute), rng)
				if i == 3 {
					p.meetings = append(p.meetings, histMeeting{vehicles: []*histVehicle{convoy[2], convoy[3]}, from: t0.Add(65 * time.Minute), to: t0.Add(100 * time.Minute)})
				}
				continue
			}
			if (!together || i > 1) && rng.Float64() < 0.2 {
				continue
			}
			t := base.Add(time.Duration(rng.IntN(40*60)) * time.Second)
			dwell := time.Duration(30+rng.IntN(30)) * time.Minute
			if together && i < 2 {
				t, dwell = base.Add(time.Duration(i)*time.Minute), 45*time.Minute
			}
			v.haulTrip(g, t, 45+rng.Float64()*10, dwell, rng)
		}
	}
	for _, v := range convoy {
		p.controls = append(p.controls, v.id)
	}

	// Residents: the ant, the daily commuter and their peers.
	var res []*histVehicle
	for i := range 12 {
		res = append(res, add(fmt.Sprintf("zamynuud-resident-%03d", i+1), tracker.KindResidentCar, "zamynuud-residents", offset(g.town, 400*float64(i%6)-1800, 1300+400*float64(i/6))))
	}
	ant, commuter := res[0], res[1]
	for d := 29; d >= 1; d-- {
		switch {
		case d <= 6:
			for _, h := range []time.Duration{10, 13, 16} {
				ant.residentTrip(g, day(d).Add(h*time.Hour+time.Duration(rng.IntN(30))*time.Minute), 40, time.Duration(20+rng.IntN(20))*time.Minute, rng)
			}
		case slices.Contains([]int{9, 12, 16, 19, 23, 26}, d):
			ant.residentTrip(g, day(d).Add(11*time.Hour+time.Duration(rng.IntN(60))*time.Minute), 40, time.Duration(20+rng.IntN(20))*time.Minute, rng)
		}
		commuter.residentTrip(g, day(d).Add(9*time.Hour+time.Duration(rng.IntN(20))*time.Minute), 40, time.Duration(30+rng.IntN(20))*time.Minute, rng)
		for i, v := range res[2:] {
			if (d+i)%3 == 0 {
				v.residentTrip(g, day(d).Add(12*time.Hour+time.Duration(rng.IntN(180))*time.Minute), 40, time.Duration(30+rng.IntN(30))*time.Minute, rng)
			}
		}
	}
	p.ants = []string{ant.id}
	for _, v := range res[1:] {
		p.controls = append(p.controls, v.id)
	}
	for _, v := range p.vehicles {
		if len(v.reps) > 0 && !v.reps[len(v.reps)-1].Time.Before(start) {
			return nil, fmt.Errorf("sim: history of %s reaches the start", v.id)
		}
		v.headings()
	}
	return p, nil
}

// haulTrip drives from the truck's home to the Mongolian town, through the crossing to the
// yard, stands there for dwell, and drives back home.
func (v *histVehicle) haulTrip(g histGeo, t time.Time, kmh float64, dwell time.Duration, rng *rand.Rand) {
	t = v.straight(v.home, g.town, t, kmh)
	t = v.along(g.haul, g.crossing, t, kmh, false)
	end, _ := g.haul.at(g.haul.length())
	t = v.dwell(end, t.Add(time.Minute), t.Add(dwell), 5*time.Minute, rng)
	t = v.along(g.haul, g.crossing, t.Add(time.Minute), kmh, true)
	v.straight(g.town, v.home, t, kmh)
}

// meetingTrip is a haul at 50 km/h with a meeting: the truck stands in the yard until
// leaveYard, drives to spot and stands there until leaveSpot, back to the yard and home.
func (v *histVehicle) meetingTrip(g histGeo, t time.Time, spot orb.Point, leaveYard, leaveSpot time.Time, rng *rand.Rand) {
	t = v.straight(v.home, g.town, t, 50)
	t = v.along(g.haul, g.crossing, t, 50, false)
	end, _ := g.haul.at(g.haul.length())
	t = v.dwell(end, t.Add(time.Minute), leaveYard, 5*time.Minute, rng)
	t = v.straight(end, spot, t.Add(time.Minute), 50)
	t = v.dwell(spot, t.Add(time.Minute), leaveSpot, time.Minute, rng)
	t = v.straight(spot, end, t.Add(time.Minute), 50)
	t = v.along(g.haul, g.crossing, t.Add(time.Minute), 50, true)
	v.straight(g.town, v.home, t, 50)
}

// residentTrip drives the loop from the car's home: through the crossing to the Chinese port
// town, parks there (half-way round the loop) for dwell, and back home.
func (v *histVehicle) residentTrip(g histGeo, t time.Time, kmh float64, dwell time.Duration, rng *rand.Rand) {
	t = v.straight(v.home, g.town, t, kmh)
	half := g.loop.length() / 2
	t = v.walk(g.loop, 0, half, &g.crossing, t, kmh)
	park, _ := g.loop.at(half)
	t = v.dwell(park, t.Add(time.Minute), t.Add(dwell), 10*time.Minute, rng)
	t = v.walk(g.loop, half, g.loop.length(), &g.crossing, t.Add(time.Minute), kmh)
	v.straight(g.town, v.home, t, kmh)
}

// Fix spacing: dense near the crossing, so that the line between two fixes crosses the border
// inside the port, sparse elsewhere, so that a month stays within a device's burst of fixes.
const (
	histNearM   = 2500
	histNearGap = 1000
	histFarGap  = 3000
)

// along drives the whole path, backwards when back, and returns the time of the last fix.
func (v *histVehicle) along(p *path, crossing orb.Point, t time.Time, kmh float64, back bool) time.Time {
	if back {
		p = p.reversed()
	}
	return v.walk(p, 0, p.length(), &crossing, t, kmh)
}

// walk drives p from s0 to s1 at kmh, starting at t, with fixes closer together near crossing
// (nil: none on the way), and returns the time of the last fix.
func (v *histVehicle) walk(p *path, s0, s1 float64, crossing *orb.Point, t time.Time, kmh float64) time.Time {
	mps := kmh / 3.6
	for s := s0; ; {
		pt, _ := p.at(s)
		// A leg starts where the one before ended: that fix is not sent twice.
		if n := len(v.reps); s > s0 || n == 0 || distance(pt, orb.Point{v.reps[n-1].Lon, v.reps[n-1].Lat}) > 1 {
			v.add(report{Time: t, Lat: pt[1], Lon: pt[0], SpeedKmh: kmh})
		}
		if s >= s1 {
			return t
		}
		gap := float64(histFarGap)
		if crossing != nil && distance(pt, *crossing) < histNearM {
			gap = histNearGap
		}
		step := min(gap, s1-s)
		s += step
		t = t.Add(time.Duration(step / mps * float64(time.Second)))
	}
}

// straight drives the straight line from a to b, away from the crossing.
func (v *histVehicle) straight(a, b orb.Point, t time.Time, kmh float64) time.Time {
	return v.walk(newPath(orb.LineString{a, b}), 0, distance(a, b), nil, t, kmh)
}

// dwell stands at at from from to to, a fix every every, a few metres of GPS noise apart, and
// returns to.
func (v *histVehicle) dwell(at orb.Point, from, to time.Time, every time.Duration, rng *rand.Rand) time.Time {
	for t := from; ; t = t.Add(every) {
		if t.After(to) {
			t = to
		}
		pt := offset(at, rng.NormFloat64()*4, rng.NormFloat64()*4)
		v.add(report{Time: t, Lat: pt[1], Lon: pt[0]})
		if !t.Before(to) {
			return to
		}
	}
}

// add appends r in whole seconds (the terminals' resolution), a second after the report
// before when rounding put it at that one's second.
func (v *histVehicle) add(r report) {
	r.Time = r.Time.Truncate(time.Second)
	if n := len(v.reps); n > 0 && r.Time.Equal(v.reps[n-1].Time) {
		r.Time = v.reps[n-1].Time.Add(time.Second)
	}
	v.reps = append(v.reps, r)
}

// headings points each moving report to the next one.
func (v *histVehicle) headings() {
	for i := range v.reps {
		if i+1 < len(v.reps) && v.reps[i].SpeedKmh > 0 {
			a, b := v.reps[i], v.reps[i+1]
			v.reps[i].Heading = bearing(orb.Point{a.Lon, a.Lat}, orb.Point{b.Lon, b.Lat})
		}
	}
}

// runHistory plants the history: registers its vehicles, sends their reports in time order,
// and at each meeting waits for its alerts before the vehicles move on.
func (s *Sim) runHistory(ctx context.Context) error {
	h := *s.cfg.History
	if h.MeetingWait == 0 {
		h.MeetingWait = 2 * time.Minute
	}
	w := s.w
	if w.api == nil {
		return errors.New("sim: a history needs the API: its meetings are confirmed there")
	}
	p, err := planHistory(s.cfg.Start, w.seed)
	if err != nil {
		return err
	}
	out := map[*histVehicle]reporter{}
	defer func() {
		for _, r := range out {
			_ = r.Close()
		}
	}()
	for _, v := range p.vehicles {
		if err := w.api.create(ctx, "/vehicles", tracker.Vehicle{ID: v.id, Plate: v.plate, Kind: v.kind, Name: v.name}); err != nil {
			return fmt.Errorf("sim: vehicle %s: %w", v.id, err)
		}
		if err := w.api.create(ctx, "/devices", tracker.Device{ID: v.device, Protocol: tracker.ProtocolJT808, VehicleID: v.id}); err != nil {
			return fmt.Errorf("sim: device %s: %w", v.device, err)
		}
		// The history's fixes are of the past, not of the simulated clock: they do not hold it.
		t, err := dialJT808(ctx, s.cfg.JT808Addr, v.device, false, v.plate, newUnacked(instantClock{}, s.cfg.Logger, v.device))
		if err != nil {
			return fmt.Errorf("sim: %s: %w", v.id, err)
		}
		out[v] = t
	}
	type item struct {
		v *histVehicle
		r report
	}
	var all []item
	for _, v := range p.vehicles {
		for _, r := range v.reps {
			all = append(all, item{v, r})
		}
	}
	slices.SortStableFunc(all, func(a, b item) int { return a.r.Time.Compare(b.r.Time) })
	slices.SortFunc(p.meetings, func(a, b histMeeting) int { return a.to.Compare(b.to) })
	next := 0
	for _, it := range all {
		// Every vehicle of a meeting has stood its time: the meeting waits for its alerts.
		for next < len(p.meetings) && it.r.Time.After(p.meetings[next].to) {
			if err := s.awaitMeeting(ctx, p.meetings[next], h.MeetingWait); err != nil {
				return err
			}
			next++
		}
		if err := out[it.v].Send(ctx, []report{it.r}, false); err != nil {
			return fmt.Errorf("sim: %s: %w", it.v.id, err)
		}
	}
	w.truth.mu.Lock()
	w.truth.t.Groups = append(w.truth.t.Groups, p.groups...)
	w.truth.t.Ants = append(w.truth.t.Ants, p.ants...)
	w.truth.t.Controls = append(w.truth.t.Controls, p.controls...)
	if w.truth.file != "" {
		w.truth.writeLocked()
	}
	w.truth.mu.Unlock()
	s.cfg.Logger.Info("history planted", "vehicles", len(p.vehicles), "fixes", len(all), "meetings", len(p.meetings))
	return nil
}

// awaitMeeting records a meeting's pairs in the truth and waits until the server has raised
// the alert of each.
func (s *Sim) awaitMeeting(ctx context.Context, m histMeeting, wait time.Duration) error {
	want := map[[2]string]bool{}
	for i, a := range m.vehicles {
		for _, b := range m.vehicles[i+1:] {
			k := [2]string{min(a.id, b.id), max(a.id, b.id)}
			want[k] = true
			s.w.truth.end(s.w.truth.begin(Injection{Type: "meeting", VehicleID: k[0], With: k[1], From: m.from, Note: "history"}), m.to)
		}
	}
	deadline := time.Now().Add(wait)
	for {
		var res struct {
			Alerts []tracker.Alert `json:"alerts"`
		}
		if err := s.w.api.do(ctx, http.MethodGet, "/alerts?type=meeting", nil, &res); err != nil {
			return err
		}
		for _, a := range res.Alerts {
			var ev struct {
				Vehicles []string `json:"vehicles"`
			}
			if json.Unmarshal(a.Evidence, &ev) != nil || len(ev.Vehicles) != 2 || a.Time.Before(m.from.Add(-ScoreSlack)) || a.Time.After(m.to) {
				continue
			}
			delete(want, [2]string{min(ev.Vehicles[0], ev.Vehicles[1]), max(ev.Vehicles[0], ev.Vehicles[1])})
		}
		if len(want) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sim: history meeting at %s: no alert for %v after %s", m.from.Format(time.RFC3339), slices.Collect(func(yield func([2]string) bool) {
				for k := range want {
					if !yield(k) {
						return
					}
				}
			}), wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
