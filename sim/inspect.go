package sim

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/paulmach/orb"
)

// Inspection plays customs' targeting loop on the server: a command user of the district
// targets the vehicles at the top of the risk ranking every Every of simulated time, a patrol
// inspects each order that fired (the vehicle reached a gate, a port or a yard), and the ground
// truth decides what the inspection finds: a vehicle the scenario planted smuggling on
// (SmugglingTypes) is found out with probability FindSmuggler, any other with FindInnocent.
// The server draws its random inspections itself: they are the baseline sim --score compares with.
type Inspection struct {
	Every        time.Duration // simulated; default 6 h
	Top          int           // vehicles targeted each time; default 10
	FindSmuggler float64       // default 0.8
	FindInnocent float64       // default 0.03
	// Intercept orders the patrol out at once (intercept now) instead of inspecting the vehicle
	// at its next crossing: every order is inspected within Every, not only those whose vehicle
	// crosses again.
	Intercept bool
}

// SmugglingTypes are the planted anomalies that mean the truck carries what it should not.
var SmugglingTypes = []string{AnomalyDetour, AnomalyStop, AnomalyMeeting, AnomalyCrossing, AnomalyOutsidePort, AnomalySealOpened}

func (in *Inspection) withDefaults() Inspection {
	out := *in
	if out.Every <= 0 {
		out.Every = 6 * time.Hour
	}
	if out.Top <= 0 {
		out.Top = 10
	}
	if out.FindSmuggler == 0 {
		out.FindSmuggler = 0.8
	}
	if out.FindInnocent == 0 {
		out.FindInnocent = 0.03
	}
	return out
}

type inspector struct {
	Inspection
	w                *world
	command, patrol  *apiClient
	crews            map[string]crew // patrol user → the patrol car they crew
	rng              *rand.Rand
	targeted         map[string]time.Time // vehicle → when targeted last (simulated)
	issued, reported int
}

// crew is a patrol user of the simulator's with the patrol car whose tablet is linked to them.
type crew struct {
	api *apiClient
	car *vehicle
}

// simPassword is the password of the simulator's user name: derived from the admin's, so that
// a rerun against the same server logs in again.
func simPassword(adminPass, name string) string {
	sum := sha256.Sum256([]byte(adminPass + "\x00" + name))
	return "Sim-" + hex.EncodeToString(sum[:8]) + "-Pw1"
}

// ensureUser creates the simulator's user name, or puts its password (and device) back on a
// rerun against the same server, and returns the password. device, when set, is the tablet the
// user reports from.
func (w *world) ensureUser(ctx context.Context, name, role, unit, device string) (string, error) {
	pw := simPassword(w.api.pass, name)
	req := map[string]string{"username": name, "password": pw, "role": role, "unit": unit}
	put := map[string]string{"password": pw}
	if device != "" {
		req["device_id"], put["device_id"] = device, device
	}
	err := w.api.do(ctx, http.MethodPost, "/users", req, nil)
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusConflict {
		err = w.api.do(ctx, http.MethodPut, "/users/"+name, put, nil)
	}
	if err != nil {
		return "", fmt.Errorf("sim: user %s: %w", name, err)
	}
	return pw, nil
}

// ensureCrews creates a patrol user in the port's unit for each patrol car, linked to its
// tablet, so that the wall shows the patrols where their cars are.
func (w *world) ensureCrews(ctx context.Context, cars []*vehicle) error {
	for _, v := range cars {
		if v.fleet.Trip != TripPatrol {
			continue
		}
		if _, err := w.ensureUser(ctx, crewName(v.id), "patrol", v.port.ID, v.deviceID); err != nil {
			return err
		}
	}
	return nil
}

