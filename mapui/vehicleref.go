package mapui

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/tracker"
)

// errPlateShared: two registered vehicles carry the plate asked for; only the id tells them apart.
var errPlateShared = errors.New("plate registered to more than one vehicle")

// vehicleByRef is the registered vehicle an officer means by ref: its id, or its plate as
// printed, spaced or in lower case (compared as tracker.NormalPlate). An id wins over a plate.
// The registry is read whole for a plate: a district's few thousand vehicles, once per replay.
func (s *Server) vehicleByRef(ctx context.Context, ref string) (tracker.Vehicle, error) {
	v, err := s.cfg.Store.Vehicle(ctx, ref)
	if err == nil || !errors.Is(err, tracker.ErrNotFound) {
		return v, err
	}
	plate := tracker.NormalPlate(ref)
	if plate == "" {
		return tracker.Vehicle{}, tracker.ErrNotFound
	}
	vs, err := s.cfg.Store.Vehicles(ctx)
	if err != nil {
		return tracker.Vehicle{}, err
	}
	var found []tracker.Vehicle
	for _, v := range vs {
		if v.Plate != "" && tracker.NormalPlate(v.Plate) == plate {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return tracker.Vehicle{}, tracker.ErrNotFound
	case 1:
		return found[0], nil
	}
	return tracker.Vehicle{}, errPlateShared
}

// refFail answers a vehicle reference that names no single vehicle, saying why.
func (s *Server) refFail(c *gin.Context, ref string, err error) {
	switch {
	case errors.Is(err, errPlateShared):
		fail(c, http.StatusConflict, "plate_shared", "plate "+strings.TrimSpace(ref)+" is registered to more than one vehicle: give the vehicle's id")
	case errors.Is(err, tracker.ErrNotFound):
		fail(c, http.StatusNotFound, "unknown_vehicle", "no vehicle has the id or plate "+strings.TrimSpace(ref))
	default:
		s.storeFail(c, err)
	}
}
