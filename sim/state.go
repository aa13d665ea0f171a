package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"time"

	"github.com/paulmach/orb"
)

// State is what a simulation keeps to resume where it stopped: its clock, the world's shared
// state, and each vehicle's trip so far. A vehicle's trip is not data but code (trips.go), so
// a vehicle keeps the checkpoint it passed at the top of its current trip and its dealings with
// the world since (anomalies claimed, spots taken, meetings); a resumed vehicle runs its trip
// again from the checkpoint, taking those dealings from the log and sending nothing up to the
// saved present, and goes on from there as if never stopped: same positions, same reports.
type State struct {
	Scenario string                  `json:"scenario"`
	Seed     uint64                  `json:"seed"`
	Start    time.Time               `json:"start"` // the simulation's first moment
	Now      time.Time               `json:"now"`   // the simulated present when saved
	Due      map[string]time.Time    `json:"due"`
	Spots    map[string][]float64    `json:"spots,omitempty"`
	Rovers   int                     `json:"rovers"`
	Meetings map[string]savedMeeting `json:"meetings,omitempty"`
	Vehicles map[string]savedVehicle `json:"vehicles"`
}

type savedMeeting struct {
	Host    string    `json:"host"`
	Waiting bool      `json:"waiting,omitempty"`
	Partner string    `json:"partner,omitempty"`
	At      time.Time `json:"at,omitzero"`
	S       float64   `json:"s"`
}

type savedVehicle struct {
	Checkpoint *checkpoint `json:"checkpoint,omitempty"` // nil: before its first trip
	Log        []decision  `json:"log,omitempty"`
}

// checkpoint is a vehicle at the top of a trip.
type checkpoint struct {
	T          time.Time `json:"t"`
	NextReport time.Time `json:"next_report"`
	NextDrop   time.Time `json:"next_drop,omitzero"`
	DropUntil  time.Time `json:"drop_until,omitzero"`
	Pos        orb.Point `json:"pos"`
	Heading    float64   `json:"heading"`
	RNG        []byte    `json:"rng"`
	Seq        int       `json:"seq"`
	Decl       string    `json:"decl,omitempty"`
	Locked     bool      `json:"locked,omitempty"`
	Home       orb.Point `json:"home,omitzero"` // rovers
	Into       orb.Point `json:"into,omitzero"`
}

// decision is one dealing of a vehicle with the world, with what came of it.
type decision struct {
	Op string      `json:"op"`
	S  string      `json:"s,omitempty"`
	F  float64     `json:"f,omitempty"`
	B  bool        `json:"b,omitempty"`
	I  int         `json:"i,omitempty"`
	T  time.Time   `json:"t,omitzero"`
	P  []orb.Point `json:"p,omitempty"`
}

// LoadState reads a state file; a missing file is (nil, nil).
func LoadState(file string) (*State, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("sim: state %s: %w", file, err)
	}
	return &st, nil
}

// save writes the state atomically: a crash mid-write leaves the previous one.
func (st *State) save(file string) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// state is the world's state at the simulated time now.
func (w *world) state(now time.Time) *State {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := &State{Scenario: w.sc.Name, Seed: w.seed, Start: w.start, Now: now.UTC(), Due: map[string]time.Time{},
		Spots: map[string][]float64{}, Rovers: w.rovers, Meetings: map[string]savedMeeting{}, Vehicles: map[string]savedVehicle{}}
	for k, t := range w.due {
		st.Due[k] = t
	}
	for r, s := range w.spots {
		st.Spots[r] = append([]float64(nil), s...)
	}
	for r, m := range w.meetings {
		sm := savedMeeting{Host: m.host.id, Waiting: m.waiting, At: m.at, S: m.s}
		if m.partner != nil {
			sm.Partner = m.partner.id
		}
		st.Meetings[r] = sm
	}
	for _, v := range w.fleet {
		st.Vehicles[v.id] = savedVehicle{Checkpoint: v.cp, Log: append([]decision(nil), v.log...)}
	}
	return st
}

