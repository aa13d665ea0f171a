package mapui

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// maxNetKg bounds a declared net weight: far above any road train, below what makes no sense.
const maxNetKg = 1_000_000

// checkDeclaration validates a declaration against the registry and the zones it names.
func (s *Server) checkDeclaration(c *gin.Context, d *tracker.Declaration) string {
	switch {
	case !validID.MatchString(d.ID):
		return "id must be 1–64 letters, digits, '_', '-', '.', ':'"
	case d.VehicleID == "":
		return "vehicle_id is required"
	case d.Direction != tracker.Inbound && d.Direction != tracker.Outbound:
		return "direction must be inbound or outbound"
	case d.PortZoneID == "":
		return "port_zone_id is required"
	case d.ValidFrom.IsZero() || d.ValidTo.IsZero():
		return "valid_from and valid_to are required (RFC 3339)"
	case !d.ValidFrom.Before(d.ValidTo):
		return "valid_from must be before valid_to"
	case d.Type != tracker.DeclarationNormal && d.Type != tracker.DeclarationEmergency:
		return "type must be normal or emergency"
	case d.DeclaredNetKg != nil && !(*d.DeclaredNetKg >= 0 && *d.DeclaredNetKg <= maxNetKg):
		return "declared_net_kg must be from 0 to 1000000"
	case len(d.DriverCard) > 40:
		return "driver_card must be at most 40 bytes"
	case d.SealID != "" && !validID.MatchString(d.SealID):
		return "seal_id must be 1–64 letters, digits, '_', '-', '.', ':'"
	case len(d.Cargo) > 500 || len(d.Grade) > 100:
		return "cargo must be at most 500 bytes, grade at most 100"
	case strings.ContainsFunc(d.Grade, unicode.IsControl):
		return "grade must be one line of text: it is compared with the mines' grades (grade_origin)"
	}
	if _, err := s.cfg.Store.Vehicle(c.Request.Context(), d.VehicleID); err != nil {
		return "vehicle_id " + d.VehicleID + " is not a registered vehicle"
	}
	for _, ref := range []struct {
		id, field string
		kind      geofence.Kind
	}{{d.PortZoneID, "port_zone_id", geofence.KindPort}, {d.CorridorZoneID, "corridor_zone_id", geofence.KindCorridor}, {d.YardZoneID, "yard_zone_id", geofence.KindYard}} {
		if ref.id == "" {
			continue
		}
		z, err := s.cfg.Store.Zone(c.Request.Context(), ref.id)
		if err != nil {
			return ref.field + " " + ref.id + " is not a zone"
		}
		if z.Kind != ref.kind {
			return ref.field + " " + ref.id + " is a " + string(z.Kind) + ", not a " + string(ref.kind)
		}
	}
	return ""
}