// simUsers are the accounts the simulator acts as: a district command user, a district patrol
// (who goes where no patrol car is placed to) and the crews of the patrol cars, logged in.
func (w *world) simUsers(ctx context.Context) (command, patrol *apiClient, crews map[string]crew, err error) {
	base := w.api.base[:len(w.api.base)-len("/api/v1")]
	as := func(name, role string) (*apiClient, error) {
		pw, err := w.ensureUser(ctx, name, role, "district", "")
		if err != nil {
			return nil, err
		}
		return login(ctx, base, name, pw)
	}
	if command, err = as("sim-command", "command"); err != nil {
		return nil, nil, nil, err
	}
	if patrol, err = as("sim-patrol", "patrol"); err != nil {
		return nil, nil, nil, err
	}
	crews = map[string]crew{}
	for _, v := range w.fleet {
		if v.fleet.Trip != TripPatrol {
			continue
		}
		// ensureCrews (Run) created them.
		api, err := login(ctx, base, crewName(v.id), simPassword(w.api.pass, crewName(v.id)))
		if err != nil {
			return nil, nil, nil, err
		}
		crews[crewName(v.id)] = crew{api: api, car: v}
	}
	return command, patrol, crews, nil
}

func (in *inspector) run(ctx context.Context, c *Clock) {
	next := c.Now()
	for {
		next = next.Add(in.Every)
		if c.SleepUntil(ctx, next) != nil {
			return
		}
		if err := in.inspect(ctx); err != nil && ctx.Err() == nil {
			in.w.log.Warn("sim: inspections", "err", err)
		}
		if err := in.target(ctx, c.Now()); err != nil && ctx.Err() == nil {
			in.w.log.Warn("sim: targeting", "err", err)
		}
	}
}

type order struct {
	ID        string `json:"id"`
	VehicleID string `json:"vehicle_id"`
}

// target issues orders for the Top vehicles highest in the risk ranking that were not targeted
// in the last three days, on their newest open alert where they have one.
func (in *inspector) target(ctx context.Context, now time.Time) error {
	var ranking struct {
		Targets []struct {
			VehicleID string `json:"vehicle_id"`
		} `json:"targets"`
	}
	// Those targeted already are passed over: the ranking is read as far down as they reach.
	if err := in.command.do(ctx, http.MethodGet, fmt.Sprintf("/risk?limit=%d", min(in.Top+len(in.targeted), 200)), nil, &ranking); err != nil {
		return err
	}
	issued := 0
	for _, t := range ranking.Targets {
		if issued == in.Top {
			break
		}
		if last, ok := in.targeted[t.VehicleID]; ok && now.Sub(last) < 72*time.Hour {
			continue
		}
		var open struct {
			Alerts []struct {
				ID int64 `json:"id"`
			} `json:"alerts"`
		}
		q := url.Values{"vehicle_id": {t.VehicleID}, "status": {"open"}, "limit": {"1"}}
		if err := in.command.do(ctx, http.MethodGet, "/alerts?"+q.Encode(), nil, &open); err != nil {
			return err
		}
		action := "inspect_next_crossing"
		if in.Intercept {
			action = "intercept_now"
		}
		req := map[string]any{"vehicle_id": t.VehicleID, "reason": "risk", "action": action}
		if len(open.Alerts) > 0 {
			req["reason"], req["alert_id"] = "alert", open.Alerts[0].ID
		}
		if err := in.command.do(ctx, http.MethodPost, "/targets", req, nil); err != nil {
			return err
		}
		in.targeted[t.VehicleID] = now
		in.issued++
		issued++
	}
	return nil
}

// inspect reports on every order that fired, as the ground truth has it.
func (in *inspector) inspect(ctx context.Context) error {
	var fired struct {
		Targets []order `json:"targets"`
	}
	if err := in.patrol.do(ctx, http.MethodGet, "/targets?status=fired", nil, &fired); err != nil {
		return err
	}
	smugglers := map[string]bool{}
	for _, inj := range in.w.truth.snapshot().Injections {
		if slices.Contains(SmugglingTypes, inj.Type) {
			smugglers[inj.VehicleID] = true
		}
	}
	for _, o := range fired.Targets {
		p := in.FindInnocent
		if smugglers[o.VehicleID] {
			p = in.FindSmuggler
		}
		res := map[string]any{"found": false, "category": "none", "note": "sim"}
		if in.rng.Float64() < p {
			res["found"], res["category"] = true, "undeclared_goods"
		}
		by, err := in.dispatch(ctx, o.ID)
		if err != nil {
			return err
		}
		if err := by.do(ctx, http.MethodPost, "/targets/"+o.ID+"/result", res, nil); err != nil {
			var se *statusError
			if errors.As(err, &se) && se.status == http.StatusConflict {
				continue // reported meanwhile
			}
			return err
		}
		in.reported++
	}
	return nil
}