// resume puts the world and its vehicles in the saved state; the vehicles replay their trips
// up to st.Now.
func (w *world) resume(st *State) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	byID := map[string]*vehicle{}
	for _, v := range w.fleet {
		byID[v.id] = v
	}
	for k, t := range st.Due {
		w.due[k] = t
	}
	for r, s := range st.Spots {
		w.spots[r] = append([]float64(nil), s...)
	}
	w.rovers = st.Rovers
	for r, sm := range st.Meetings {
		host := byID[sm.Host]
		if host == nil {
			continue
		}
		w.meetings[r] = &meeting{host: host, waiting: sm.Waiting, partner: byID[sm.Partner], at: sm.At, s: sm.S}
	}
	for id, sv := range st.Vehicles {
		v := byID[id]
		if v == nil {
			continue
		}
		v.replay, v.resumeAt = sv.Log, st.Now
		if cp := sv.Checkpoint; cp != nil {
			if err := v.src.UnmarshalBinary(cp.RNG); err != nil {
				return fmt.Errorf("sim: state of %s: %w", id, err)
			}
			v.t, v.nextReport, v.nextDrop, v.dropUntil = cp.T, cp.NextReport, cp.NextDrop, cp.DropUntil
			v.pos, v.heading, v.seq, v.decl, v.locked = cp.Pos, cp.Heading, cp.Seq, cp.Decl, cp.Locked
			v.home, v.into = cp.Home, cp.Into
			v.cp = cp
		}
	}
	return nil
}

// checkpoint notes the vehicle at the top of a trip; its log starts again.
func (v *vehicle) checkpoint() {
	rng, _ := v.src.MarshalBinary() // a PCG always marshals
	cp := &checkpoint{T: v.t, NextReport: v.nextReport, NextDrop: v.nextDrop, DropUntil: v.dropUntil, Pos: v.pos,
		Heading: v.heading, RNG: rng, Seq: v.seq, Decl: v.decl, Locked: v.locked, Home: v.home, Into: v.into}
	v.w.mu.Lock()
	v.cp, v.log = cp, nil
	v.w.mu.Unlock()
}

// recordedLocked takes the next decision of the vehicle's replay if it is an op, and keeps it
// in the log; a replay that asks something else has diverged (another scenario), and the
// vehicle goes on live. w.mu is held.
func (v *vehicle) recordedLocked(op string) (decision, bool) {
	if len(v.replay) == 0 {
		return decision{}, false
	}
	d := v.replay[0]
	if d.Op != op {
		v.w.log.Warn("sim: the replay of a vehicle's trip diverged; it goes on live", "vehicle", v.id, "want", op, "recorded", d.Op)
		v.replay = nil
		return decision{}, false
	}
	v.replay = v.replay[1:]
	v.log = append(v.log, d)
	return d, true
}

func (v *vehicle) recorded(op string) (decision, bool) {
	v.w.mu.Lock()
	defer v.w.mu.Unlock()
	return v.recordedLocked(op)
}

// noteLocked logs a live decision. w.mu is held.
func (v *vehicle) noteLocked(d decision) { v.log = append(v.log, d) }

func (v *vehicle) note(d decision) {
	v.w.mu.Lock()
	defer v.w.mu.Unlock()
	v.noteLocked(d)
}

// replaying: the vehicle is before the saved present, where everything was sent already.
func (v *vehicle) replaying() bool { return !v.t.After(v.resumeAt) }

// begin records an injection of v's, or takes its index from the replay.
func (v *vehicle) begin(in Injection) int {
	if d, ok := v.recorded("begin"); ok {
		return d.I
	}
	i := v.w.begin(in)
	v.note(decision{Op: "begin", I: i})
	return i
}

func newSource(seed uint64, n int) *rand.PCG { return rand.NewPCG(seed, uint64(n)) }
