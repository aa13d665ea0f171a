package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/sim"
)

// The simulated district's patrol cars (the demo's, in sim/testdata/patrols.json: the score
// scenario with a patrol car at three of its ports) show
// on the wall: GET /patrols lists each car's crew in its port's unit with the car's plate and
// the position its OsmAnd tablet reported up to the end of the run; the crews log in with the
// passwords the demo writes down; the targeting loop sends the nearest crew, who reports; and
// no patrol car raises an alert.
func TestSimulatedPatrols(t *testing.T) {
	if testing.Short() {
		t.Skip("40 s of simulation")
	}
	const speedup = 600.0
	a, s := runScenario(t, "../../sim/testdata/patrols.json", "", speedup, 40*time.Second, 0, func(c *config) { c.RandomTargetShare = 0.2 }, &sim.Inspection{Every: time.Hour})
	ended := time.Now()
	a.mustCall("POST", "/api/v1/users", map[string]string{"username": "duty", "password": testPassword, "role": "command", "unit": "district"}, nil, 201)
	duty := a.login("duty", testPassword)

	var list struct {
		Patrols []struct {
			Username  string
			Unit      string
			VehicleID string `json:"vehicle_id"`
			Plate     string
			Lat, Lon  *float64
			AgeS      *int64 `json:"age_s"`
		}
	}
	if code := a.call("GET", "/api/v1/patrols", duty, nil, &list); code != 200 {
		t.Fatalf("GET /patrols = %d", code)
	}
	// Fresh: reported within a report interval of the run's end, however long the server's
	// clock (the simulated one, 600× real time) ran on since.
	maxAge := 30*time.Second + time.Duration(float64(time.Since(ended)+time.Second)*speedup)
	accounts := s.PatrolAccounts()
	if len(accounts) != 3 {
		t.Fatalf("%d patrol accounts, want the scenario's 3 patrol cars: %+v", len(accounts), accounts)
	}
	cars := map[string]bool{}
	for _, acc := range accounts {
		found := false
		for _, p := range list.Patrols {
			if p.Username != acc.Username {
				continue
			}
			found = true
			cars[p.VehicleID] = true
			switch {
			case p.Unit != acc.Unit || p.Plate != acc.Plate || !strings.HasPrefix(p.VehicleID, "patrol-"):
				t.Errorf("%s: unit %q plate %q car %q, want unit %q plate %q a patrol car", acc.Username, p.Unit, p.Plate, p.VehicleID, acc.Unit, acc.Plate)
			case p.Lat == nil || p.Lon == nil || p.AgeS == nil:
				t.Errorf("%s: no position", acc.Username)
			case time.Duration(*p.AgeS)*time.Second > maxAge:
				t.Errorf("%s: position %d s old, want at most %v", acc.Username, *p.AgeS, maxAge)
			}
		}
		if !found {
			t.Errorf("%s not among the patrols %+v", acc.Username, list.Patrols)
		}
		a.login(acc.Username, acc.Password)
	}

	var as struct {
		Assignments []struct {
			User       string
			Status     string
			AcceptedBy string `json:"accepted_by"`
		}
	}
	if code := a.call("GET", "/api/v1/assignments?all=true", duty, nil, &as); code != 200 {
		t.Fatalf("GET /assignments = %d", code)
	}
	crews := 0
	for _, x := range as.Assignments {
		if strings.HasPrefix(x.User, "sim-patrol-") {
			crews++
			if x.AcceptedBy != x.User {
				t.Errorf("assignment of %s accepted by %q", x.User, x.AcceptedBy)
			}
		}
	}
	t.Logf("%d assignments, %d to the crews of patrol cars", len(as.Assignments), crews)
	if crews == 0 {
		t.Errorf("no assignment went to a patrol car's crew: %+v", as.Assignments)
	}

	c, err := sim.Login(context.Background(), a.base, "admin", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := c.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, al := range alerts {
		if cars[al.VehicleID] {
			t.Errorf("patrol car %s raised %s at %v: %s", al.VehicleID, al.Type, al.Time, al.Message)
		}
	}
}
