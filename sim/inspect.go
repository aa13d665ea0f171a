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
	rng              *rand.Rand
	targeted         map[string]time.Time // vehicle → when targeted last (simulated)
	issued, reported int
}

// simUsers are the accounts the simulator acts as: a district command user and a patrol. Their
// passwords derive from the admin's, so a rerun against the same server logs in again.
func (w *world) simUsers(ctx context.Context, admin *apiClient) (command, patrol *apiClient, err error) {
	for _, u := range []struct {
		name, role string
		client     **apiClient
	}{{"sim-command", "command", &command}, {"sim-patrol", "patrol", &patrol}} {
		sum := sha256.Sum256([]byte(admin.pass + "\x00" + u.name))
		pw := "Sim-" + hex.EncodeToString(sum[:8]) + "-Pw1"
		err := admin.do(ctx, http.MethodPost, "/users", map[string]string{"username": u.name, "password": pw, "role": u.role, "unit": "district"}, nil)
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusConflict {
			err = admin.do(ctx, http.MethodPut, "/users/"+u.name, map[string]string{"password": pw}, nil)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("sim: user %s: %w", u.name, err)
		}
		if *u.client, err = login(ctx, admin.base[:len(admin.base)-len("/api/v1")], u.name, pw); err != nil {
			return nil, nil, err
		}
	}
	return command, patrol, nil
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
		if err := in.dispatch(ctx, o.ID); err != nil {
			return err
		}
		if err := in.patrol.do(ctx, http.MethodPost, "/targets/"+o.ID+"/result", res, nil); err != nil {
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

// dispatch sends the patrol to a fired order as command would, and the patrol accepts and
// arrives, so that the assignments and their times have data. An order sent already (a
// rerun against the same server) is left as it is.
func (in *inspector) dispatch(ctx context.Context, orderID string) error {
	var a struct {
		ID string `json:"id"`
	}
	err := in.command.do(ctx, http.MethodPost, "/assignments", map[string]string{"order_id": orderID, "user": "sim-patrol"}, &a)
	var se *statusError
	if errors.As(err, &se) && se.status < http.StatusInternalServerError {
		return nil
	}
	if err != nil {
		return err
	}
	for _, step := range []string{"accept", "arrive"} {
		if err := in.patrol.do(ctx, http.MethodPost, "/assignments/"+a.ID+"/"+step, nil, nil); err != nil {
			return err
		}
	}
	return nil
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
