package sim

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Injection is one anomaly the simulator caused on purpose: the alert Type it should raise
// (AnomalyJitter: none), on which vehicle (and With, the other vehicle of a meeting), within
// which simulated time window; To is zero while the anomaly goes on. Alerts of the types in
// Also on the same vehicles and window are expected side effects: they count as correct but
// are not required.
type Injection struct {
	Type      string    `json:"type"`
	VehicleID string    `json:"vehicle_id"`
	With      string    `json:"with,omitempty"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to,omitzero"`
	Also      []string  `json:"also,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// Truth is the ground truth of a run, complete up to the simulated time Until.
type Truth struct {
	Scenario   string      `json:"scenario"`
	Start      time.Time   `json:"start"`
	Until      time.Time   `json:"until,omitzero"`
	Injections []Injection `json:"injections"`
	// Patterns of weeks, planted by a History: co-travel groups, resident cars moving goods
	// like ants, and the vehicles that must show neither.
	Groups   []PlantedGroup `json:"groups,omitempty"`
	Ants     []string       `json:"ants,omitempty"`
	Controls []string       `json:"controls,omitempty"`
}

// PlantedGroup is a co-travel group a History planted.
type PlantedGroup struct {
	Members []string `json:"members"`
	Note    string   `json:"note,omitempty"`
}

// LoadTruth reads a truth file.
func LoadTruth(file string) (*Truth, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

type truthLog struct {
	mu   sync.Mutex
	t    Truth
	file string
}

// begin records an injection as it starts and returns its index for end.
func (l *truthLog) begin(in Injection) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Injections = append(l.t.Injections, in)
	if l.file != "" {
		l.writeLocked()
	}
	return len(l.t.Injections) - 1
}

// update changes injection i (a meeting that turned out a lone stop).
func (l *truthLog) update(i int, f func(*Injection)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < 0 || i >= len(l.t.Injections) {
		return // begun by a run whose truth file was lost
	}
	f(&l.t.Injections[i])
	if l.file != "" {
		l.writeLocked()
	}
}

// end closes the window of injection i.
func (l *truthLog) end(i int, to time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < 0 || i >= len(l.t.Injections) {
		return // begun by a run whose truth file was lost
	}
	l.t.Injections[i].To = to.UTC()
	if l.file != "" {
		l.writeLocked()
	}
}

// until notes that the log is complete up to the simulated time t.
func (l *truthLog) until(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !t.After(l.t.Until) {
		return
	}
	l.t.Until = t.UTC()
	if l.file != "" {
		l.writeLocked()
	}
}

func (l *truthLog) snapshot() Truth {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.t
	t.Injections = slices.Clone(t.Injections)
	return t
}

func (l *truthLog) writeLocked() {
	b, _ := json.MarshalIndent(l.t, "", " ")
	tmp := l.file + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		_ = os.Rename(tmp, l.file)
	}
}

// ScoreRow is the score of one alert type.
type ScoreRow struct {
	Type      string  `json:"type"`
	Injected  int     `json:"injected"`
	Detected  int     `json:"detected"` // injections matched by at least one alert
	Alerts    int     `json:"alerts"`
	Correct   int     `json:"correct"` // alerts matching an injection
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
}

// rates sets Recall and Precision from the counts; 1 where nothing was to be found or raised.
func (r *ScoreRow) rates() {
	r.Recall, r.Precision = 1, 1
	if r.Injected > 0 {
		r.Recall = float64(r.Detected) / float64(r.Injected)
	}
	if r.Alerts > 0 {
		r.Precision = float64(r.Correct) / float64(r.Alerts)
	}
}

// ScoreSlack widens every injection's window when matching alerts: rules fire after their
// limits and fixes arrive up to a report interval late.
const ScoreSlack = 15 * time.Minute

// Score matches alerts against the truth: an alert is correct when an injection of the same
// type (or listing it in Also) and vehicle (or With) has a window containing the alert's time,
// give or take ScoreSlack. Alerts of vehicles the truth never mentions count against precision
// too, so run it against a server that only the simulator feeds. An injection still going on,
// or whose window ended less than ScoreSlack before the truth's Until, is pending: alerts may
// match it, but recall does not count it yet. Rows come sorted by type.
func Score(truth *Truth, alerts []tracker.Alert) []ScoreRow {
	rows := map[string]*ScoreRow{}
	row := func(typ string) *ScoreRow {
		if rows[typ] == nil {
			rows[typ] = &ScoreRow{Type: typ}
		}
		return rows[typ]
	}
	pending := func(in Injection) bool {
		return in.To.IsZero() || !truth.Until.IsZero() && in.To.Add(ScoreSlack).After(truth.Until)
	}
	detected := make([]bool, len(truth.Injections))
	for _, in := range truth.Injections {
		if in.Type != AnomalyJitter && !pending(in) {
			row(in.Type).Injected++
		}
	}
	for _, a := range alerts {
		r := row(a.Type)
		r.Alerts++
		ok := false
		for i, in := range truth.Injections {
			if in.VehicleID != a.VehicleID && (in.With == "" || in.With != a.VehicleID) || a.Time.Before(in.From.Add(-ScoreSlack)) ||
				!in.To.IsZero() && a.Time.After(in.To.Add(ScoreSlack)) {
				continue
			}
			if in.Type == a.Type {
				detected[i], ok = true, true
			} else if slices.Contains(in.Also, a.Type) {
				ok = true
			}
		}
		if ok {
			r.Correct++
		}
	}
	for i, in := range truth.Injections {
		if detected[i] && !pending(in) {
			row(in.Type).Detected++
		}
	}
	out := make([]ScoreRow, 0, len(rows))
	for _, r := range rows {
		r.rates()
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}
