package targeting

import (
	"context"

	"github.com/borderwatch/borderwatch/tracker"
)

// Patrol states as command sees them (PatrolStates).
const (
	PatrolFree     = "free"
	PatrolAssigned = "assigned" // sent, not yet accepted
	PatrolEnRoute  = "en_route" // accepted
	PatrolArrived  = "arrived"
)

const assignedToLimit = 1000

var patrolRank = map[string]int{tracker.AssignmentAssigned: 1, tracker.AssignmentAccepted: 2, tracker.AssignmentArrived: 3}

// PatrolStates returns, for each patrol user with an unfinished assignment, the one furthest
// along (arrived before en route before assigned); a user not in the map is free.
func (s *Service) PatrolStates(ctx context.Context) (map[string]tracker.Assignment, error) {
	out := map[string]tracker.Assignment{}
	for _, st := range []string{tracker.AssignmentAssigned, tracker.AssignmentAccepted, tracker.AssignmentArrived} {
		as, err := s.cfg.Store.Assignments(ctx, tracker.AssignmentQuery{Status: st})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			user := a.User
			if user == "" {
				user = a.AcceptedBy // a team's assignment is the accepting patrol's
			}
			if user != "" && patrolRank[a.Status] > patrolRank[out[user].Status] {
				out[user] = a
			}
		}
	}
	return out, nil
}

// PatrolState is the word for a patrol's assignment a (the zero Assignment: free).
func PatrolState(a tracker.Assignment) string {
	switch a.Status {
	case tracker.AssignmentAssigned:
		return PatrolAssigned
	case tracker.AssignmentAccepted:
		return PatrolEnRoute
	case tracker.AssignmentArrived:
		return PatrolArrived
	}
	return PatrolFree
}

// AssignedTo returns the assignments, with their orders, username was sent to by name and
// not called off (assigned, accepted, arrived or reported): what a patrol sees outside its
// port's area.
func (s *Service) AssignedTo(ctx context.Context, username string) ([]AssignmentView, error) {
	var out []AssignmentView
	seen := map[string]bool{}
	for _, st := range []string{tracker.AssignmentAssigned, tracker.AssignmentAccepted, tracker.AssignmentArrived, tracker.AssignmentReported} {
		// Every request of a port's patrol asks this: the reported ones are the newest thousand,
		// not the whole history.
		as, err := s.cfg.Store.Assignments(ctx, tracker.AssignmentQuery{Status: st, Limit: assignedToLimit})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if a.User != username || seen[a.OrderID] {
				continue
			}
			seen[a.OrderID] = true
			o, err := s.cfg.Store.Target(ctx, a.OrderID)
			if err != nil {
				return nil, err
			}
			out = append(out, AssignmentView{a, o})
		}
	}
	return out, nil
}

// OrderSentTo returns the order if the actor may see it or was sent to it (a patrol of another
// port the district dispatched); tracker.ErrNotFound otherwise.
func (s *Service) OrderSentTo(ctx context.Context, by Actor, id string) (tracker.TargetOrder, error) {
	return s.actOn(ctx, by, id)
}

// TakeOver makes a port's order the district's: the district directs it from now on (only the
// district cancels it), the port keeps acting on it and is told. Only a district user takes
// over, and only a port-level order still open.
func (s *Service) TakeOver(ctx context.Context, by Actor, id, reason string) (tracker.TargetOrder, error) {
	if !by.district() {
		return tracker.TargetOrder{}, ErrForbidden
	}
	if len(reason) > MaxNote {
		return tracker.TargetOrder{}, invalid("reason longer than %d bytes", MaxNote)
	}
	o, err := s.cfg.Store.Target(ctx, id)
	if err != nil {
		return o, err
	}
	switch {
	case o.Status != tracker.TargetActive && o.Status != tracker.TargetFired:
		return o, tracker.ErrTransition
	case o.Level != tracker.TargetLevelPort:
		return o, invalid("order %s is the district's already", o.ID)
	}
	now := s.cfg.Wall().UTC()
	o.Level, o.TakenOverBy, o.TakenOverAt, o.TakeOverNote = tracker.TargetLevelDistrict, by.Username, &now, reason
	if o, err = s.cfg.Store.UpdateTarget(ctx, o); err != nil {
		return o, err
	}
	s.remember(o)
	s.notify(Notice{Kind: NoticeTakenOver, Order: &o, PortID: o.PortID})
	return o, s.audit(ctx, by.Username, "target.takeover", "target:"+o.ID, map[string]any{"port_id": o.PortID, "reason": reason})
}