func (s *Server) createDeclaration(c *gin.Context) {
	var d tracker.Declaration
	if !bindJSON(c, &d) {
		return
	}
	d.Type = cmp.Or(d.Type, tracker.DeclarationNormal)
	d.DriverCard, d.SealID, d.Grade = strings.TrimSpace(d.DriverCard), strings.TrimSpace(d.SealID), strings.TrimSpace(d.Grade)
	window := given{from: !d.ValidFrom.IsZero(), to: !d.ValidTo.IsZero()}
	if d.Type == tracker.DeclarationEmergency {
		// Made in a hurry on a tablet: the window may be left to the server.
		d.ValidFrom = cmp.Or(d.ValidFrom, s.cfg.Now().UTC())
		d.ValidTo = cmp.Or(d.ValidTo, d.ValidFrom.Add(s.cfg.EmergencyWindow))
	}
	if msg := s.checkDeclaration(c, &d); msg != "" {
		badRequest(c, msg)
		return
	}
	if d.Type == tracker.DeclarationEmergency && d.ValidTo.Sub(d.ValidFrom) > maxEmergencyWindow {
		badRequest(c, "an emergency window is at most 12 h; declare a longer trip as a normal one")
		return
	}
	d = d.WithSuspended()
	d.ValidFrom, d.ValidTo = d.ValidFrom.UTC(), d.ValidTo.UTC()
	d.Status, d.StatusReason, d.ClosedAt = tracker.DeclarationActive, "", nil
	d.CreatedAt = s.cfg.Now().UTC()
	// A client resends a declaration whose answer it did not get (a 503, a lost connection): the
	// resend of one stored is answered as its creation was.
	if prev, err := s.cfg.Store.Declaration(c.Request.Context(), d.ID); err == nil {
		s.createdAgain(c, prev, d, window)
		return
	} else if !errors.Is(err, tracker.ErrNotFound) {
		s.storeFail(c, err)
		return
	}
	// An emergency's alert is raised before the declaration is stored: in a cluster the
	// vehicle's owner commits it and may not answer, and a declaration stored without its alert
	// would suspend rules with no officer told. An alert raised for a declaration then not
	// stored is raised again, not twice, by the resend (its DedupKey).
	if d.Type == tracker.DeclarationEmergency {
		if err := s.announceEmergency(c, d); err != nil {
			s.storeFail(c, err)
			return
		}
	}
	if err := s.cfg.Store.CreateDeclaration(c.Request.Context(), d); err != nil {
		if prev, perr := s.cfg.Store.Declaration(c.Request.Context(), d.ID); errors.Is(err, tracker.ErrConflict) && perr == nil {
			s.createdAgain(c, prev, d, window) // the same sent twice at once
			return
		}
		s.storeFail(c, err)
		return
	}
	if s.cfg.DeclarationsChanged != nil {
		s.cfg.DeclarationsChanged(c.Request.Context(), d)
	}
	if s.cfg.Targets != nil {
		if _, err := s.cfg.Targets.Match(c.Request.Context(), targeting.Hit{VehicleID: d.VehicleID, ZoneID: d.PortZoneID,
			Via: targeting.ViaDeclaration, Time: d.CreatedAt}); err != nil {
			s.log.Error("declaration: matching targeting orders", "declaration", d.ID, "err", err)
		}
	}
	// The audit record is the declaration as created, its suspended rules with it.
	if s.audited(c, "declaration.create", "declaration:"+d.ID, d) {
		c.JSON(http.StatusCreated, d)
	}
}

// given says which ends of its window a declaration's request gave (an emergency's may leave
// them to the server).
type given struct{ from, to bool }

// createdAgain answers a request to create declaration d when one with its ID is stored (prev):
// the same request sent again is answered 201 with the declaration stored and audited as the
// request it is, as long as the declaration is active; anything else is 409, the ID is taken.
func (s *Server) createdAgain(c *gin.Context, prev, d tracker.Declaration, window given) {
	if prev.Status != tracker.DeclarationActive || !sameDeclaration(prev, d, window) {
		fail(c, http.StatusConflict, "conflict", "a declaration with this id already exists")
		return
	}
	prev = prev.WithSuspended()
	if s.audited(c, "declaration.create", "declaration:"+prev.ID, prev) {
		c.JSON(http.StatusCreated, prev)
	}
}

// sameDeclaration reports whether request d asks for stored declaration prev: the same fields,
// the window's ends compared where the request gave them (the server fills in an emergency's).
func sameDeclaration(prev, d tracker.Declaration, window given) bool {
	sameTime := func(a, b time.Time) bool { return a.Sub(b).Abs() < time.Microsecond }
	sameKg := prev.DeclaredNetKg == nil && d.DeclaredNetKg == nil ||
		prev.DeclaredNetKg != nil && d.DeclaredNetKg != nil && *prev.DeclaredNetKg == *d.DeclaredNetKg
	return prev.VehicleID == d.VehicleID && prev.Direction == d.Direction && prev.Type == d.Type &&
		prev.PortZoneID == d.PortZoneID && prev.CorridorZoneID == d.CorridorZoneID && prev.YardZoneID == d.YardZoneID &&
		prev.Cargo == d.Cargo && prev.Grade == d.Grade && sameKg && prev.DriverCard == d.DriverCard && prev.SealID == d.SealID &&
		(!window.from || sameTime(prev.ValidFrom, d.ValidFrom)) && (!window.to || sameTime(prev.ValidTo, d.ValidTo))
}