// dispatch sends the patrol nearest to the order's vehicle to a fired order as command would,
// who accepts and arrives, so that the assignments and their times have data, and their car
// drives there. It returns the patrol who reports. An order sent already (a rerun against the
// same server) is left as it is, and sim-patrol reports.
func (in *inspector) dispatch(ctx context.Context, orderID string) (*apiClient, error) {
	name, c, at := in.nearest(ctx, orderID)
	var a struct {
		ID string `json:"id"`
	}
	err := in.command.do(ctx, http.MethodPost, "/assignments", map[string]string{"order_id": orderID, "user": name}, &a)
	var se *statusError
	if errors.As(err, &se) && se.status < http.StatusInternalServerError {
		return in.patrol, nil
	}
	if err != nil {
		return nil, err
	}
	by := in.patrol
	if c != nil {
		by = c.api
	}
	for _, step := range []string{"accept", "arrive"} {
		if err := by.do(ctx, http.MethodPost, "/assignments/"+a.ID+"/"+step, nil, nil); err != nil {
			return nil, err
		}
		if step == "accept" && c != nil {
			c.car.send(at)
		}
	}
	return by, nil
}

// nearest is the patrol command sends to the order: the crew of the nearest patrol car with a
// position (GET /patrols?order_id=), and where the order's vehicle is; sim-patrol when no car
// has a position or the server cannot tell where the vehicle is.
func (in *inspector) nearest(ctx context.Context, orderID string) (string, *crew, orb.Point) {
	var ps struct {
		Patrols []struct {
			Username  string   `json:"username"`
			DistanceM *float64 `json:"distance_m"`
		} `json:"patrols"`
		Near *struct {
			Lon float64 `json:"lon"`
			Lat float64 `json:"lat"`
		} `json:"near"`
	}
	if err := in.command.do(ctx, http.MethodGet, "/patrols?"+url.Values{"order_id": {orderID}}.Encode(), nil, &ps); err != nil || ps.Near == nil {
		in.w.log.Debug("sim: no patrol car placed to send", "order", orderID, "err", err)
		return "sim-patrol", nil, orb.Point{}
	}
	for _, p := range ps.Patrols {
		if c, ok := in.crews[p.Username]; ok && p.DistanceM != nil {
			return p.Username, &c, orb.Point{ps.Near.Lon, ps.Near.Lat}
		}
	}
	return "sim-patrol", nil, orb.Point{}
}

// HitRow is one source's orders over the run: issued, inspected, found.
type HitRow struct {
	Source    string  `json:"source"`
	Issued    int     `json:"issued"`
	Inspected int     `json:"inspected"`
	Found     int     `json:"found"`
	HitRate   float64 `json:"hit_rate"`
}

// HitRates returns the server's hit table summed over ports and months, by source, and the
// random draws' row as the baseline.
func (c *APIClient) HitRates(ctx context.Context) ([]HitRow, HitRow, error) {
	var out struct {
		Rows     []HitRow `json:"rows"`
		Baseline HitRow   `json:"baseline"`
	}
	if err := (*apiClient)(c).do(ctx, http.MethodGet, "/stats/hits", nil, &out); err != nil {
		return nil, HitRow{}, err
	}
	by := map[string]*HitRow{}
	for _, r := range out.Rows {
		s := by[r.Source]
		if s == nil {
			s = &HitRow{Source: r.Source}
			by[r.Source] = s
		}
		s.Issued += r.Issued
		s.Inspected += r.Inspected
		s.Found += r.Found
	}
	rows := make([]HitRow, 0, len(by))
	for _, s := range by {
		if s.Inspected > 0 {
			s.HitRate = float64(s.Found) / float64(s.Inspected)
		}
		rows = append(rows, *s)
	}
	slices.SortFunc(rows, func(a, b HitRow) int { return cmp.Or(b.Inspected-a.Inspected, cmp.Compare(a.Source, b.Source)) })
	return rows, out.Baseline, nil
}
