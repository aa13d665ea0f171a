package mapui

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/geofence"
)

func (s *Server) listZones(c *gin.Context) {
	zs, err := s.cfg.Store.Zones(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, featureCollection(zs))
}

func featureCollection(zs []geofence.Zone) gin.H {
	if zs == nil {
		zs = []geofence.Zone{}
	}
	return gin.H{"type": "FeatureCollection", "features": zs}
}

func (s *Server) getZone(c *gin.Context) {
	z, err := s.cfg.Store.Zone(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, z)
}

func readBody(c *gin.Context) ([]byte, bool) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(c, http.StatusRequestEntityTooLarge, "too_large", "request body too large")
		} else {
			badRequest(c, "cannot read body: "+err.Error())
		}
		return nil, false
	}
	return b, true
}

// decodeZone parses and validates one GeoJSON Feature.
func decodeZone(c *gin.Context) (geofence.Zone, bool) {
	b, ok := readBody(c)
	if !ok {
		return geofence.Zone{}, false
	}
	var z geofence.Zone
	if err := json.Unmarshal(b, &z); err != nil {
		badRequest(c, "zone: "+err.Error())
		return z, false
	}
	if err := z.Validate(); err != nil {
		fail(c, http.StatusUnprocessableEntity, "invalid_zone", err.Error())
		return z, false
	}
	return z, true
}

func (s *Server) createZone(c *gin.Context) {
	z, ok := decodeZone(c)
	if !ok {
		return
	}
	if _, err := s.cfg.Store.Zone(c.Request.Context(), z.ID); err == nil {
		fail(c, http.StatusConflict, "conflict", "zone "+z.ID+" exists; PUT /zones/"+z.ID+" to change it")
		return
	}
	s.putZones(c, http.StatusCreated, "zone.create", []geofence.Zone{z})
}

func (s *Server) updateZone(c *gin.Context) {
	z, ok := decodeZone(c)
	if !ok {
		return
	}
	if z.ID != c.Param("id") {
		badRequest(c, "properties.id differs from the URL")
		return
	}
	if _, err := s.cfg.Store.Zone(c.Request.Context(), z.ID); err != nil {
		s.storeFail(c, err)
		return
	}
	s.putZones(c, http.StatusOK, "zone.update", []geofence.Zone{z})
}

// importZones takes a FeatureCollection: all of it is stored, or none if any feature is bad.
func (s *Server) importZones(c *gin.Context) {
	b, ok := readBody(c)
	if !ok {
		return
	}
	zs, err := geofence.ParseFeatureCollection(b)
	if err != nil {
		fail(c, http.StatusUnprocessableEntity, "invalid_zones", err.Error())
		return
	}
	if len(zs) == 0 {
		badRequest(c, "the FeatureCollection has no features")
		return
	}
	s.putZones(c, http.StatusOK, "zone.import", zs)
}

func (s *Server) putZones(c *gin.Context, status int, action string, zs []geofence.Zone) {
	stored, err := s.cfg.Store.PutZones(c.Request.Context(), zs)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	ids, names := make([]string, len(stored)), make([]string, len(stored))
	for i, z := range stored {
		ids[i], names[i] = z.ID, z.Name
	}
	// The names too: the auditor, who reads the record, may not read the zones.
	recorded := s.record(c, action, "zones", gin.H{"ids": ids, "names": names})
	if !s.zonesChanged(c) {
		return
	}
	if recorded != nil {
		s.storeFail(c, recorded)
		return
	}
	if len(stored) == 1 && action != "zone.import" {
		c.JSON(status, stored[0])
		return
	}
	c.JSON(status, featureCollection(stored))
}

// zonesChanged hands the new zone set to the geofence engine.
func (s *Server) zonesChanged(c *gin.Context) bool {
	if s.cfg.ZonesChanged == nil {
		return true
	}
	all, err := s.cfg.Store.Zones(c.Request.Context())
	if err == nil {
		err = s.cfg.ZonesChanged(c.Request.Context(), all)
	}
	if err != nil {
		s.log.Error("geofence update failed after a zone edit", "err", err)
		fail(c, http.StatusServiceUnavailable, "geofence_unavailable", "zones stored, but the geofence engine did not take them: "+err.Error())
		return false
	}
	return true
}

func (s *Server) deleteZone(c *gin.Context) {
	id := c.Param("id")
	if err := s.cfg.Store.DeleteZone(c.Request.Context(), id); err != nil {
		s.storeFail(c, err)
		return
	}
	recorded := s.record(c, "zone.delete", "zone:"+id, nil)
	if !s.zonesChanged(c) {
		return
	}
	if recorded != nil {
		s.storeFail(c, recorded)
		return
	}
	c.Status(http.StatusNoContent)
}
