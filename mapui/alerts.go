package mapui

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

func (s *Server) events(c *gin.Context) {
	q := tracker.EventQuery{VehicleID: c.Query("vehicle_id"), Type: c.Query("type"), Limit: 10000}
	if !s.optionalPeriod(c, &q.From, &q.To) || !limitParam(c, &q.Limit) {
		return
	}
	area, ok := s.scope(c)
	if !ok {
		return
	}
	evs, err := s.cfg.Store.Events(c.Request.Context(), q)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if area != nil {
		evs = slices.DeleteFunc(evs, func(ev tracker.Event) bool { return !area.seesEvent(&ev) })
	}
	c.JSON(http.StatusOK, gin.H{"events": evs})
}

// optionalPeriod reads from/to when given; both are optional for event and alert lists.
func (s *Server) optionalPeriod(c *gin.Context, from, to *time.Time) bool {
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", from}, {"to", to}} {
		if v := c.Query(p.name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				badRequest(c, p.name+": "+err.Error())
				return false
			}
			*p.dst = t
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(*to) {
		badRequest(c, "from must be before to")
		return false
	}
	return true
}

func limitParam(c *gin.Context, limit *int) bool {
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			badRequest(c, "limit must be 1..100000")
			return false
		}
		*limit = n
	}
	return true
}

var alertStatuses = map[string]bool{"": true, tracker.StatusOpen: true, tracker.StatusAcknowledged: true, tracker.StatusResolved: true}

var alertSeverities = map[string]bool{"": true, tracker.SeverityInfo: true, tracker.SeverityWarning: true, tracker.SeverityCritical: true}

// alertAnswer is an alert with what a person reads of its vehicle: the plate and the kind.
type alertAnswer struct {
	tracker.Alert
	Plate       string `json:"plate,omitempty"`
	VehicleKind string `json:"vehicle_kind,omitempty"`
	// Inspections are the orders raised on the alert with their results and photos (the
	// alert's detail only; each photo at /alerts/{id}/photos/{sha256}).
	Inspections []targeting.Inspection `json:"inspections,omitempty"`
}

// listAlerts answers the alerts newest first, filtered by vehicle, plate (any part of it),
// type, severity, status, port (its own zones and those whose port_id names it, or a
// declaration through them) and period, a page of limit from offset; next_offset is set while
// more follow.
func (s *Server) listAlerts(c *gin.Context) {
	q := tracker.AlertQuery{VehicleID: c.Query("vehicle_id"), Type: c.Query("type"), Status: c.Query("status"), Severity: c.Query("severity"), Limit: 5000}
	switch {
	case !alertStatuses[q.Status]:
		badRequest(c, "status must be open, acknowledged or resolved")
		return
	case !alertSeverities[q.Severity]:
		badRequest(c, "severity must be info, warning or critical")
		return
	case len(q.Type) > 64:
		badRequest(c, "type longer than 64 characters")
		return
	}
	if !s.optionalPeriod(c, &q.From, &q.To) || !limitParam(c, &q.Limit) {
		return
	}
	if v := c.Query("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			badRequest(c, "offset must be 0..1000000")
			return
		}
		q.Offset = n
	}
	ctx := c.Request.Context()
	vs, err := s.cfg.Store.Vehicles(ctx)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if plate := c.Query("plate"); plate != "" {
		if len(plate) > 32 {
			badRequest(c, "plate longer than 32 bytes")
			return
		}
		want := normPlate(plate)
		for _, v := range vs {
			if want != "" && strings.Contains(normPlate(v.Plate), want) {
				q.VehicleIDs = append(q.VehicleIDs, v.ID)
			}
		}
		if len(q.VehicleIDs) == 0 {
			c.JSON(http.StatusOK, gin.H{"alerts": []alertAnswer{}})
			return
		}
	}
	if port := c.Query("port"); port != "" {
		zones, ok := s.portZones(c, port)
		if !ok {
			return
		}
		q.Zones = zones
	}
	area, ok := s.scope(c)
	if !ok {
		return
	}
	limit := q.Limit
	q.Limit++ // one more tells whether another page follows
	as, err := s.cfg.Store.Alerts(ctx, q)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	next := 0
	if len(as) > limit {
		as, next = as[:limit], q.Offset+limit
	}
	if area != nil {
		as = slices.DeleteFunc(as, func(a tracker.Alert) bool { return !area.seesAlert(&a) })
	}
	byID := make(map[string]tracker.Vehicle, len(vs))
	for _, v := range vs {
		byID[v.ID] = v
	}
	out := make([]alertAnswer, len(as))
	for i, a := range as {
		out[i] = alertAnswer{Alert: a, Plate: byID[a.VehicleID].Plate, VehicleKind: byID[a.VehicleID].Kind}
	}
	res := gin.H{"alerts": out}
	if next > 0 {
		res["next_offset"] = next
	}
	c.JSON(http.StatusOK, res)
}

