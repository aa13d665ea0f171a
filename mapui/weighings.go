package mapui

import (
	"cmp"
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// weighingRequest is what a weighbridge posts; the vehicle and the declaration are the
// server's to match, not the scale's to say.
type weighingRequest struct {
	ScaleID  string    `json:"scale_id"`
	ZoneID   string    `json:"zone_id"`
	Time     time.Time `json:"time"`
	Plate    string    `json:"plate"`
	CardID   string    `json:"card_id"`
	GrossKg  *float64  `json:"gross_kg"`
	TareKg   *float64  `json:"tare_kg"`
	NetKg    *float64  `json:"net_kg"`
	Operator string    `json:"operator"`
}

// netSlackKg is how far net may be from gross − tare: the scale's own rounding.
const netSlackKg = 1

// checkWeighing validates a reading; it returns the reason it is refused, or "".
func (s *Server) checkWeighing(c *gin.Context, r *weighingRequest) string {
	kg := func(v *float64) bool { return v != nil && *v >= 0 && *v <= maxNetKg }
	switch {
	case !validID.MatchString(r.ScaleID):
		return "scale_id must be 1–64 letters, digits, '_', '-', '.', ':'"
	case r.ZoneID == "":
		return "zone_id is required: the yard or port the scale stands in"
	case r.Plate == "" && r.CardID == "":
		return "a plate or a card_id is required"
	case len(r.Plate) > 40 || len(r.CardID) > 40 || len(r.Operator) > 100:
		return "plate and card_id must be at most 40 bytes, operator at most 100"
	case !kg(r.GrossKg) || *r.GrossKg == 0:
		return "gross_kg is required, above 0 and at most 1000000"
	case !kg(r.TareKg):
		return "tare_kg is required, from 0 to 1000000"
	case *r.TareKg > *r.GrossKg:
		return "tare_kg must not exceed gross_kg"
	case r.NetKg != nil && math.Abs(*r.GrossKg-*r.TareKg-*r.NetKg) > netSlackKg:
		return "net_kg must be gross_kg − tare_kg"
	case r.Time.After(s.cfg.Now().Add(10 * time.Minute)):
		return "time is in the future"
	}
	z, err := s.cfg.Store.Zone(c.Request.Context(), r.ZoneID)
	switch {
	case errors.Is(err, tracker.ErrNotFound):
		return "zone_id " + r.ZoneID + " is not a zone"
	case err != nil:
		return "" // the store's failure is answered when the reading is stored
	case z.Kind != geofence.KindYard && z.Kind != geofence.KindPort:
		return "zone_id " + r.ZoneID + " is a " + string(z.Kind) + ", not a yard or a port"
	}
	return ""
}

func (s *Server) postWeighing(c *gin.Context) {
	var r weighingRequest
	if !bindJSON(c, &r) {
		return
	}
	r.ScaleID, r.Plate, r.CardID, r.Operator = strings.TrimSpace(r.ScaleID), strings.TrimSpace(r.Plate), strings.TrimSpace(r.CardID), strings.TrimSpace(r.Operator)
	if msg := s.checkWeighing(c, &r); msg != "" {
		badRequest(c, msg)
		return
	}
	now := s.cfg.Now().UTC()
	w := tracker.Weighing{ScaleID: r.ScaleID, ZoneID: r.ZoneID, Time: cmp.Or(r.Time, now).UTC(), Plate: r.Plate, CardID: r.CardID,
		GrossKg: *r.GrossKg, TareKg: *r.TareKg, NetKg: *r.GrossKg - *r.TareKg, Operator: r.Operator, ReceivedAt: now}
	if r.NetKg != nil {
		w.NetKg = *r.NetKg
	}
	commit := s.cfg.WeighingCommit
	if commit == nil {
		commit = func(ctx context.Context, w tracker.Weighing) (tracker.Weighing, []tracker.Alert, error) {
			return CommitWeighing(ctx, s.cfg.Weighings, s.cfg.Store, s.cfg.Ingest, w)
		}
	}
	w, alerts, err := commit(c.Request.Context(), w)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if alerts == nil {
		alerts = []tracker.Alert{}
	}
	c.JSON(http.StatusCreated, gin.H{"weighing": w, "alerts": alerts})
}

// WeighingStore stores weighbridge readings.
type WeighingStore interface {
	AddWeighing(ctx context.Context, w tracker.Weighing) (int64, error)
}

// CommitWeighing judges a reading (h may be nil: matched to nothing), stores it and commits its
// event and alerts through ingest; it returns the reading as stored and its alerts.
func CommitWeighing(ctx context.Context, h WeighingHandler, st WeighingStore, ingest Ingest, w tracker.Weighing) (tracker.Weighing, []tracker.Alert, error) {
	var out tracker.Outcome
	if h != nil {
		w, out = h.Weighing(ctx, w)
	} else {
		out.Events = []tracker.Event{w.Event(0, 0)}
	}
	id, err := st.AddWeighing(ctx, w)
	if err != nil {
		return w, nil, err
	}
	w.ID = id
	for i := range out.Events {
		out.Events[i].Attrs["weighing_id"] = id
	}
	if err := ingest.Emit(ctx, out.Events, out.Alerts); err != nil {
		return w, nil, err
	}
	return w, out.Alerts, nil
}

// listWeighings lists readings by vehicle, declaration or scale (at least one), oldest first.
func (s *Server) listWeighings(c *gin.Context) {
	q := tracker.WeighingQuery{VehicleID: c.Query("vehicle_id"), DeclarationID: c.Query("declaration_id"), ScaleID: c.Query("scale_id"), Limit: 5000}
	if q.VehicleID == "" && q.DeclarationID == "" && q.ScaleID == "" {
		badRequest(c, "vehicle_id, declaration_id or scale_id is required")
		return
	}
	if !s.optionalPeriod(c, &q.From, &q.To) || !limitParam(c, &q.Limit) {
		return
	}
	area, ok := s.scope(c)
	if !ok {
		return
	}
	ws, err := s.cfg.Store.Weighings(c.Request.Context(), q)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if area != nil {
		ws = slices.DeleteFunc(ws, func(w tracker.Weighing) bool { return !area.zones[w.ZoneID] })
	}
	c.JSON(http.StatusOK, gin.H{"weighings": ws})
}

// scaleDrift reports each scale's difference from the other scales on the same trucks over
// the last days (default 30, at most 366): what a calibration order (定期计量检定) rests on.
func (s *Server) scaleDrift(c *gin.Context) {
	days := 30
	if v := c.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 366 {
			badRequest(c, "days must be 1..366")
			return
		}
		days = n
	}
	to := s.cfg.Now().UTC()
	from := to.Add(-time.Duration(days) * 24 * time.Hour)
	ws, err := s.cfg.Store.Weighings(c.Request.Context(), tracker.WeighingQuery{From: from, To: to.Add(time.Minute)})
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"from": from, "to": to, "days": days, "tolerance_pct": s.cfg.ScaleTolerancePct,
		"scales": tracker.Drift(ws, s.cfg.ScaleTolerancePct)})
}
