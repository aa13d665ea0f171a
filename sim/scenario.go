package sim

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/geofence/district"
)

// Terminal types a fleet can carry.
const (
	TerminalJT808v2013 = "jt808-2013"
	TerminalJT808v2019 = "jt808-2019"
	TerminalGT06       = "gt06"
	TerminalOsmAnd     = "osmand"
	TerminalJT701      = "jt701" // a Jointech JT701 e-seal on the cargo, reporting over JT600
)

// Trips a fleet can drive.
const (
	TripHaul     = "haul"     // feeder (Mongolian road) → crossing → route → yard, unload, and back
	TripResident = "resident" // a port's town loop: Mongolian town → Chinese port town → back, same day
	TripRover    = "rover"    // parked in the Mongolian desert near the border; crosses it only as an anomaly
	// TripPatrol is a customs patrol car of a port with an OsmAnd tablet: parked in the port, it
	// drives down the port's first route and back now and then, and to a vehicle when the
	// inspection loop sends it (Inspection); its patrol user is linked to the tablet.
	TripPatrol = "patrol"
)

// Scenario describes what a simulation runs: fleets and the anomalies injected into them.
//
// Its file format is JSON (see testdata/ and scenarios/hohhot.json):
//
//	{
//	  "name": "hohhot",
//	  "report_interval": ["10s", "30s"],   // each terminal picks its interval in this range
//	  "gps_noise_m": 4,                    // standard deviation of position noise
//	  "fleets": [
//	    {"name": "coal-ceke", "count": 60, "kind": "truck", "terminal": "jt808-2013",
//	     "trip": "haul", "feeder": "road-ovoottolgoi-ceke", "route": "road-ceke-yard1",
//	     "cruise_kmh": [50, 80], "dwell": ["30m", "90m"], "dropouts_per_hour": 0.02,
//	     "start_within": "3h"}
//	  ],
//	  "anomalies": [{"type": "detour", "every": "20m"}]
//	}
//
// Roads are IDs of district.Roads(); a route's port is the port whose Routes include it.
type Scenario struct {
	Name           string     `json:"name"`
	ReportInterval [2]Dur     `json:"report_interval"`
	GPSNoiseM      float64    `json:"gps_noise_m"`
	Fleets         []Fleet    `json:"fleets"`
	Anomalies      []Schedule `json:"anomalies"`
	// DriftingScales are weighbridges that read heavy or light, by scale ID ("scale-" and the
	// yard's or port's zone ID) in percent of the true gross: every truck they weigh after the
	// port's scale house is a double_weighing.
	DriftingScales map[string]float64 `json:"drifting_scales,omitempty"`
}

// Fleet is a group of alike vehicles.
type Fleet struct {
	Name      string     `json:"name"`
	Count     int        `json:"count"`
	Kind      string     `json:"kind"`     // vehicle kind: truck, resident_car, car, …
	Terminal  string     `json:"terminal"` // jt808-2013, jt808-2019, gt06, osmand, jt701 (sealed hauls)
	Trip      string     `json:"trip"`     // haul, resident, rover, patrol
	Feeder    string     `json:"feeder,omitempty"`
	Route     string     `json:"route,omitempty"`
	Port      string     `json:"port,omitempty"` // resident, rover and patrol trips: the port zone ID
	CruiseKmh [2]float64 `json:"cruise_kmh"`
	Dwell     [2]Dur     `json:"dwell"` // time at each end of a trip
	// DropoutsPerHour is how often a terminal loses signal for a minute or two and backfills
	// (JT/T 808 0x0704 blind-area upload); too short to be an alert.
	DropoutsPerHour float64 `json:"dropouts_per_hour,omitempty"`
	// StartWithin spreads the fleet's first trips over this much time from the start
	// (default 3h for hauls, 6h for residents and rovers).
	StartWithin Dur `json:"start_within,omitempty"`

	line int // where the fleet starts in its file, for errors found after parsing
}

