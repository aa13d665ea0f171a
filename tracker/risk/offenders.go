package risk

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

const (
	// offenderWeight is what earlier findings add to a vehicle's score (抓惯犯): more than the
	// threshold, as a vehicle once caught is worth inspecting again.
	offenderWeight = 5.0
	// FindingsWindow is how far back inspection findings count.
	FindingsWindow = 365 * 24 * time.Hour
	// CardWindow is how far back a driver card in two vehicles links them.
	CardWindow = 90 * 24 * time.Hour
)

// Offence is why a vehicle counts as a repeat offender: its own inspections that found
// something, or, when Via is set, those of the vehicle Via in whose reader its driver's card
// Card also was.
type Offence struct {
	Findings int       `json:"findings"`
	Last     time.Time `json:"last"`     // the latest finding
	Category string    `json:"category"` // the latest finding's
	Via      string    `json:"via,omitempty"`
	Card     string    `json:"card,omitempty"`
}

func (o *Offence) reason() string {
	r := fmt.Sprintf("%d earlier inspection finding(s), the last %s (%s)", o.Findings, o.Last.In(tracker.ChinaTime).Format(time.DateOnly), o.Category)
	if o.Via != "" {
		r = fmt.Sprintf("driver card %s was also in %s, which had %s", o.Card, o.Via, r)
	}
	return r
}

// Offenders finds the vehicles with inspection findings among closed orders, and the vehicles
// that share a driver card with one of them (driver_identity events, card inserted): those
// inherit the offender's findings. A vehicle's own findings win over inherited ones.
func Offenders(orders []tracker.TargetOrder, drivers []tracker.Event) map[string]Offence {
	out := map[string]Offence{}
	for _, o := range orders {
		if o.VehicleID == "" || o.Result == nil || !o.Result.Found {
			continue
		}
		off := out[o.VehicleID]
		off.Findings++
		if o.Result.At.After(off.Last) {
			off.Last, off.Category = o.Result.At, o.Result.Category
		}
		out[o.VehicleID] = off
	}
	cards := map[string][]string{} // card → vehicles it was in, by ID
	for _, e := range drivers {
		card, _ := e.Attrs["card_id"].(string)
		if in, _ := e.Attrs["inserted"].(bool); !in || card == "" || e.VehicleID == "" || e.Type != tracker.EventDriverIdentity {
			continue
		}
		if !slices.Contains(cards[card], e.VehicleID) {
			cards[card] = append(cards[card], e.VehicleID)
		}
	}
	own := maps.Clone(out)
	for _, card := range slices.Sorted(maps.Keys(cards)) {
		vs := cards[card]
		slices.Sort(vs)
		for _, offender := range vs {
			o, ok := own[offender]
			if !ok {
				continue
			}
			for _, v := range vs {
				if _, has := out[v]; has {
					continue
				}
				o.Via, o.Card = offender, card
				out[v] = o
			}
		}
	}
	return out
}

// SetOffenders replaces the repeat offenders (Offenders), by vehicle ID.
func (s *Scorer) SetOffenders(offenders map[string]Offence) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offenders = maps.Clone(offenders)
}

// extra is what a vehicle's group, earlier findings, ant moving and cargo grade add to its score.
func (s *Scorer) extra(id string) float64 {
	var w float64
	if _, ok := s.groups[id]; ok {
		w += groupWeight
	}
	if _, ok := s.offenders[id]; ok {
		w += offenderWeight
	}
	if _, ok := s.ants[id]; ok {
		w += antWeight
	}
	if _, ok := s.grades[id]; ok {
		w += gradeWeight
	}
	return w
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
