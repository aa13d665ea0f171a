package mapui

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/gangs"
)

const (
	// maxGroupCrossings bounds the crossings a groups request reads.
	maxGroupCrossings = 200000
	maxGroupMeetings  = 50000
	maxGroupPeriod    = 92 * 24 * time.Hour
)

type groupMember struct {
	VehicleID string `json:"vehicle_id"`
	Plate     string `json:"plate,omitempty"`
	Kind      string `json:"kind,omitempty"`
}

type groupTrip struct {
	gangs.Trip
	PortName string `json:"port_name"`
}

type groupOut struct {
	ID       string          `json:"id"`
	Members  []groupMember   `json:"members"`
	Edges    []gangs.Edge    `json:"edges"`
	Trips    []groupTrip     `json:"trips"`
	Meetings []gangs.Meeting `json:"meetings"`
}

// groups lists the co-travel groups of the period (from, to: RFC 3339; default the 30 days to
// now), each with its members' plates, the pairs' trips together and the group's trips; a
// port's users only those with a trip at their port.
func (s *Server) groups(c *gin.Context) {
	from, to, ok := s.period(c, 30*24*time.Hour, maxGroupPeriod)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	events, err := s.cfg.Store.Events(ctx, tracker.EventQuery{Type: tracker.EventBorderCross, From: from, To: to, Limit: maxGroupCrossings})
	if err != nil {
		s.storeFail(c, err)
		return
	}
	meetings, err := s.cfg.Store.Alerts(ctx, tracker.AlertQuery{Type: tracker.AlertMeeting, From: from, To: to, Limit: maxGroupMeetings})
	if err != nil {
		s.storeFail(c, err)
		return
	}
	by, ok := s.actor(c)
	if !ok {
		return
	}
	found := gangs.Find(events, meetings, to, gangs.Config{Window: to.Sub(from)})
	// A port's users see the groups that crossed at their port.
	if by.Unit != tracker.UnitDistrict {
		found = slices.DeleteFunc(found, func(g gangs.Group) bool {
			return !slices.ContainsFunc(g.Trips, func(t gangs.Trip) bool { return t.PortID == by.Unit })
		})
	}
	ports := map[string]string{}
	if zones, err := s.cfg.Store.Zones(ctx); err == nil {
		for _, z := range zones {
			if z.Kind == geofence.KindPort {
				ports[z.ID] = z.Name
			}
		}
	}
	vehicles := map[string]tracker.Vehicle{}
	if vs, err := s.cfg.Store.Vehicles(ctx); err == nil {
		for _, v := range vs {
			vehicles[v.ID] = v
		}
	}
	out := make([]groupOut, len(found))
	for i, g := range found {
		o := groupOut{ID: g.ID, Edges: g.Edges, Meetings: g.Meetings, Members: make([]groupMember, len(g.Members)), Trips: make([]groupTrip, len(g.Trips))}
		for j, id := range g.Members {
			o.Members[j] = groupMember{VehicleID: id, Plate: vehicles[id].Plate, Kind: vehicles[id].Kind}
		}
		for j, t := range g.Trips {
			o.Trips[j] = groupTrip{Trip: t, PortName: ports[t.PortID]}
		}
		out[i] = o
	}
	c.JSON(http.StatusOK, gin.H{"from": from.UTC(), "to": to.UTC(), "groups": out, "truncated": len(events) == maxGroupCrossings || len(meetings) == maxGroupMeetings})
}
