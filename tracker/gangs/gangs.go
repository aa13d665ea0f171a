// Package gangs finds vehicles that cross the border together (抓团伙): at the same port, in
// the same direction, within minutes of each other, again and again over 30 days, or that meet
// (the rules' meeting alert: stopped side by side outside the zones where stopping is allowed)
// on several days. Such pairs are the edges of a graph whose connected parts are the groups.
//
// Coal trucks queue in convoys at a port's opening, so two trucks of one port often cross
// minutes apart by chance. A pair is an edge only when the trips together are both many
// (MinTrips) and most of the less frequent vehicle's crossings (MinShare): a truck that crosses
// daily with the morning convoy meets any other one only now and then.
//
// A meeting is rarer by nature (yards, ports and service areas, where trucks stand together
// all day, raise none), so meetings on MinMeetingDays different days make an edge whatever
// else the pair does: the handover abroad of a gang whose members never cross together.
package gangs

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Config says what counts as travelling together.
type Config struct {
	Window   time.Duration // how far back crossings count (default 30 days)
	Together time.Duration // crossings at most this far apart are together (default 3 min)
	MinTrips int           // trips together that make a pair an edge (default 3)
	MinShare float64       // of the pair's less frequent vehicle's crossings (default 0.6)
	// MinMeetingDays: meetings on this many different China days make a pair an edge (default 2).
	MinMeetingDays int
}

// Defaults fills the zero fields.
func (c Config) Defaults() Config {
	if c.Window == 0 {
		c.Window = 30 * 24 * time.Hour
	}
	if c.Together == 0 {
		c.Together = 3 * time.Minute
	}
	if c.MinTrips == 0 {
		c.MinTrips = 3
	}
	if c.MinShare == 0 {
		c.MinShare = 0.6
	}
	if c.MinMeetingDays == 0 {
		c.MinMeetingDays = 2
	}
	return c
}

// Trip is a crossing of two or more vehicles of a group together.
type Trip struct {
	Time      time.Time `json:"time"` // the first of them
	PortID    string    `json:"port_id"`
	Direction string    `json:"direction"`
	Vehicles  []string  `json:"vehicles"`
}

// Edge kinds: what makes a pair an edge.
const (
	KindCrossing = "crossing" // crossed together often enough
	KindMeeting  = "meeting"  // met on enough days
)

// Edge is a pair that crossed together Trips times or met Meetings times (on MeetingDays
// days); Kinds names those of the two that reach their threshold, the counts are given either
// way.
type Edge struct {
	A           string    `json:"a"`
	B           string    `json:"b"`
	Kinds       []string  `json:"kinds"`
	Trips       int       `json:"trips"`
	LastTrip    time.Time `json:"last_trip,omitzero"`
	Meetings    int       `json:"meetings"`
	MeetingDays int       `json:"meeting_days"`
	LastMeeting time.Time `json:"last_meeting,omitzero"`
}

// Meeting is one meeting alert of two members of a group.
type Meeting struct {
	Time     time.Time `json:"time"`
	Lat      float64   `json:"lat"`
	Lon      float64   `json:"lon"`
	Vehicles []string  `json:"vehicles"`
}

// Group is a connected set of vehicles that travel together, with its edges, trips and
// meetings, newest first. Its ID is its first member's, by ID.
type Group struct {
	ID       string    `json:"id"`
	Members  []string  `json:"members"`
	Edges    []Edge    `json:"edges"`
	Trips    []Trip    `json:"trips"`
	Meetings []Meeting `json:"meetings"`
}

type crossing struct {
	vehicle, port, direction string
	at                       time.Time
}

// cst is China Standard Time: meetings count by China day.
var cst = time.FixedZone("CST", 8*3600)

