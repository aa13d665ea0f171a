package targeting

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// Request is an order as a person issues it.
type Request struct {
	VehicleID  string    `json:"vehicle_id"`
	Plate      string    `json:"plate"`
	Reason     string    `json:"reason"`
	AlertID    int64     `json:"alert_id"`
	Action     string    `json:"action"`
	PortID     string    `json:"port_id"` // a district order may name the port that acts
	ValidUntil time.Time `json:"valid_until"`
	Note       string    `json:"note"`
}

var (
	reasons = []string{tracker.TargetReasonAlert, tracker.TargetReasonRisk, tracker.TargetReasonIntelligence, tracker.TargetReasonRandom}
	actions = []string{tracker.TargetInspectNextCrossing, tracker.TargetInspectAtYard, tracker.TargetInterceptNow}
)

// Issue validates and stores a new order. A port's command issues port orders for its own
// port; the district's, district orders for any port or none (the port where the vehicle shows
// up then acts). An intercept-now order fires at once.
func (s *Service) Issue(ctx context.Context, by Actor, r Request) (tracker.TargetOrder, error) {
	now := s.cfg.Now().UTC()
	r.Plate, r.Note = strings.TrimSpace(r.Plate), strings.TrimSpace(r.Note)
	switch {
	case !slices.Contains(reasons, r.Reason):
		return tracker.TargetOrder{}, invalid("reason must be one of %s", strings.Join(reasons, ", "))
	case !slices.Contains(actions, r.Action):
		return tracker.TargetOrder{}, invalid("action must be one of %s", strings.Join(actions, ", "))
	case r.Reason == tracker.TargetReasonAlert && r.AlertID <= 0:
		return tracker.TargetOrder{}, invalid("reason alert needs alert_id")
	case r.Reason != tracker.TargetReasonAlert && r.AlertID != 0:
		return tracker.TargetOrder{}, invalid("alert_id goes with reason alert")
	case len(r.Note) > MaxNote:
		return tracker.TargetOrder{}, invalid("note longer than %d bytes", MaxNote)
	case len(r.Plate) > 20:
		return tracker.TargetOrder{}, invalid("plate longer than 20 bytes")
	}
	if r.ValidUntil.IsZero() {
		r.ValidUntil = now.Add(DefaultValidity)
	}
	if !r.ValidUntil.After(now) || r.ValidUntil.After(now.Add(MaxValidity)) {
		return tracker.TargetOrder{}, invalid("valid_until must be after now and within 90 days")
	}
	o := tracker.TargetOrder{Reason: r.Reason, Source: r.Reason, AlertID: r.AlertID, Action: r.Action, IssuedBy: by.Username,
		Note: r.Note, CreatedAt: now, ValidUntil: r.ValidUntil.UTC(), Status: tracker.TargetActive}
	if by.district() {
		o.Level = tracker.TargetLevelDistrict
		if r.PortID != "" {
			if z, ok := s.zone(r.PortID); !ok || z.kind != geofence.KindPort {
				return o, invalid("port_id %s is not a port", r.PortID)
			}
			o.PortID = r.PortID
		}
	} else {
		if r.PortID != "" && r.PortID != by.Unit {
			return o, ErrForbidden
		}
		o.Level, o.PortID = tracker.TargetLevelPort, by.Unit
	}
	if r.AlertID != 0 {
		a, err := s.cfg.Store.Alert(ctx, r.AlertID)
		if errors.Is(err, tracker.ErrNotFound) {
			return o, invalid("alert %d does not exist", r.AlertID)
		} else if err != nil {
			return o, err
		}
		if r.VehicleID != "" && r.VehicleID != a.VehicleID {
			return o, invalid("alert %d is about another vehicle", r.AlertID)
		}
		r.VehicleID, o.Source = a.VehicleID, a.Type
	}
	if err := s.identify(ctx, &o, r.VehicleID, r.Plate); err != nil {
		return o, err
	}
	o.ID = newID("T", now)
	if o.Action == tracker.TargetInterceptNow {
		o.Status, o.FiredAt, o.FiredVia = tracker.TargetFired, &now, ViaIssued
	}
	if err := s.cfg.Store.CreateTarget(ctx, o); err != nil {
		return o, err
	}
	o.Version = 1
	s.remember(o)
	err := s.audit(ctx, by.Username, "target.issue", "target:"+o.ID, o)
	if o.Status == tracker.TargetFired {
		s.fired.WithLabelValues(ViaIssued).Inc()
		s.notify(Notice{Kind: NoticeFired, Order: &o, PortID: o.PortID})
	}
	return o, err
}