// Schedule injects one anomaly type every so often (simulated time).
type Schedule struct {
	Type  string `json:"type"`
	Every Dur    `json:"every"`
	After Dur    `json:"after,omitempty"` // the first injection, from the start; 0: after Every/4

	line int
}

// Anomaly types a scenario can schedule. All but AnomalyJitter are alert types they should
// raise; AnomalyJitter (GPS noise at a yard fence) must raise nothing.
const (
	AnomalyDetour       = "detour"
	AnomalyStop         = "unauthorized_stop"
	AnomalyMeeting      = "meeting"
	AnomalyCrossing     = "crossing_mismatch"
	AnomalyOutsidePort  = "border_crossing_outside_port"
	AnomalySignalLost   = "signal_lost"
	AnomalyJitter       = "jitter"
	AnomalyGateMismatch = "gate_mismatch"
	AnomalyOverstay     = "overstay"
	AnomalySealOpened   = "seal_opened" // a sealed truck (terminal jt701) opened between port and yard
	// AnomalyDriverMismatch: a JT/T 808 truck's terminal reads another driver's card than the
	// one its declaration names; every other JT/T 808 haul reads the declared driver's.
	AnomalyDriverMismatch = "driver_mismatch"
	// AnomalyWeightMismatch: the port's scale weighs a haul 8 % heavier than declared; every
	// other haul is weighed at its port as declared. AnomalyWeighingSkipped: a haul reaches its
	// yard with no weighbridge reading.
	AnomalyWeightMismatch  = "weight_mismatch"
	AnomalyWeighingSkipped = "weighing_skipped"
	// AnomalyEmergency: a haul declared as an emergency crossing stops 20 min on its corridor:
	// emergency_crossing when declared, no unauthorized_stop, one emergency_review after the yard.
	AnomalyEmergency      = "emergency_crossing"
	anomalyTypesForErrors = "detour, unauthorized_stop, meeting, crossing_mismatch, border_crossing_outside_port, signal_lost, jitter, gate_mismatch, overstay, seal_opened, driver_mismatch, weight_mismatch, weighing_skipped, emergency_crossing"
)

var anomalyTypes = []string{AnomalyDetour, AnomalyStop, AnomalyMeeting, AnomalyCrossing,
	AnomalyOutsidePort, AnomalySignalLost, AnomalyJitter, AnomalyGateMismatch, AnomalyOverstay, AnomalySealOpened,
	AnomalyDriverMismatch, AnomalyWeightMismatch, AnomalyWeighingSkipped, AnomalyEmergency}

// Dur is a time.Duration written as a Go duration string ("90s", "1h30m") in JSON.
type Dur time.Duration

// UnmarshalJSON reads a duration string.
func (d *Dur) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Dur(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Dur) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

//go:embed scenarios/hohhot.json
var defaultScenario []byte

// DefaultScenario returns the Hohhot district scenario: about 500 vehicles and every anomaly
// a few times an hour.
func DefaultScenario() *Scenario {
	s, err := ParseScenario("scenarios/hohhot.json", defaultScenario)
	if err != nil {
		panic("sim: default scenario: " + err.Error()) // compiled in and tested
	}
	return s
}

// LoadScenario reads and validates a scenario file.
func LoadScenario(file string) (*Scenario, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseScenario(file, b)
}

// ScenarioError is a problem in a scenario file, with where it is.
type ScenarioError struct {
	File string
	Line int
	Msg  string
}

