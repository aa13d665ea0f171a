package tracker

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"
)

// Weighing is one weighbridge (地磅) reading: a yard's scale or customs' own scale house
// weighed a truck. The server matches it to the vehicle (by card, then plate) and to the
// declaration the truck is travelling on.
type Weighing struct {
	ID       int64     `json:"id"`
	ScaleID  string    `json:"scale_id"`
	ZoneID   string    `json:"zone_id"` // the yard or port the scale stands in
	Time     time.Time `json:"time"`
	Plate    string    `json:"plate"`
	CardID   string    `json:"card_id"`
	GrossKg  float64   `json:"gross_kg"`
	TareKg   float64   `json:"tare_kg"`
	NetKg    float64   `json:"net_kg"`
	Operator string    `json:"operator"`
	// VehicleID and DeclarationID are what the reading was matched to; "": none.
	VehicleID     string    `json:"vehicle_id"`
	DeclarationID string    `json:"declaration_id"`
	ReceivedAt    time.Time `json:"received_at"`
}

// WeighingQuery selects weighings; empty fields match everything, the period is [From, To).
type WeighingQuery struct {
	VehicleID     string
	DeclarationID string
	ScaleID       string
	From, To      time.Time
	Limit         int
}

// EventWeighing is the event stored for a weighing, on the vehicle's timeline.
const EventWeighing = "weighing"

// Event is the weighing event of w.
func (w Weighing) Event(lat, lon float64) Event {
	return Event{Type: EventWeighing, Time: w.Time.UTC(), VehicleID: w.VehicleID, ZoneID: w.ZoneID, Lat: lat, Lon: lon,
		Attrs: map[string]any{"scale_id": w.ScaleID, "gross_kg": w.GrossKg, "tare_kg": w.TareKg, "net_kg": w.NetKg,
			"plate": w.Plate, "card_id": w.CardID, "operator": w.Operator, "declaration_id": w.DeclarationID}}
}

// ScaleDrift is how one scale's gross readings differ from other scales' readings of the same
// trucks on the same trips: the mean and the spread (standard deviation) of the difference from
// the mean of the others' readings, in kg and in percent, and the scale's bias from a joint fit
// of every scale against every trip.
type ScaleDrift struct {
	ScaleID   string  `json:"scale_id"`
	ZoneID    string  `json:"zone_id"` // where it stands: the zone of its latest reading
	Trips     int     `json:"trips"`   // trips on which another scale weighed the truck too
	Others    int     `json:"others"`  // other scales it was compared with
	MeanKg    float64 `json:"mean_kg"`
	SpreadKg  float64 `json:"spread_kg"`
	MeanPct   float64 `json:"mean_pct"`
	SpreadPct float64 `json:"spread_pct"`
	// BiasPct is the scale's error, in percent, in a fit of reading = trip weight × (1 + bias)
	// over all trips, with the median scale's bias taken as 0 (most scales are right): unlike
	// MeanPct it does not lend one scale's error to the scales compared with it.
	BiasPct  float64 `json:"bias_pct"`
	Drifting bool    `json:"drifting"` // systematically off by more than the tolerance
}

// DriftMinTrips is how many shared trips a scale needs before its drift is judged: fewer say
// more about the trucks than about the scale.
const DriftMinTrips = 3

// Drift compares the scales: the weighings of one declaration (one trip) by two or more
// scales. A scale drifts when it has DriftMinTrips trips, was compared with at least two other
// scales (with only one, which of the two is wrong cannot be told), and its bias exceeds
// tolerancePct by more than twice the standard error of its differences: off one way, trip
// after trip. Sorted by scale.
func Drift(ws []Weighing, tolerancePct float64) []ScaleDrift {
	trips := map[string]map[string][]float64{} // declaration → scale → gross readings
	where := map[string]Weighing{}             // scale → its latest reading
	for _, w := range ws {
		if l, ok := where[w.ScaleID]; !ok || !w.Time.Before(l.Time) {
			where[w.ScaleID] = w
		}
		if w.DeclarationID == "" || w.GrossKg <= 0 {
			continue
		}
		if trips[w.DeclarationID] == nil {
			trips[w.DeclarationID] = map[string][]float64{}
		}
		trips[w.DeclarationID][w.ScaleID] = append(trips[w.DeclarationID][w.ScaleID], w.GrossKg)
	}
	type diffs struct{ kg, pct []float64 }
	by := map[string]*diffs{}
	others := map[string]map[string]bool{}
	shared := map[string]map[string]float64{} // trip → scale → mean reading, trips with two scales or more
	for id, scales := range trips {
		if len(scales) < 2 {
			continue
		}
		shared[id] = map[string]float64{}
		for s, rs := range scales {
			shared[id][s] = mean(rs)
		}
		for s := range scales {
			var sum float64
			var n int
			for o, r := range shared[id] {
				if o == s {
					continue
				}
				sum += r
				n++
				if others[s] == nil {
					others[s] = map[string]bool{}
				}
				others[s][o] = true
			}
			ref := sum / float64(n)
			d := by[s]
			if d == nil {
				d = &diffs{}
				by[s] = d
			}
			d.kg = append(d.kg, shared[id][s]-ref)
			d.pct = append(d.pct, 100*(shared[id][s]-ref)/ref)
		}
	}
	bias := fitBias(shared)
	out := make([]ScaleDrift, 0, len(by))
	for s, d := range by {
		sd := ScaleDrift{ScaleID: s, ZoneID: where[s].ZoneID, Trips: len(d.kg), Others: len(others[s]), MeanKg: mean(d.kg), SpreadKg: stddev(d.kg),
			MeanPct: mean(d.pct), SpreadPct: stddev(d.pct), BiasPct: bias[s]}
		stderr := sd.SpreadPct / math.Sqrt(float64(sd.Trips))
		sd.Drifting = sd.Trips >= DriftMinTrips && sd.Others >= 2 && math.Abs(sd.BiasPct)-tolerancePct > 2*stderr
		out = append(out, sd)
	}
	slices.SortFunc(out, func(a, b ScaleDrift) int { return cmp.Compare(a.ScaleID, b.ScaleID) })
	return out
}

// fitBias fits log(reading) = log(trip weight) + bias(scale) by alternating means, then
// shifts the biases so that the median scale's is 0, and returns them in percent.
func fitBias(trips map[string]map[string]float64) map[string]float64 {
	b := map[string]float64{}
	for _, scales := range trips {
		for s := range scales {
			b[s] = 0
		}
	}
	if len(b) == 0 {
		return b
	}
	for range 50 {
		sum, n := map[string]float64{}, map[string]int{}
		for _, scales := range trips {
			var t float64
			for s, r := range scales {
				t += math.Log(r) - b[s]
			}
			t /= float64(len(scales))
			for s, r := range scales {
				sum[s] += math.Log(r) - t
				n[s]++
			}
		}
		for s := range b {
			b[s] = sum[s] / float64(n[s])
		}
	}
	vals := slices.Sorted(maps.Values(b))
	med := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		med = (vals[len(vals)/2-1] + med) / 2
	}
	for s := range b {
		b[s] = 100 * (math.Exp(b[s]-med) - 1)
	}
	return b
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// stddev is the sample standard deviation; 0 for fewer than two values.
func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := mean(xs)
	var s float64
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}
