package risk

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

const (
	// antWeight is what the ant-moving pattern (蚂蚁搬家) adds to a resident car's score.
	antWeight = 4.0
	// antWeek is the recent period compared with the car's past weeks and its peers.
	antWeek = 7 * 24 * time.Hour
	// antPastWeeks is how many weeks before it make the car's own past.
	antPastWeeks = 3
	// antMinCrossings is the fewest crossings in the week that can be the pattern.
	antMinCrossings = 10
	// antMinZ is how far, in robust standard deviations, the week must be above the peers'.
	antMinZ = 3.5
	// antOwnFactor is how many times its own past weekly median the week must be.
	antOwnFactor = 2.0
)

// AntsWindow is how far back Ants needs crossings.
const AntsWindow = (antPastWeeks + 1) * antWeek

// Ants is the ant-moving pattern of one resident car: many crossings in the last week, far
// above its own past weeks and the other resident cars' week.
type Ants struct {
	Week       int     `json:"week"`        // its crossings in the last 7 days
	OwnWeekly  float64 `json:"own_weekly"`  // the median of its 3 weeks before
	PeerMedian float64 `json:"peer_median"` // the resident cars' median week
	Z          float64 `json:"z"`           // robust z-score of Week among the peers (median, 1.4826·MAD)
}

func (a *Ants) reason() string {
	return fmt.Sprintf("ant moving: %d border crossings in 7 days, against %.1f a week in its 3 weeks before and %.1f for resident cars (robust z %.1f)",
		a.Week, a.OwnWeekly, a.PeerMedian, a.Z)
}

// FindAnts finds the resident cars (kind tracker.KindResidentCar) whose crossings of the week
// to now are at least antMinCrossings, antMinZ robust deviations above the resident cars'
// and antOwnFactor times their own past weekly median.
func FindAnts(crossings []tracker.Event, residents map[string]bool, now time.Time) map[string]Ants {
	weeks := map[string]*[antPastWeeks + 1]int{} // car → crossings per week, this week first
	for id := range residents {
		weeks[id] = new([antPastWeeks + 1]int)
	}
	for _, e := range crossings {
		w := weeks[e.VehicleID]
		age := now.Sub(e.Time)
		if w == nil || e.Type != tracker.EventBorderCross || age < 0 || age >= AntsWindow {
			continue
		}
		w[int(age/antWeek)]++
	}
	if len(weeks) < 3 {
		return nil // no peers to compare with
	}
	this := make([]float64, 0, len(weeks))
	for _, w := range weeks {
		this = append(this, float64(w[0]))
	}
	med := median(this)
	dev := make([]float64, len(this))
	for i, x := range this {
		dev[i] = math.Abs(x - med)
	}
	// A MAD of 0 (most cars cross alike) is taken as one crossing, so a single trip more is no outlier.
	scale := 1.4826 * max(median(dev), 1)
	out := map[string]Ants{}
	for id, w := range weeks {
		past := make([]float64, antPastWeeks)
		for i := range past {
			past[i] = float64(w[i+1])
		}
		a := Ants{Week: w[0], OwnWeekly: median(past), PeerMedian: med, Z: math.Round((float64(w[0])-med)/scale*10) / 10}
		if a.Week >= antMinCrossings && a.Z >= antMinZ && float64(a.Week) >= antOwnFactor*max(a.OwnWeekly, 1) {
			out[id] = a
		}
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// SetAnts replaces the resident cars showing the ant-moving pattern, by vehicle ID.
func (s *Scorer) SetAnts(ants map[string]Ants) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ants = ants
}