func (e *ScenarioError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ParseScenario decodes and validates a scenario; errors are *ScenarioError naming file and line.
func ParseScenario(file string, data []byte) (*Scenario, error) {
	p := &parser{file: file, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	s, err := p.parse()
	if err != nil {
		return nil, err
	}
	if err := p.validate(s); err != nil {
		return nil, err
	}
	return s, nil
}

type parser struct {
	file string
	data []byte
	dec  *json.Decoder
}

// line returns the line of the first value at or after byte offset off.
func (p *parser) line(off int64) int {
	for off < int64(len(p.data)) && bytes.IndexByte([]byte(" \t\r\n,:"), p.data[off]) >= 0 {
		off++
	}
	return 1 + bytes.Count(p.data[:min(off, int64(len(p.data)))], []byte("\n"))
}

func (p *parser) errAt(off int64, format string, args ...any) error {
	return &ScenarioError{File: p.file, Line: p.line(off), Msg: fmt.Sprintf(format, args...)}
}

// wrap turns a decoding error of the value starting at off into a ScenarioError.
func (p *parser) wrap(off int64, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return p.errAt(syn.Offset-1, "%v", syn)
	case errors.As(err, &typ):
		return p.errAt(off+typ.Offset-1, "%s: %s cannot be %s", typ.Field, typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return p.errAt(int64(len(p.data)), "unexpected end of file")
	}
	return p.errAt(off, "%v", err)
}

func (p *parser) parse() (*Scenario, error) {
	s := &Scenario{}
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	for p.dec.More() {
		off := p.dec.InputOffset()
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.wrap(off, err)
		}
		key, _ := tok.(string)
		off = p.dec.InputOffset()
		switch key {
		case "name":
			err = p.dec.Decode(&s.Name)
		case "report_interval":
			err = p.dec.Decode(&s.ReportInterval)
		case "gps_noise_m":
			err = p.dec.Decode(&s.GPSNoiseM)
		case "drifting_scales":
			err = p.dec.Decode(&s.DriftingScales)
		case "fleets":
			err = p.array(func(off int64) error {
				var f Fleet
				if err := p.strict(&f); err != nil {
					return p.wrap(off, err)
				}
				f.line = p.line(off)
				s.Fleets = append(s.Fleets, f)
				return nil
			})
		case "anomalies":
			err = p.array(func(off int64) error {
				var a Schedule
				if err := p.strict(&a); err != nil {
					return p.wrap(off, err)
				}
				a.line = p.line(off)
				s.Anomalies = append(s.Anomalies, a)
				return nil
			})
		default:
			return nil, p.errAt(off-1, "unknown field %q", key)
		}
		if err != nil {
			var se *ScenarioError
			if errors.As(err, &se) {
				return nil, err
			}
			return nil, p.wrap(off, err)
		}
	}
	if err := p.expect('}'); err != nil {
		return nil, err
	}
	return s, nil
}

// strict decodes the next value into v, refusing unknown fields.
func (p *parser) strict(v any) error {
	var raw json.RawMessage
	if err := p.dec.Decode(&raw); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func (p *parser) expect(d json.Delim) error {
	off := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		return p.wrap(off, err)
	}
	if tok != d {
		return p.errAt(off, "expected %q", string(d))
	}
	return nil
}

func (p *parser) array(each func(off int64) error) error {
	if err := p.expect('['); err != nil {
		return err
	}
	for p.dec.More() {
		if err := each(p.dec.InputOffset()); err != nil {
			return err
		}
	}
	return p.expect(']')
}

func (p *parser) validate(s *Scenario) error {
	top := func(format string, args ...any) error {
		return &ScenarioError{File: p.file, Line: 1, Msg: fmt.Sprintf(format, args...)}
	}
	lo, hi := time.Duration(s.ReportInterval[0]), time.Duration(s.ReportInterval[1])
	if lo == 0 && hi == 0 {
		s.ReportInterval = [2]Dur{Dur(10 * time.Second), Dur(30 * time.Second)}
	} else if lo < time.Second || hi < lo {
		return top("report_interval %v–%v: need 1s ≤ min ≤ max", lo, hi)
	}
	if s.GPSNoiseM < 0 || s.GPSNoiseM > 100 {
		return top("gps_noise_m %v: need 0–100", s.GPSNoiseM)
	}
	for id, pct := range s.DriftingScales {
		if pct == 0 || math.Abs(pct) > 10 {
			return top("drifting_scales %s: %v %%: need a drift from -10 to 10, not 0", id, pct)
		}
	}
	if len(s.Fleets) == 0 {
		return top("no fleets")
	}
	roads := map[string]bool{}
	for _, r := range district.Roads() {
		roads[r.ID] = true
	}
	ports := district.Ports()
	names := map[string]bool{}
	for i := range s.Fleets {
		f := &s.Fleets[i]
		bad := func(format string, args ...any) error {
			return &ScenarioError{File: p.file, Line: f.line, Msg: fmt.Sprintf("fleet %q: ", f.Name) + fmt.Sprintf(format, args...)}
		}
		switch {
		case f.Name == "":
			return bad("name is required")
		case names[f.Name]:
			return bad("name used twice")
		case f.Count < 1:
			return bad("count %d: need at least 1", f.Count)
		case f.Kind == "":
			return bad("kind is required (truck, resident_car, car, …)")
		case !slices.Contains([]string{TerminalJT808v2013, TerminalJT808v2019, TerminalGT06, TerminalOsmAnd, TerminalJT701}, f.Terminal):
			return bad("terminal %q: want jt808-2013, jt808-2019, gt06, osmand or jt701", f.Terminal)
		case f.Terminal == TerminalJT701 && f.Trip != TripHaul:
			return bad("terminal jt701 is the e-seal of a haul's cargo: trip %q", f.Trip)
		case f.Trip == TripPatrol && f.Terminal != TerminalOsmAnd:
			return bad("trip patrol is a patrol car reporting from its OsmAnd tablet: terminal %q, want osmand", f.Terminal)
		case f.CruiseKmh[0] < 5 || f.CruiseKmh[1] < f.CruiseKmh[0] || f.CruiseKmh[1] > 130:
			return bad("cruise_kmh %v: need 5 ≤ min ≤ max ≤ 130", f.CruiseKmh)
		case f.Dwell[1] < f.Dwell[0] || f.Dwell[0] < 0:
			return bad("dwell %v–%v: need 0 ≤ min ≤ max", time.Duration(f.Dwell[0]), time.Duration(f.Dwell[1]))
		case f.DropoutsPerHour < 0 || f.DropoutsPerHour > 10:
			return bad("dropouts_per_hour %v: need 0–10", f.DropoutsPerHour)
		case f.StartWithin < 0:
			return bad("start_within %v: need at least 0", time.Duration(f.StartWithin))
		}
		names[f.Name] = true
		switch f.Trip {
		case TripHaul:
			if !roads[f.Feeder] {
				return bad("feeder %q is not a district road", f.Feeder)
			}
			port := portOfRoute(ports, f.Route)
			if port == nil {
				return bad("route %q is not a route of any district port", f.Route)
			}
			if !slices.Contains(port.Feeders, f.Feeder) {
				return bad("feeder %q does not lead to %s, the port of route %q", f.Feeder, port.ID, f.Route)
			}
			f.Port = port.ID
		case TripResident, TripRover, TripPatrol:
			p := portByID(ports, f.Port)
			if p == nil {
				return bad("port %q is not a district port", f.Port)
			}
			if f.Trip == TripPatrol && len(p.Routes) == 0 {
				return bad("port %q has no route to patrol", f.Port)
			}
		default:
			return bad("trip %q: want haul, resident, rover or patrol", f.Trip)
		}
	}
	for _, a := range s.Anomalies {
		if !slices.Contains(anomalyTypes, a.Type) {
			return &ScenarioError{File: p.file, Line: a.line, Msg: fmt.Sprintf("anomaly type %q: want one of %s", a.Type, anomalyTypesForErrors)}
		}
		if time.Duration(a.Every) < time.Minute {
			return &ScenarioError{File: p.file, Line: a.line, Msg: fmt.Sprintf("anomaly %s: every %v: need at least 1m", a.Type, time.Duration(a.Every))}
		}
	}
	return nil
}

func portOfRoute(ports []district.Port, route string) *district.Port {
	for i := range ports {
		for _, r := range ports[i].Routes {
			if r.RoadID == route {
				return &ports[i]
			}
		}
	}
	return nil
}

func portByID(ports []district.Port, id string) *district.Port {
	for i := range ports {
		if ports[i].ID == id {
			return &ports[i]
		}
	}
	return nil
}