// identify sets the order's vehicle and plate: a registered vehicle by ID, or by its plate; a
// plate nobody registered is targeted as a plate.
func (s *Service) identify(ctx context.Context, o *tracker.TargetOrder, vehicleID, plate string) error {
	switch {
	case vehicleID != "":
		v, err := s.cfg.Store.Vehicle(ctx, vehicleID)
		if errors.Is(err, tracker.ErrNotFound) {
			return invalid("vehicle_id %s is not a registered vehicle", vehicleID)
		} else if err != nil {
			return err
		}
		if plate != "" && NormalizePlate(plate) != NormalizePlate(v.Plate) {
			return invalid("plate %s is not vehicle %s's", plate, vehicleID)
		}
		o.VehicleID, o.Plate = v.ID, v.Plate
	case plate != "":
		o.Plate = plate
		vs, err := s.cfg.Store.Vehicles(ctx)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if NormalizePlate(v.Plate) == NormalizePlate(plate) {
				o.VehicleID, o.Plate = v.ID, v.Plate
				break
			}
		}
	default:
		return invalid("a vehicle_id or a plate is required")
	}
	return nil
}

// Order returns an order the actor may see (tracker.ErrNotFound otherwise: one outside a
// port's area is handled as one that does not exist).
func (s *Service) Order(ctx context.Context, by Actor, id string) (tracker.TargetOrder, error) {
	o, err := s.cfg.Store.Target(ctx, id)
	if err == nil && !by.Sees(&o) {
		return tracker.TargetOrder{}, tracker.ErrNotFound
	}
	return o, err
}

// Orders lists the orders the actor may see, newest first.
func (s *Service) Orders(ctx context.Context, by Actor, q tracker.TargetQuery) ([]tracker.TargetOrder, error) {
	if !by.district() {
		q.PortID = by.Unit
	}
	return s.cfg.Store.Targets(ctx, q)
}

// Cancel ends an active or fired order and its assignments. A port cancels its own port's
// orders; the district any.
func (s *Service) Cancel(ctx context.Context, by Actor, id, reason string) (tracker.TargetOrder, error) {
	if len(reason) > MaxNote {
		return tracker.TargetOrder{}, invalid("reason longer than %d bytes", MaxNote)
	}
	o, err := s.Order(ctx, by, id)
	if err != nil {
		return o, err
	}
	if !by.district() && o.Level == tracker.TargetLevelDistrict {
		return o, ErrForbidden
	}
	if o, err = s.close(ctx, o, tracker.TargetCancelled, by.Username); err != nil {
		return o, err
	}
	s.notify(Notice{Kind: NoticeCancelled, Order: &o, PortID: o.PortID})
	return o, s.audit(ctx, by.Username, "target.cancel", "target:"+o.ID, map[string]any{"reason": reason})
}