// portZones is the port and the zones that belong to it (their port_id names it); a 400 when
// port is not a port zone.
func (s *Server) portZones(c *gin.Context, port string) ([]string, bool) {
	zs, err := s.cfg.Store.Zones(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return nil, false
	}
	var out []string
	for _, z := range zs {
		if z.ID == port && z.Kind != geofence.KindPort {
			break
		}
		if z.ID == port || z.Properties["port_id"] == port {
			out = append(out, z.ID)
		}
	}
	if !slices.Contains(out, port) {
		badRequest(c, "port must be the id of a port zone")
		return nil, false
	}
	return out, true
}

// normPlate is a plate as compared in searches: without separators, upper case.
func normPlate(p string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '·', '-', '.', '•':
			return -1
		}
		return unicode.ToUpper(r)
	}, p)
}

func alertID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		badRequest(c, "alert id must be a positive integer")
		return 0, false
	}
	return id, true
}

func (s *Server) getAlert(c *gin.Context) {
	a, ok := s.alertInView(c)
	if !ok {
		return
	}
	out := alertAnswer{Alert: a}
	if v, err := s.cfg.Store.Vehicle(c.Request.Context(), a.VehicleID); err == nil {
		out.Plate, out.VehicleKind = v.Plate, v.Kind
	}
	if s.cfg.Targets != nil {
		var err error
		if out.Inspections, err = s.cfg.Targets.AlertInspections(c.Request.Context(), a); err != nil {
			s.storeFail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, out)
}

// alertInArea is tracker.ErrNotFound when area does not show the alert id: one outside a
// unit's area is handled as one that does not exist.
func (s *Server) alertInArea(ctx context.Context, area *unitArea, id int64) error {
	if area == nil {
		return nil
	}
	a, err := s.cfg.Store.Alert(ctx, id)
	if err == nil && !area.seesAlert(&a) {
		return tracker.ErrNotFound
	}
	return err
}

func (s *Server) alertStatus(status string) gin.HandlerFunc {
	action := map[string]string{tracker.StatusAcknowledged: "alert.ack", tracker.StatusResolved: "alert.resolve"}[status]
	return s.alertChange(action, func(ctx context.Context, id int64, user, note string, at time.Time) (tracker.Alert, error) {
		return s.cfg.Store.SetAlertStatus(ctx, id, status, user, note, at)
	})
}

// confirmAlert records an officer's word that the alert was an offence: resolved if it is not
// yet, and counted for the vehicle (and a later vehicle with its plate or driver card) as a
// repeat offender. Once per alert: again is a 409.
func (s *Server) confirmAlert(c *gin.Context) {
	s.alertChange("alert.confirm", s.cfg.Store.ConfirmAlert)(c)
}

// alertChange handles a change of an alert's lifecycle by change, with an optional note,
// audited as action.
func (s *Server) alertChange(action string, change func(ctx context.Context, id int64, user, note string, at time.Time) (tracker.Alert, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := alertID(c)
		if !ok {
			return
		}
		var req struct {
			Note string `json:"note"`
		}
		if c.Request.ContentLength != 0 && !bindJSON(c, &req) {
			return
		}
		if len(req.Note) > 4000 {
			badRequest(c, "note longer than 4000 characters")
			return
		}
		area, ok := s.scope(c)
		if !ok {
			return
		}
		se := session(c)
		var a tracker.Alert
		err := s.alertInArea(c.Request.Context(), area, id)
		if err == nil {
			a, err = change(c.Request.Context(), id, se.Username, strings.TrimSpace(req.Note), time.Now().UTC())
		}
		if err != nil {
			result := "error"
			if errors.Is(err, tracker.ErrTransition) || errors.Is(err, tracker.ErrNotFound) {
				result = "refused"
			}
			s.cfg.Access.Record(c.Request.Context(), se.Username, action, "alert:"+c.Param("id"), result, gin.H{"error": err.Error()})
			s.storeFail(c, err)
			return
		}
		if s.cfg.Hub != nil {
			s.cfg.Hub.Publish(nil, nil, []tracker.Alert{a})
		}
		if s.audited(c, action, "alert:"+c.Param("id"), gin.H{"note": req.Note, "vehicle_id": a.VehicleID}) {
			c.JSON(http.StatusOK, a)
		}
	}
}

func (s *Server) gateEvent(c *gin.Context) {
	var g tracker.GateRead
	if !bindJSON(c, &g) {
		return
	}
	switch {
	case g.GateZoneID == "":
		badRequest(c, "gate_zone_id is required")
		return
	case g.Plate == "" && g.CardID == "":
		badRequest(c, "a plate or a card_id is required")
		return
	case g.Direction != "in" && g.Direction != "out":
		badRequest(c, "direction must be in or out")
		return
	case g.Time.IsZero():
		g.Time = s.cfg.Now().UTC()
	case g.Time.After(s.cfg.Now().Add(10 * time.Minute)):
		badRequest(c, "time is in the future")
		return
	}
	if _, err := s.cfg.Store.Zone(c.Request.Context(), g.GateZoneID); err != nil {
		if errors.Is(err, tracker.ErrNotFound) {
			badRequest(c, "gate_zone_id "+g.GateZoneID+" is not a zone")
		} else {
			s.storeFail(c, err)
		}
		return
	}
	var ev tracker.Event
	var alerts []tracker.Alert
	if s.cfg.Gates != nil {
		ev, alerts = s.cfg.Gates.GateRead(c.Request.Context(), g)
	} else {
		var err error
		if ev, err = s.matchGate(c, g); err != nil {
			s.storeFail(c, err)
			return
		}
	}
	// Answered once durable, as fixes are acknowledged.
	if err := s.cfg.Ingest.Emit(c.Request.Context(), []tracker.Event{ev}, alerts); err != nil {
		s.storeFail(c, err)
		return
	}
	// hold tells the gate system to keep the barrier down: a targeting order holds the vehicle.
	holds := []tracker.TargetOrder{}
	if s.cfg.Targets != nil {
		var err error
		if holds, err = s.cfg.Targets.Match(c.Request.Context(), targeting.Hit{VehicleID: ev.VehicleID, Plate: g.Plate,
			ZoneID: g.GateZoneID, Via: targeting.ViaGateRead, Time: g.Time}); err != nil {
			s.log.Error("gate read: matching targeting orders", "zone_id", g.GateZoneID, "err", err)
		}
	}
	c.JSON(http.StatusCreated, gin.H{"event": ev, "alerts": alerts, "hold": len(holds) > 0, "orders": holds})
}

// matchGate finds the vehicle a gate read names, by plate and then by card.
func (s *Server) matchGate(c *gin.Context, g tracker.GateRead) (tracker.Event, error) {
	vs, err := s.cfg.Store.Vehicles(c.Request.Context())
	if err != nil {
		return tracker.Event{}, err
	}
	for _, v := range vs {
		if (g.Plate != "" && v.Plate == g.Plate) || (g.CardID != "" && v.CardID == g.CardID) {
			return g.Event(v.ID), nil
		}
	}
	return g.Event(""), nil
}
