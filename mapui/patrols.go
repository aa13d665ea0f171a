package mapui

import (
	"cmp"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// PatrolStale is the age past which a patrol's position is flagged: OsmAnd reports every few
// seconds while the tablet is on, so ten minutes of silence means it is off or out of coverage.
const PatrolStale = 10 * time.Minute

// Patrol is a patrol user as command dispatches them: where their tablet last was (the last
// fix of the device linked to them, tracker.User.DeviceID) and what they are doing.
type Patrol struct {
	Username string `json:"username"`
	Unit     string `json:"unit"`
	DeviceID string `json:"device_id,omitempty"`
	// VehicleID, Plate and Name are the patrol vehicle the device is registered to.
	VehicleID string `json:"vehicle_id,omitempty"`
	Plate     string `json:"plate,omitempty"`
	Name      string `json:"name,omitempty"`
	// Status is free, assigned, en_route or arrived (targeting.Patrol*); Assignment and Order
	// the assignment behind it.
	Status     string `json:"status"`
	Assignment string `json:"assignment_id,omitempty"`
	Order      string `json:"order_id,omitempty"`
	// Position: absent when the user has no device or it never reported.
	Lat   *float64   `json:"lat,omitempty"`
	Lon   *float64   `json:"lon,omitempty"`
	Time  *time.Time `json:"time,omitempty"`
	AgeS  *int64     `json:"age_s,omitempty"`
	Stale bool       `json:"stale"`
	// DistanceM is the great-circle distance to the place asked about.
	DistanceM *float64 `json:"distance_m,omitempty"`
}

// checkDevice answers 400 and returns false unless id is absent, "" (unlink) or a registered
// device.
func (s *Server) checkDevice(c *gin.Context, id *string) bool {
	if id == nil || *id == "" {
		return true
	}
	_, err := s.cfg.Store.Device(c.Request.Context(), *id)
	switch {
	case err == nil:
		return true
	case errors.Is(err, tracker.ErrNotFound):
		badRequest(c, "device_id "+*id+" is not a registered device")
	default:
		s.storeFail(c, err)
	}
	return false
}

// listPatrols answers GET /patrols: the patrols the user may dispatch (a port's command its
// port's, the district every one) with position and status: free patrols first, busy ones
// (assigned, en route, arrived) after them, since command dispatches a free one before pulling
// one off its order; within each, with alert_id, order_id or lat and lon, nearest first with
// the distance, patrols without a position last.
func (s *Server) listPatrols(c *gin.Context) {
	by, ok := s.actor(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	at, ok := s.patrolTarget(c, by)
	if !ok {
		return
	}
	users, err := s.cfg.Access.Users(ctx)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	states, err := s.cfg.Targets.PatrolStates(ctx)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	devices, vehicles, latest, err := s.registryAndPositions(c)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	now := s.cfg.Now()
	out := []Patrol{}
	for _, u := range users {
		if u.Role != access.RolePatrol || u.Disabled || (by.Unit != tracker.UnitDistrict && u.Unit != by.Unit) {
			continue
		}
		a := states[u.Username]
		p := Patrol{Username: u.Username, Unit: u.Unit, DeviceID: u.DeviceID, Status: targeting.PatrolState(a), Assignment: a.ID, Order: a.OrderID}
		if d, ok := devices[u.DeviceID]; ok && u.DeviceID != "" {
			v := vehicles[d.VehicleID]
			p.VehicleID, p.Plate, p.Name = v.ID, v.Plate, v.Name
			if f, ok := latest[d.VehicleID]; ok {
				age := int64(math.Max(0, now.Sub(f.Time).Seconds()))
				p.Lat, p.Lon, p.Time, p.AgeS = &f.Lat, &f.Lon, &f.Time, &age
				p.Stale = now.Sub(f.Time) > PatrolStale
				if at != nil {
					d := geofence.GreatCircleM(at[1], at[0], f.Lat, f.Lon)
					p.DistanceM = &d
				}
			}
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y Patrol) int {
		if xf, yf := x.Status == targeting.PatrolFree, y.Status == targeting.PatrolFree; xf != yf {
			if xf {
				return -1
			}
			return 1
		}
		switch {
		case x.DistanceM != nil && y.DistanceM != nil:
			return cmp.Or(cmp.Compare(*x.DistanceM, *y.DistanceM), cmp.Compare(x.Username, y.Username))
		case x.DistanceM != nil:
			return -1
		case y.DistanceM != nil:
			return 1
		}
		return cmp.Compare(x.Username, y.Username)
	})
	resp := gin.H{"patrols": out, "stale_after_s": int(PatrolStale.Seconds())}
	if at != nil {
		resp["near"] = gin.H{"lon": at[0], "lat": at[1]}
	}
	c.JSON(http.StatusOK, resp)
}

// registryAndPositions reads the devices and vehicles by id and every vehicle's latest valid fix.
func (s *Server) registryAndPositions(c *gin.Context) (map[string]tracker.Device, map[string]tracker.Vehicle, map[string]tracker.Fix, error) {
	ctx := c.Request.Context()
	ds, err := s.cfg.Store.Devices(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	vs, err := s.cfg.Store.Vehicles(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	fs, err := s.cfg.Store.LatestFixes(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	devices := make(map[string]tracker.Device, len(ds))
	for _, d := range ds {
		devices[d.ID] = d
	}
	vehicles := make(map[string]tracker.Vehicle, len(vs))
	for _, v := range vs {
		vehicles[v.ID] = v
	}
	latest := make(map[string]tracker.Fix, len(fs))
	for _, f := range fs {
		if f.Valid {
			latest[f.VehicleID] = f
		}
	}
	return devices, vehicles, latest, nil
}

// patrolTarget reads the place patrols are measured from: an alert's (one the user sees), an
// order's vehicle's last position (an order they see), or lat and lon; nil when none is asked.
// It answers the request itself and returns false when the request is wrong or the store fails.
func (s *Server) patrolTarget(c *gin.Context, by targeting.Actor) (*[2]float64, bool) {
	ctx := c.Request.Context()
	switch {
	case c.Query("alert_id") != "":
		id, err := strconv.ParseInt(c.Query("alert_id"), 10, 64)
		if err != nil || id <= 0 {
			badRequest(c, "alert_id must be an alert number")
			return nil, false
		}
		area, ok := s.scope(c)
		if !ok {
			return nil, false
		}
		a, err := s.cfg.Store.Alert(ctx, id)
		if err == nil && !area.seesAlert(&a) {
			err = tracker.ErrNotFound
		}
		if err != nil {
			s.storeFail(c, err)
			return nil, false
		}
		if a.Lat != 0 || a.Lon != 0 {
			return &[2]float64{a.Lon, a.Lat}, true
		}
		return s.vehicleAt(c, a.VehicleID)
	case c.Query("order_id") != "":
		o, err := s.cfg.Targets.Order(ctx, by, c.Query("order_id"))
		if err != nil {
			s.storeFail(c, err)
			return nil, false
		}
		return s.vehicleAt(c, o.VehicleID)
	case c.Query("lat") != "" || c.Query("lon") != "":
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(c.Query("lat")), 64)
		lon, err2 := strconv.ParseFloat(strings.TrimSpace(c.Query("lon")), 64)
		if err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(lon) > 180 {
			badRequest(c, "lat and lon must be a position in degrees (WGS-84)")
			return nil, false
		}
		return &[2]float64{lon, lat}, true
	}
	return nil, true
}

// vehicleAt is the vehicle's latest valid position, nil when it has none.
func (s *Server) vehicleAt(c *gin.Context, vehicleID string) (*[2]float64, bool) {
	if vehicleID == "" {
		return nil, true
	}
	fs, err := s.cfg.Store.LatestFixes(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return nil, false
	}
	for _, f := range fs {
		if f.VehicleID == vehicleID && f.Valid {
			return &[2]float64{f.Lon, f.Lat}, true
		}
	}
	return nil, true
}

// takeOverTarget answers POST /targets/{id}/takeover: a district user makes a port's order the
// district's.
func (s *Server) takeOverTarget(c *gin.Context) {
	var req struct {
		Reason string `json:"reason"`
	}
	if c.Request.ContentLength != 0 && !bindJSON(c, &req) {
		return
	}
	by, ok := s.actor(c)
	if !ok {
		return
	}
	object := "target:" + c.Param("id")
	// A port user is refused before the order is read: whether it exists is none of their business.
	o, err := s.cfg.Targets.TakeOver(c.Request.Context(), by, c.Param("id"), strings.TrimSpace(req.Reason))
	if err != nil {
		s.targetFail(c, "target.takeover", object, err)
		return
	}
	c.JSON(http.StatusOK, o)
}