// close moves an open order to an end status and cancels its unfinished assignments.
func (s *Service) close(ctx context.Context, o tracker.TargetOrder, status, by string) (tracker.TargetOrder, error) {
	if o.Status != tracker.TargetActive && o.Status != tracker.TargetFired {
		return o, tracker.ErrTransition
	}
	now := s.cfg.Now().UTC()
	o.Status, o.ClosedAt, o.ClosedBy = status, &now, by
	o, err := s.cfg.Store.UpdateTarget(ctx, o)
	if err != nil {
		return o, err
	}
	s.remember(o)
	end := tracker.AssignmentCancelled
	if status == tracker.TargetClosed {
		end = tracker.AssignmentReported
	}
	as, err := s.cfg.Store.Assignments(ctx, tracker.AssignmentQuery{OrderID: o.ID})
	if err != nil {
		return o, err
	}
	wall := s.cfg.Wall().UTC()
	for _, a := range as {
		if a.Status == tracker.AssignmentReported || a.Status == tracker.AssignmentCancelled {
			continue
		}
		a.Status = end
		if end == tracker.AssignmentReported {
			a.ReportedAt = &wall
		}
		if _, err := s.cfg.Store.UpdateAssignment(ctx, a); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Hit is a sighting of a vehicle where an order may fire: a gate read, a GPS arrival in a
// zone, or a declaration (ZoneID its port).
type Hit struct {
	VehicleID string
	Plate     string
	ZoneID    string
	Via       string
	Time      time.Time
}

// Match fires the open orders for the sighted vehicle that this place fulfils and returns the
// orders that hold it now: those fired here and, at a gate, those fired before and not yet
// inspected. At a port's gate a vehicle no order holds may be drawn for a random inspection.
func (s *Service) Match(ctx context.Context, h Hit) ([]tracker.TargetOrder, error) {
	z, _ := s.zone(h.ZoneID)
	plate := NormalizePlate(h.Plate)
	s.mu.RLock()
	var cands []tracker.TargetOrder
	for _, o := range s.open {
		if (h.VehicleID != "" && o.VehicleID == h.VehicleID) || (plate != "" && NormalizePlate(o.Plate) == plate) {
			cands = append(cands, o)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(cands, func(a, b tracker.TargetOrder) int { return cmp.Compare(a.ID, b.ID) })
	var hold []tracker.TargetOrder
	var errs []error
	for _, o := range cands {
		o, held, err := s.fire(ctx, o, h, z)
		if err != nil {
			errs = append(errs, err)
		}
		if held {
			hold = append(hold, o)
		}
	}
	if len(cands) == 0 && h.Via == ViaGateRead && h.VehicleID != "" && isCrossing(z.kind) && s.cfg.RandomShare > 0 {
		s.candidates.Inc()
		if s.cfg.Rand() < s.cfg.RandomShare {
			s.draws.Inc()
			o, err := s.drawRandom(ctx, h, z)
			if err != nil {
				errs = append(errs, err)
			} else {
				hold = append(hold, o)
			}
		}
	}
	return hold, errors.Join(errs...)
}

func isCrossing(k geofence.Kind) bool { return k == geofence.KindPort || k == geofence.KindControlZone }

// fulfils reports whether a sighting at a zone of kind k (via how) is where an order of action
// is carried out: a crossing at a port, an arrival at a yard; any declaration for the vehicle.
func fulfils(action, via string, k geofence.Kind) bool {
	switch {
	case via == ViaDeclaration:
		return true
	case action == tracker.TargetInspectAtYard:
		return k == geofence.KindYard
	default:
		return isCrossing(k)
	}
}

// fire fires o if h fulfils it and reports whether o holds the vehicle now.
func (s *Service) fire(ctx context.Context, o tracker.TargetOrder, h Hit, z zoneInfo) (tracker.TargetOrder, bool, error) {
	for range 3 { // another server may have changed it: read again and decide again
		switch {
		case o.Status == tracker.TargetFired:
			return o, h.Via == ViaGateRead, nil
		case o.Status != tracker.TargetActive:
			return o, false, nil
		case !h.Time.Before(o.ValidUntil):
			return o, false, nil // Run expires it
		case !fulfils(o.Action, h.Via, z.kind):
			return o, false, nil
		}
		at := h.Time.UTC()
		fired := o
		fired.Status, fired.FiredAt, fired.FiredVia, fired.FiredZoneID = tracker.TargetFired, &at, h.Via, h.ZoneID
		if fired.PortID == "" {
			fired.PortID = z.port
		}
		stored, err := s.cfg.Store.UpdateTarget(ctx, fired)
		if errors.Is(err, tracker.ErrStale) {
			if o, err = s.cfg.Store.Target(ctx, o.ID); err != nil {
				return o, false, err
			}
			s.remember(o)
			continue
		}
		if err != nil {
			return o, false, err
		}
		s.remember(stored)
		s.fired.WithLabelValues(h.Via).Inc()
		s.notify(Notice{Kind: NoticeFired, Order: &stored, PortID: stored.PortID})
		err = s.audit(ctx, "system", "target.fire", "target:"+o.ID, map[string]any{"via": h.Via, "zone_id": h.ZoneID, "vehicle_id": h.VehicleID, "plate": h.Plate})
		return stored, true, err
	}
	return o, false, tracker.ErrStale
}

// drawRandom issues and fires a random inspection of the vehicle at this gate.
func (s *Service) drawRandom(ctx context.Context, h Hit, z zoneInfo) (tracker.TargetOrder, error) {
	at := h.Time.UTC()
	o := tracker.TargetOrder{ID: newID("R", at), VehicleID: h.VehicleID, Plate: h.Plate, Reason: tracker.TargetReasonRandom,
		Source: tracker.TargetReasonRandom, Action: tracker.TargetInspectNextCrossing, Level: tracker.TargetLevelDistrict, PortID: z.port,
		IssuedBy: "system", CreatedAt: at, ValidUntil: at.Add(24 * time.Hour), Status: tracker.TargetFired,
		FiredAt: &at, FiredVia: h.Via, FiredZoneID: h.ZoneID}
	if err := s.cfg.Store.CreateTarget(ctx, o); err != nil {
		return o, err
	}
	o.Version = 1
	s.remember(o)
	s.fired.WithLabelValues(h.Via).Inc()
	s.notify(Notice{Kind: NoticeFired, Order: &o, PortID: o.PortID})
	return o, s.audit(ctx, "system", "target.random_draw", "target:"+o.ID, map[string]any{"share": s.cfg.RandomShare, "zone_id": h.ZoneID})
}

// Publish looks at what the pipeline committed (tracker.Publisher): a targeted vehicle's entry
// into a port, control zone or yard is handed to Run to fire its orders. It never blocks.
func (s *Service) Publish(_ []tracker.Fix, events []tracker.Event, _ []tracker.Alert) {
	for i := range events {
		ev := &events[i]
		if ev.Type != tracker.EventZoneEnter || ev.VehicleID == "" {
			continue
		}
		s.mu.RLock()
		k := s.zones[ev.ZoneID].kind
		targeted := (isCrossing(k) || k == geofence.KindYard) && s.active[ev.VehicleID] > 0
		s.mu.RUnlock()
		if !targeted {
			continue
		}
		select {
		case s.arrivals <- Hit{VehicleID: ev.VehicleID, ZoneID: ev.ZoneID, Via: ViaArrival, Time: ev.Time}:
		default:
			s.dropped.Inc()
		}
	}
}

// Run fires orders on arrivals, expires orders, escalates assignments and re-reads the open
// orders every Tick, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case h := <-s.arrivals:
			if _, err := s.Match(ctx, h); err != nil {
				s.log.Warn("targeting: firing on an arrival", "vehicle_id", h.VehicleID, "zone_id", h.ZoneID, "err", err)
			}
		case <-t.C:
			if err := s.Check(ctx); err != nil {
				s.log.Warn("targeting: timers", "err", err)
			}
		}
	}
}

// Check expires the active orders past their validity, escalates the assignments waiting too
// long for acceptance, and re-reads the open orders (other servers on the store issue too).
func (s *Service) Check(ctx context.Context) error {
	now := s.cfg.Now()
	s.mu.RLock()
	var due []tracker.TargetOrder
	for _, o := range s.open {
		if o.Status == tracker.TargetActive && !now.Before(o.ValidUntil) {
			due = append(due, o)
		}
	}
	s.mu.RUnlock()
	var errs []error
	for _, o := range due {
		closed, err := s.close(ctx, o, tracker.TargetExpired, "system")
		if err != nil && !errors.Is(err, tracker.ErrStale) {
			errs = append(errs, err)
			continue
		}
		if err == nil {
			s.notify(Notice{Kind: NoticeCancelled, Order: &closed, PortID: closed.PortID})
		}
		errs = append(errs, s.audit(ctx, "system", "target.expire", "target:"+o.ID, map[string]any{"valid_until": o.ValidUntil}))
	}
	errs = append(errs, s.escalate(ctx), s.Load(ctx))
	return errors.Join(errs...)
}
