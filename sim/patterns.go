package sim

import (
	"context"
	"net/http"
	"slices"
)

// Pattern rows of a score: what a History plants.
const (
	PatternGroup = "co_travel_group"
	PatternAnts  = "ant_moving"
)

// Groups returns the members of the co-travel groups the server finds in the 30 days to its
// present (GET /groups).
func (c *APIClient) Groups(ctx context.Context) ([][]string, error) {
	var out struct {
		Groups []struct {
			Members []struct {
				VehicleID string `json:"vehicle_id"`
			} `json:"members"`
		} `json:"groups"`
	}
	if err := (*apiClient)(c).do(ctx, http.MethodGet, "/groups", nil, &out); err != nil {
		return nil, err
	}
	groups := make([][]string, len(out.Groups))
	for i, g := range out.Groups {
		for _, m := range g.Members {
			groups[i] = append(groups[i], m.VehicleID)
		}
	}
	return groups, nil
}

// Ants returns the vehicles the risk ranking flags for ant moving (GET /risk). The server
// finds the patterns every 10 minutes: a history planted since is not in it yet.
func (c *APIClient) Ants(ctx context.Context) ([]string, error) {
	var out struct {
		Targets []struct {
			VehicleID string `json:"vehicle_id"`
			Ants      *struct {
				Week int `json:"week"`
			} `json:"ants"`
		} `json:"targets"`
	}
	if err := (*apiClient)(c).do(ctx, http.MethodGet, "/risk", nil, &out); err != nil {
		return nil, err
	}
	var ants []string
	for _, t := range out.Targets {
		if t.Ants != nil {
			ants = append(ants, t.VehicleID)
		}
	}
	return ants, nil
}

// ScorePatterns scores the groups and ant-moving cars the server found against the planted
// ones, one row each (none when the truth has no History). A planted group is detected when
// one found group holds all its members; a found group is correct when all its members are
// of one planted group. An ant-moving car is detected when flagged; a flag is correct when
// it names a planted car.
func ScorePatterns(truth *Truth, groups [][]string, ants []string) []ScoreRow {
	if len(truth.Groups) == 0 && len(truth.Ants) == 0 {
		return nil
	}
	g := ScoreRow{Type: PatternGroup, Injected: len(truth.Groups), Alerts: len(groups)}
	for _, p := range truth.Groups {
		if slices.ContainsFunc(groups, func(found []string) bool { return subset(p.Members, found) }) {
			g.Detected++
		}
	}
	for _, found := range groups {
		if slices.ContainsFunc(truth.Groups, func(p PlantedGroup) bool { return subset(found, p.Members) }) {
			g.Correct++
		}
	}
	a := ScoreRow{Type: PatternAnts, Injected: len(truth.Ants), Alerts: len(ants)}
	for _, id := range truth.Ants {
		if slices.Contains(ants, id) {
			a.Detected++
		}
	}
	for _, id := range ants {
		if slices.Contains(truth.Ants, id) {
			a.Correct++
		}
	}
	g.rates()
	a.rates()
	return []ScoreRow{g, a}
}

// subset reports whether every one of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
