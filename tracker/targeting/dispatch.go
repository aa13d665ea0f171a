package targeting

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// AssignRequest sends a port team (Team: the port zone's id) or a patrol user to an order, or
// to an alert: an order to intercept the alert's vehicle now is then issued for it.
type AssignRequest struct {
	OrderID string `json:"order_id"`
	AlertID int64  `json:"alert_id"`
	Team    string `json:"team"`
	User    string `json:"user"`
	Note    string `json:"note"`
}

// AssignmentView is an assignment with its order, as the people sent read it.
type AssignmentView struct {
	tracker.Assignment
	Order tracker.TargetOrder `json:"order"`
}

// Assign dispatches a team or a patrol. A port dispatches its own teams and patrols to its
// port's orders; the district anyone to any order, which the order's port then acts on.
func (s *Service) Assign(ctx context.Context, by Actor, r AssignRequest) (tracker.Assignment, error) {
	var a tracker.Assignment
	switch {
	case (r.OrderID == "") == (r.AlertID == 0):
		return a, invalid("name an order_id or an alert_id")
	case (r.Team == "") == (r.User == ""):
		return a, invalid("name a team (a port) or a user")
	case len(r.Note) > MaxNote:
		return a, invalid("note longer than %d bytes", MaxNote)
	}
	port := r.Team
	if r.Team != "" {
		if z, ok := s.zone(r.Team); !ok || z.kind != geofence.KindPort {
			return a, invalid("team %s is not a port", r.Team)
		}
	} else {
		u, err := s.cfg.Store.User(ctx, r.User)
		if errors.Is(err, tracker.ErrNotFound) || (err == nil && (u.Disabled || u.Role != "patrol")) {
			return a, invalid("user %s is no active patrol", r.User)
		} else if err != nil {
			return a, err
		}
		r.User = u.Username
		if u.Unit != tracker.UnitDistrict {
			port = u.Unit
		}
	}
	if !by.district() && port != by.Unit {
		return a, ErrForbidden
	}
	var o tracker.TargetOrder
	var err error
	if r.AlertID != 0 {
		o, err = s.Issue(ctx, by, Request{Reason: tracker.TargetReasonAlert, AlertID: r.AlertID, Action: tracker.TargetInterceptNow,
			PortID: port, ValidUntil: s.cfg.Now().Add(24 * time.Hour), Note: r.Note})
	} else {
		o, err = s.Order(ctx, by, r.OrderID)
	}
	if err != nil {
		return a, err
	}
	if o.Status != tracker.TargetActive && o.Status != tracker.TargetFired {
		return a, tracker.ErrTransition
	}
	if o.PortID == "" && port != "" {
		// A district order that named no port: the port dispatched acts on it.
		o.PortID = port
		if o, err = s.cfg.Store.UpdateTarget(ctx, o); err != nil {
			return a, err
		}
		s.remember(o)
	}
	a = tracker.Assignment{ID: newID("A", s.cfg.Now()), OrderID: o.ID, PortID: cmp.Or(port, o.PortID), Team: r.Team, User: r.User,
		Status: tracker.AssignmentAssigned, AssignedBy: by.Username, AssignedAt: s.cfg.Wall().UTC()}
	if err := s.cfg.Store.CreateAssignment(ctx, a); err != nil {
		return a, err
	}
	a.Version = 1
	s.notify(Notice{Kind: NoticeAssigned, Order: &o, Assignment: &a, PortID: a.PortID, User: a.User})
	return a, s.audit(ctx, by.Username, "assignment.create", "assignment:"+a.ID, a)
}

// mayAct reports whether the actor is among those sent: the user named, a patrol of the team's
// port, or anyone of the district.
func (by Actor) mayAct(a *tracker.Assignment) bool {
	return by.district() || by.Username == a.User || (a.Team != "" && a.Team == by.Unit) || (a.User == "" && a.PortID == by.Unit)
}

