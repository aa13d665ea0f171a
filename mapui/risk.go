package mapui

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/tracker"
)

// Risk scoring: each alert of the last 30 days adds its type's weight, halved every week of age,
// and each border crossing of the last 7 days adds a little: a vehicle that crosses often has
// more chances to carry what it should not. The day's inspection targets are the vehicles
// scoring at least riskThreshold, highest first, each with the reasons behind its score.
var alertWeights = map[string]float64{
	tracker.AlertBorderCrossingOutsidePort: 10,
	tracker.AlertCrossingMismatch:          8,
	tracker.AlertMeeting:                   6,
	tracker.AlertDetour:                    5,
	tracker.AlertSignalLost:                4,
	tracker.AlertGateMismatch:              4,
	tracker.AlertUnauthorizedStop:          3,
	tracker.AlertOverstay:                  3,
}

const (
	riskWindow        = 30 * 24 * time.Hour
	riskHalfLife      = 7 * 24 * time.Hour
	crossingWindow    = 7 * 24 * time.Hour
	crossingWeight    = 0.25
	riskThreshold     = 3.0
	maxRiskTargets    = 200
	riskQueryMaxItems = 200000
)

type riskTarget struct {
	VehicleID   string         `json:"vehicle_id"`
	Plate       string         `json:"plate,omitempty"`
	Kind        string         `json:"kind,omitempty"`
	Score       float64        `json:"score"`
	Alerts      map[string]int `json:"alerts"`
	Crossings7d int            `json:"crossings_7d"`
	Reasons     []string       `json:"reasons"`
}

func (s *Server) risk(c *gin.Context) {
	now := s.cfg.Now().UTC()
	alerts, err := s.cfg.Store.Alerts(c.Request.Context(), tracker.AlertQuery{From: now.Add(-riskWindow), To: now.Add(time.Minute), Limit: riskQueryMaxItems})
	if err != nil {
		s.storeFail(c, err)
		return
	}
	crossings, err := s.cfg.Store.Events(c.Request.Context(), tracker.EventQuery{Type: tracker.EventBorderCross, From: now.Add(-crossingWindow), To: now.Add(time.Minute), Limit: riskQueryMaxItems})
	if err != nil {
		s.storeFail(c, err)
		return
	}
	byVehicle := map[string]*riskTarget{}
	target := func(id string) *riskTarget {
		t := byVehicle[id]
		if t == nil {
			t = &riskTarget{VehicleID: id, Alerts: map[string]int{}}
			byVehicle[id] = t
		}
		return t
	}
	for _, a := range alerts {
		w, ok := alertWeights[a.Type]
		if !ok || a.VehicleID == "" {
			continue
		}
		t := target(a.VehicleID)
		t.Alerts[a.Type]++
		t.Score += w * math.Pow(0.5, now.Sub(a.Time).Hours()/riskHalfLife.Hours())
	}
	for _, e := range crossings {
		if e.VehicleID == "" {
			continue
		}
		t := target(e.VehicleID)
		t.Crossings7d++
		t.Score += crossingWeight
	}
	var out []*riskTarget
	for _, t := range byVehicle {
		if t.Score < riskThreshold {
			continue
		}
		t.Score = math.Round(t.Score*100) / 100
		types := make([]string, 0, len(t.Alerts))
		for typ := range t.Alerts {
			types = append(types, typ)
		}
		slices.SortFunc(types, func(a, b string) int { return int(alertWeights[b] - alertWeights[a]) })
		for _, typ := range types {
			t.Reasons = append(t.Reasons, fmt.Sprintf("%d × %s in 30 days", t.Alerts[typ], typ))
		}
		if t.Crossings7d > 0 {
			t.Reasons = append(t.Reasons, fmt.Sprintf("%d border crossings in 7 days", t.Crossings7d))
		}
		if v, err := s.cfg.Store.Vehicle(c.Request.Context(), t.VehicleID); err == nil {
			t.Plate, t.Kind = v.Plate, v.Kind
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *riskTarget) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		if a.VehicleID < b.VehicleID {
			return -1
		}
		return 1
	})
	limit := maxRiskTargets
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRiskTargets {
			badRequest(c, "limit must be 1.."+strconv.Itoa(maxRiskTargets))
			return
		}
		limit = n
	}
	if len(out) > limit {
		out = out[:limit]
	}
	if out == nil {
		out = []*riskTarget{}
	}
	cst := time.FixedZone("CST", 8*3600)
	c.JSON(http.StatusOK, gin.H{"date": now.In(cst).Format("2006-01-02"), "generated_at": now, "targets": out,
		"method": "sum of alert weights halved per week of age over 30 days, plus 0.25 per border crossing in 7 days; targets score ≥ 3"})
}
