package mapui

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/tracker/risk"
)

// Ranker ranks vehicles for inspection (risk.Scorer).
type Ranker interface {
	Ranking(now time.Time, limit int) []risk.Target
	// Weights are the alert types' weights and why those that learned from hit rates moved.
	Weights() (map[string]float64, map[string]string)
}

const maxRiskTargets = 200

type riskTarget struct {
	VehicleID   string           `json:"vehicle_id"`
	Plate       string           `json:"plate,omitempty"`
	Kind        string           `json:"kind,omitempty"`
	Score       float64          `json:"score"`
	Alerts      map[string]int   `json:"alerts"`
	Crossings7d int              `json:"crossings_7d"`
	Reasons     []string         `json:"reasons"`
	Group       *risk.Membership `json:"group,omitempty"`
	// GradeOrigin: the mine the truck loaded at yields another grade than declared.
	GradeOrigin *risk.GradeOrigin `json:"grade_origin,omitempty"`
	Ants        *risk.Ants        `json:"ants,omitempty"`
}

// risk lists the day's inspection targets, with each vehicle's plate and kind.
func (s *Server) risk(c *gin.Context) {
	now := s.cfg.Now().UTC()
	limit := maxRiskTargets
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRiskTargets {
			badRequest(c, "limit must be 1.."+strconv.Itoa(maxRiskTargets))
			return
		}
		limit = n
	}
	targets := s.cfg.Risk.Ranking(now, limit)
	out := make([]riskTarget, len(targets))
	for i, t := range targets {
		out[i] = riskTarget{VehicleID: t.VehicleID, Score: t.Score, Alerts: t.Alerts, Crossings7d: t.Crossings, Reasons: t.Reasons, Group: t.Group, GradeOrigin: t.GradeOrigin, Ants: t.Ants}
		if v, err := s.cfg.Store.Vehicle(c.Request.Context(), t.VehicleID); err == nil {
			out[i].Plate, out[i].Kind = v.Plate, v.Kind
		}
	}
	cst := time.FixedZone("CST", 8*3600)
	weights, learned := s.cfg.Risk.Weights()
	c.JSON(http.StatusOK, gin.H{"date": now.In(cst).Format("2006-01-02"), "generated_at": now, "targets": out, "method": risk.Method,
		"weights": weights, "learned": learned})
}