// Assignments lists the open assignments the actor may see with their orders: their own
// first (named or of their team), then the others of their unit; newest first within each.
func (s *Service) Assignments(ctx context.Context, by Actor, includeDone bool) ([]AssignmentView, error) {
	as, err := s.cfg.Store.Assignments(ctx, tracker.AssignmentQuery{Limit: 2000})
	if err != nil {
		return nil, err
	}
	var out []AssignmentView
	orders := map[string]tracker.TargetOrder{}
	for _, a := range as {
		if !includeDone && (a.Status == tracker.AssignmentReported || a.Status == tracker.AssignmentCancelled) {
			continue
		}
		if !by.mayAct(&a) && !(by.Unit == a.PortID) {
			continue
		}
		o, ok := orders[a.OrderID]
		if !ok {
			if o, err = s.cfg.Store.Target(ctx, a.OrderID); err != nil {
				return nil, err
			}
			orders[a.OrderID] = o
		}
		out = append(out, AssignmentView{a, o})
	}
	mine := func(v AssignmentView) int {
		if v.User == by.Username || (v.Team != "" && v.Team == by.Unit) {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(out, func(x, y AssignmentView) int { return cmp.Compare(mine(x), mine(y)) })
	return out, nil
}

// Accept and Arrive move an assignment along assigned → accepted → arrived. The report is the
// order's inspection result (Report).
func (s *Service) Accept(ctx context.Context, by Actor, id string) (tracker.Assignment, error) {
	return s.step(ctx, by, id, tracker.AssignmentAssigned, tracker.AssignmentAccepted, "assignment.accept")
}

// Arrive: see Accept.
func (s *Service) Arrive(ctx context.Context, by Actor, id string) (tracker.Assignment, error) {
	return s.step(ctx, by, id, tracker.AssignmentAccepted, tracker.AssignmentArrived, "assignment.arrive")
}

func (s *Service) step(ctx context.Context, by Actor, id, from, to, action string) (tracker.Assignment, error) {
	a, err := s.cfg.Store.Assignment(ctx, id)
	if err == nil && !by.mayAct(&a) {
		err = tracker.ErrNotFound
	}
	if err != nil {
		return a, err
	}
	if a.Status != from {
		return a, tracker.ErrTransition
	}
	now := s.cfg.Wall().UTC()
	a.Status = to
	if to == tracker.AssignmentAccepted {
		a.AcceptedBy, a.AcceptedAt = by.Username, &now
	} else {
		a.ArrivedAt = &now
	}
	if a, err = s.cfg.Store.UpdateAssignment(ctx, a); err != nil {
		return a, err
	}
	return a, s.audit(ctx, by.Username, action, "assignment:"+a.ID, map[string]any{"order_id": a.OrderID})
}

// escalate sends each assignment unaccepted for EscalateAfter to its port's command, and
// unaccepted for as long again to the district.
func (s *Service) escalate(ctx context.Context) error {
	as, err := s.cfg.Store.Assignments(ctx, tracker.AssignmentQuery{Status: tracker.AssignmentAssigned})
	if err != nil {
		return err
	}
	now := s.cfg.Wall().UTC()
	var errs []error
	for _, a := range as {
		var level, port string
		switch {
		case a.Escalation == "" && now.Sub(a.AssignedAt) >= s.cfg.EscalateAfter:
			level, port = tracker.TargetLevelPort, a.PortID
		case a.Escalation == tracker.TargetLevelPort && a.EscalatedAt != nil && now.Sub(*a.EscalatedAt) >= s.cfg.EscalateAfter:
			level = tracker.TargetLevelDistrict
		default:
			continue
		}
		a.Escalation, a.EscalatedAt = level, &now
		a, err := s.cfg.Store.UpdateAssignment(ctx, a)
		if errors.Is(err, tracker.ErrStale) {
			continue // accepted meanwhile, or another server escalated it
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.escalated.WithLabelValues(level).Inc()
		o, err := s.cfg.Store.Target(ctx, a.OrderID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.notify(Notice{Kind: NoticeEscalated, Order: &o, Assignment: &a, PortID: port})
		errs = append(errs, s.audit(ctx, "system", "assignment.escalate", "assignment:"+a.ID, map[string]any{"to": level, "waited_s": int(now.Sub(a.AssignedAt).Seconds())}))
	}
	return errors.Join(errs...)
}