// Find groups the border crossings among events (other events are passed over) and the
// meeting alerts among alerts (others are passed over) that are in the window before now.
// Groups come largest first.
func Find(events []tracker.Event, alerts []tracker.Alert, now time.Time, cfg Config) []Group {
	cfg = cfg.Defaults()
	from := now.Add(-cfg.Window)
	lanes := map[[2]string][]crossing{} // (port, direction) → crossings
	crossings := map[string]int{}       // vehicle → its crossings at ports
	for _, e := range events {
		if e.Type != tracker.EventBorderCross || e.VehicleID == "" || e.Time.Before(from) || e.Time.After(now) {
			continue
		}
		port, _ := e.Attrs["port_zone_id"].(string)
		dir, _ := e.Attrs["direction"].(string)
		if port == "" {
			continue
		}
		k := [2]string{port, dir}
		lanes[k] = append(lanes[k], crossing{e.VehicleID, port, dir, e.Time})
		crossings[e.VehicleID]++
	}
	trips := map[pair]int{}
	lastTrip := map[pair]time.Time{}
	for _, lane := range lanes {
		last := map[pair]time.Time{}
		slices.SortFunc(lane, func(a, b crossing) int { return a.at.Compare(b.at) })
		for i, c := range lane {
			for _, d := range lane[i+1:] {
				if d.at.Sub(c.at) > cfg.Together {
					break
				}
				if d.vehicle == c.vehicle {
					continue
				}
				p := pair{min(c.vehicle, d.vehicle), max(c.vehicle, d.vehicle)}
				// One trip together counts once, however many crossings a jittery fence made of it.
				if t, ok := last[p]; ok && c.at.Sub(t) <= 2*cfg.Together {
					continue
				}
				last[p] = c.at
				trips[p]++
				lastTrip[p] = later(lastTrip[p], c.at)
			}
		}
	}
	met := meetingsOf(alerts, from, now)
	parent := map[string]string{}
	var root func(string) string
	root = func(v string) string {
		if p, ok := parent[v]; ok && p != v {
			r := root(p)
			parent[v] = r
			return r
		}
		parent[v] = v
		return v
	}
	pairs := map[pair]bool{}
	for p := range trips {
		pairs[p] = true
	}
	for p := range met {
		pairs[p] = true
	}
	var edges []Edge
	for p := range pairs {
		n, m := trips[p], met[p]
		e := Edge{A: p[0], B: p[1], Trips: n, LastTrip: lastTrip[p]}
		if n >= cfg.MinTrips && float64(n) >= cfg.MinShare*float64(min(crossings[p[0]], crossings[p[1]])) {
			e.Kinds = append(e.Kinds, KindCrossing)
		}
		if m != nil {
			e.Meetings, e.MeetingDays, e.LastMeeting = len(m.list), len(m.days), m.last
			if len(m.days) >= cfg.MinMeetingDays {
				e.Kinds = append(e.Kinds, KindMeeting)
			}
		}
		if len(e.Kinds) == 0 {
			continue
		}
		edges = append(edges, e)
		ra, rb := root(p[0]), root(p[1])
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	byRoot := map[string]*Group{}
	member := map[string]*Group{}
	for _, e := range edges {
		r := root(e.A)
		g := byRoot[r]
		if g == nil {
			g = &Group{}
			byRoot[r] = g
		}
		g.Edges = append(g.Edges, e)
		for _, v := range []string{e.A, e.B} {
			if member[v] == nil {
				member[v] = g
				g.Members = append(g.Members, v)
			}
		}
	}
	for _, lane := range lanes {
		tripsOf(lane, member, cfg.Together)
	}
	for _, e := range edges {
		if slices.Contains(e.Kinds, KindMeeting) {
			g := member[e.A]
			g.Meetings = append(g.Meetings, met[pair{e.A, e.B}].list...)
		}
	}
	out := make([]Group, 0, len(byRoot))
	for _, g := range byRoot {
		slices.Sort(g.Members)
		g.ID = g.Members[0]
		slices.SortFunc(g.Edges, func(a, b Edge) int { return cmp.Or(cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B)) })
		slices.SortFunc(g.Trips, func(a, b Trip) int { return b.Time.Compare(a.Time) })
		slices.SortFunc(g.Meetings, func(a, b Meeting) int { return b.Time.Compare(a.Time) })
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(len(b.Members), len(a.Members)), cmp.Compare(len(b.Trips), len(a.Trips)), cmp.Compare(a.ID, b.ID))
	})
	return out
}

type pair [2]string

// meetings are a pair's meetings in the window.
type meetings struct {
	list []Meeting
	days map[string]bool // China dates
	last time.Time
}

// meetingsOf reads the pairs out of the meeting alerts from..now (their evidence names both
// vehicles). The rules raise one alert per pair of stops, so a long meeting counts once.
func meetingsOf(alerts []tracker.Alert, from, now time.Time) map[pair]*meetings {
	out := map[pair]*meetings{}
	for _, a := range alerts {
		if a.Type != tracker.AlertMeeting || a.Time.Before(from) || a.Time.After(now) {
			continue
		}
		var ev struct {
			Vehicles []string `json:"vehicles"`
		}
		if json.Unmarshal(a.Evidence, &ev) != nil || len(ev.Vehicles) != 2 || ev.Vehicles[0] == ev.Vehicles[1] || slices.Contains(ev.Vehicles, "") {
			continue
		}
		p := pair{min(ev.Vehicles[0], ev.Vehicles[1]), max(ev.Vehicles[0], ev.Vehicles[1])}
		m := out[p]
		if m == nil {
			m = &meetings{days: map[string]bool{}}
			out[p] = m
		}
		m.list = append(m.list, Meeting{Time: a.Time, Lat: a.Lat, Lon: a.Lon, Vehicles: []string{p[0], p[1]}})
		m.days[a.Time.In(cst).Format(time.DateOnly)] = true
		m.last = later(m.last, a.Time)
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// tripsOf chains a lane's crossings (in time order) by the group members into runs with at most
// together between neighbours, and adds each run of two or more members to their group.
func tripsOf(lane []crossing, member map[string]*Group, together time.Duration) {
	runs := map[*Group]*Trip{}
	lastAt := map[*Group]time.Time{}
	flush := func(g *Group) {
		if t := runs[g]; t != nil && len(t.Vehicles) > 1 {
			slices.Sort(t.Vehicles)
			g.Trips = append(g.Trips, *t)
		}
		delete(runs, g)
	}
	for _, c := range lane {
		g := member[c.vehicle]
		if g == nil {
			continue
		}
		if t := runs[g]; t != nil && c.at.Sub(lastAt[g]) > together {
			flush(g)
		}
		t := runs[g]
		if t == nil {
			t = &Trip{Time: c.at, PortID: c.port, Direction: c.direction}
			runs[g] = t
		}
		if !slices.Contains(t.Vehicles, c.vehicle) {
			t.Vehicles = append(t.Vehicles, c.vehicle)
		}
		lastAt[g] = c.at
	}
	for g := range runs {
		flush(g)
	}
}