func (s *Server) listDeclarations(c *gin.Context) {
	q := tracker.DeclarationQuery{VehicleID: c.Query("vehicle_id"), Status: c.Query("status"), Limit: 5000}
	if !limitParam(c, &q.Limit) {
		return
	}
	ds, err := s.cfg.Store.Declarations(c.Request.Context(), q)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	for i := range ds {
		ds[i] = ds[i].WithSuspended()
	}
	c.JSON(http.StatusOK, gin.H{"declarations": ds})
}

func (s *Server) getDeclaration(c *gin.Context) {
	d, err := s.cfg.Store.Declaration(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, d.WithSuspended())
}

func (s *Server) cancelDeclaration(c *gin.Context) {
	var req struct {
		Reason string `json:"reason"`
	}
	if c.Request.ContentLength != 0 && !bindJSON(c, &req) {
		return
	}
	d, err := s.cfg.Store.CloseDeclaration(c.Request.Context(), c.Param("id"), tracker.DeclarationCancelled, req.Reason, s.cfg.Now().UTC())
	if err != nil {
		if errors.Is(err, tracker.ErrTransition) {
			fail(c, http.StatusConflict, "invalid_transition", err.Error())
			return
		}
		s.storeFail(c, err)
		return
	}
	if s.cfg.DeclarationsChanged != nil {
		s.cfg.DeclarationsChanged(c.Request.Context(), d)
	}
	if s.audited(c, "declaration.cancel", "declaration:"+d.ID, gin.H{"reason": req.Reason}) {
		c.JSON(http.StatusOK, d)
	}
}

// maxEmergencyWindow bounds an emergency declaration: a short window, not a way around the rules.
const maxEmergencyWindow = 12 * time.Hour

// announceEmergency raises the emergency_crossing alert of a new emergency declaration, critical,
// at its port: the live hub takes it to the wall and the tablets of the port's officers at once
// and the webhooks (an SMS gateway) page them.
func (s *Server) announceEmergency(c *gin.Context, d tracker.Declaration) error {
	ctx := c.Request.Context()
	plate := d.VehicleID
	if v, err := s.cfg.Store.Vehicle(ctx, d.VehicleID); err == nil && v.Plate != "" {
		plate = v.Plate
	}
	var lat, lon float64
	if z, err := s.cfg.Store.Zone(ctx, d.PortZoneID); err == nil && z.Geometry != nil {
		ctr := z.Geometry.Bound().Center()
		lat, lon = ctr.Lat(), ctr.Lon()
	}
	now := s.cfg.Now().UTC()
	a := tracker.Alert{Type: tracker.AlertEmergencyCrossing, Severity: tracker.SeverityCritical, Status: tracker.StatusOpen, VehicleID: d.VehicleID,
		Time: now, UpdatedAt: now, ZoneID: &d.PortZoneID, DeclarationID: &d.ID, Lat: lat, Lon: lon, Active: true,
		DedupKey: tracker.AlertEmergencyCrossing + ":" + d.ID,
		Message:  fmt.Sprintf("emergency crossing: %s %s at %s until %s; %s suspended", plate, d.Direction, d.PortZoneID, d.ValidTo.Format(time.RFC3339), strings.Join(d.SuspendedRules, ", ")),
		Evidence: evidenceJSON(gin.H{"declaration_id": d.ID, "plate": plate, "direction": d.Direction, "port_zone_id": d.PortZoneID,
			"yard_zone_id": d.YardZoneID, "valid_from": d.ValidFrom, "valid_to": d.ValidTo, "cargo": d.Cargo,
			"suspended_rules": d.SuspendedRules, "declared_by": session(c).Username})}
	return s.cfg.Ingest.Emit(ctx, nil, []tracker.Alert{a})
}

// evidenceJSON is v as an alert's evidence; v is built of plain values that always encode.
func evidenceJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}
