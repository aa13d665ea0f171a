package risk

import (
	"fmt"
	"maps"
)

// groupWeight is what belonging to a co-travel group adds to a vehicle's score: more than the
// threshold, as a group that crosses together again and again is worth one inspection.
const groupWeight = 4.0

// Membership is a vehicle's co-travel group (tracker/gangs) as the ranking names it.
type Membership struct {
	GroupID string   `json:"group_id"`
	Others  []string `json:"others"` // the other members' vehicle IDs
	Trips   int      `json:"trips"`  // the group's trips together in 30 days
	// Meetings are the group's meetings (the rules' meeting alerts of its meeting edges).
	Meetings int `json:"meetings,omitempty"`
}

func (m *Membership) reason() string {
	r := fmt.Sprintf("travels with %d other vehicles of co-travel group %s: %d trips together", len(m.Others), m.GroupID, m.Trips)
	if m.Meetings > 0 {
		r += fmt.Sprintf(", %d meetings", m.Meetings)
	}
	return r + " in 30 days"
}

// SetGroups replaces the co-travel memberships, by vehicle ID.
func (s *Scorer) SetGroups(groups map[string]Membership) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = maps.Clone(groups)
}
