package risk

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

const (
	// offenderWeight is what earlier findings add to a vehicle's score (抓惯犯): more than the
	// threshold, as a vehicle once caught is worth inspecting again.
	offenderWeight = 5.0
	// FindingsWindow is how far back inspection findings count.
	FindingsWindow = 365 * 24 * time.Hour
	// CardWindow is how far back a driver card in two vehicles links them. A plate links them
	// for as long as the offence counts (FindingsWindow).
	CardWindow = 90 * 24 * time.Hour
)

// Offence is why a vehicle counts as a repeat offender: its own inspections that found
// something and alerts an officer confirmed as offences, or, when Via is set, those of the
// vehicle Via: in whose reader its driver's card Card also was, or whose plate Plate it now
// has (a plate re-registered to another vehicle).
type Offence struct {
	Findings  int       `json:"findings"`
	Confirmed int       `json:"confirmed,omitempty"` // alerts confirmed as offences
	Last      time.Time `json:"last"`                // the latest finding or confirmation
	Category  string    `json:"category"`            // the latest's: a finding's category, a confirmed alert's type
	Via       string    `json:"via,omitempty"`
	Card      string    `json:"card,omitempty"`
	Plate     string    `json:"plate,omitempty"`
}

func (o *Offence) reason() string {
	var what []string
	if o.Findings > 0 {
		what = append(what, fmt.Sprintf("%d earlier inspection finding(s)", o.Findings))
	}
	if o.Confirmed > 0 {
		what = append(what, fmt.Sprintf("%d alert(s) confirmed as offences", o.Confirmed))
	}
	r := fmt.Sprintf("%s, the last %s (%s)", strings.Join(what, " and "), o.Last.In(tracker.ChinaTime).Format(time.DateOnly), o.Category)
	switch {
	case o.Card != "":
		r = fmt.Sprintf("driver card %s was also in %s, which had %s", o.Card, o.Via, r)
	case o.Plate != "":
		r = fmt.Sprintf("plate %s was earlier %s's, which had %s", o.Plate, o.Via, r)
	}
	return r
}

func (o *Offence) add(at time.Time, category string) {
	if at.After(o.Last) {
		o.Last, o.Category = at, category
	}
}

// Offenders finds the vehicles with inspection findings among closed orders or with alerts
// confirmed as offences, and the vehicles that inherit an offender's: those sharing a driver
// card with it (driver_identity events, card inserted), or now registered under a plate it
// had when caught (vehicles: the registry). A vehicle's own offences win over inherited ones,
// a card over a plate.
func Offenders(orders []tracker.TargetOrder, confirmed []tracker.Confirmation, drivers []tracker.Event, vehicles []tracker.Vehicle) map[string]Offence {
	out := map[string]Offence{}
	plates := map[string]map[string]bool{} // offender → the plates it had when caught, normalised
	notePlate := func(vehicle, plate string) {
		if p := tracker.NormalPlate(plate); p != "" {
			if plates[vehicle] == nil {
				plates[vehicle] = map[string]bool{}
			}
			plates[vehicle][p] = true
		}
	}
	for _, o := range orders {
		if o.VehicleID == "" || o.Result == nil || !o.Result.Found {
			continue
		}
		off := out[o.VehicleID]
		off.Findings++
		off.add(o.Result.At, o.Result.Category)
		out[o.VehicleID] = off
		notePlate(o.VehicleID, o.Plate)
	}
	for _, c := range confirmed {
		if c.VehicleID == "" {
			continue
		}
		off := out[c.VehicleID]
		off.Confirmed++
		off.add(c.At, c.Type)
		out[c.VehicleID] = off
		notePlate(c.VehicleID, c.Plate)
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
	for _, offender := range slices.Sorted(maps.Keys(plates)) {
		for _, v := range vehicles {
			if _, has := out[v.ID]; has || !plates[offender][tracker.NormalPlate(v.Plate)] {
				continue
			}
			o := own[offender]
			o.Via, o.Plate = offender, v.Plate
			out[v.ID] = o
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
