package mapui

import (
	"net/http"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// validID keeps ids usable in URLs, logs and file names.
var validID = regexp.MustCompile(`^[\p{L}\p{N}_.:\-]{1,64}$`)

var vehicleKinds = map[string]bool{tracker.KindTruck: true, tracker.KindResidentCar: true, tracker.KindPatrol: true, "car": true, "bus": true, "other": true}

func checkVehicle(v tracker.Vehicle) string {
	switch {
	case !validID.MatchString(v.ID):
		return "id must be 1–64 letters, digits, '_', '-', '.', ':'"
	case v.Kind == "":
		return "kind is required (truck, resident_car, patrol, car, bus, other)"
	case !vehicleKinds[v.Kind]:
		return "unknown kind " + v.Kind + " (truck, resident_car, patrol, car, bus, other)"
	}
	return ""
}

// vehicleAnswer is a registered vehicle with the driver whose card is in its terminal's reader.
type vehicleAnswer struct {
	tracker.Vehicle
	Driver *driverAnswer `json:"driver"`
}

// driverAnswer is the driver of a vehicle's newest driver_identity event.
type driverAnswer struct {
	CardID string    `json:"card_id"`
	Name   string    `json:"name"`
	Since  time.Time `json:"since"`
}

// driverOf is the driver a driver_identity event puts at the wheel: nil when the card was
// removed or could not be read.
func driverOf(ev tracker.Event) *driverAnswer {
	inserted, _ := ev.Attrs["inserted"].(bool)
	card, _ := ev.Attrs["card_id"].(string)
	if !inserted || card == "" {
		return nil
	}
	name, _ := ev.Attrs["driver_name"].(string)
	return &driverAnswer{CardID: card, Name: name, Since: ev.Time.UTC()}
}

func (s *Server) listVehicles(c *gin.Context) {
	vs, err := s.cfg.Store.Vehicles(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return
	}
	evs, err := s.cfg.Store.LatestEvents(c.Request.Context(), tracker.EventDriverIdentity)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	drivers := make(map[string]*driverAnswer, len(evs))
	for _, ev := range evs {
		drivers[ev.VehicleID] = driverOf(ev)
	}
	out := make([]vehicleAnswer, len(vs))
	for i, v := range vs {
		out[i] = vehicleAnswer{Vehicle: v, Driver: drivers[v.ID]}
	}
	c.JSON(http.StatusOK, gin.H{"vehicles": out})
}

func (s *Server) createVehicle(c *gin.Context) {
	var v tracker.Vehicle
	if !bindJSON(c, &v) {
		return
	}
	if msg := checkVehicle(v); msg != "" {
		badRequest(c, msg)
		return
	}
	v.CreatedAt = time.Now().UTC()
	if err := s.cfg.Store.CreateVehicle(c.Request.Context(), v); err != nil {
		s.storeFail(c, err)
		return
	}
	if s.cfg.VehiclesChanged != nil {
		s.cfg.VehiclesChanged(c.Request.Context(), v)
	}
	if !s.audited(c, "vehicle.create", "vehicle:"+v.ID, v) {
		return
	}
	c.JSON(http.StatusCreated, v)
}

func (s *Server) getVehicle(c *gin.Context) {
	v, err := s.vehicleByRef(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.refFail(c, c.Param("id"), err)
		return
	}
	evs, err := s.cfg.Store.Events(c.Request.Context(), tracker.EventQuery{VehicleID: v.ID, Type: tracker.EventDriverIdentity, NewestFirst: true, Limit: 1})
	if err != nil {
		s.storeFail(c, err)
		return
	}
	answer := vehicleAnswer{Vehicle: v}
	if len(evs) == 1 {
		answer.Driver = driverOf(evs[0])
	}
	c.JSON(http.StatusOK, answer)
}

func (s *Server) updateVehicle(c *gin.Context) {
	var v tracker.Vehicle
	if !bindJSON(c, &v) {
		return
	}
	if v.ID == "" {
		v.ID = c.Param("id")
	}
	if v.ID != c.Param("id") {
		badRequest(c, "id in the body differs from the URL")
		return
	}
	if msg := checkVehicle(v); msg != "" {
		badRequest(c, msg)
		return
	}
	if err := s.cfg.Store.UpdateVehicle(c.Request.Context(), v); err != nil {
		s.storeFail(c, err)
		return
	}
	stored, _ := s.cfg.Store.Vehicle(c.Request.Context(), v.ID)
	if s.cfg.VehiclesChanged != nil {
		s.cfg.VehiclesChanged(c.Request.Context(), stored)
	}
	if !s.audited(c, "vehicle.update", "vehicle:"+v.ID, v) {
		return
	}
	c.JSON(http.StatusOK, stored)
}

func (s *Server) deleteVehicle(c *gin.Context) {
	id := c.Param("id")
	if err := s.cfg.Store.DeleteVehicle(c.Request.Context(), id); err != nil {
		s.storeFail(c, err)
		return
	}
	if s.audited(c, "vehicle.delete", "vehicle:"+id, nil) {
		c.Status(http.StatusNoContent)
	}
}

func checkDevice(d tracker.Device) string {
	switch {
	case !validID.MatchString(d.ID):
		return "id must be 1–64 letters, digits, '_', '-', '.', ':'"
	case d.Protocol != tracker.ProtocolJT808 && d.Protocol != tracker.ProtocolGT06 && d.Protocol != tracker.ProtocolOsmAnd &&
		d.Protocol != tracker.ProtocolJT600:
		return "protocol must be jt808, gt06, jt600 or osmand"
	case d.Protocol == tracker.ProtocolJT808 && !allDigits(d.ID):
		return "a jt808 device id is its phone number without leading zeros (digits only)"
	case d.Protocol == tracker.ProtocolJT808 && d.ID[0] == '0':
		return "a jt808 device id has no leading zeros (BCD 012345678901 is device 12345678901)"
	case d.Protocol == tracker.ProtocolGT06 && (!allDigits(d.ID) || len(d.ID) > 16):
		return "a gt06 device id is its IMEI (up to 16 digits)"
	case d.Protocol == tracker.ProtocolJT600 && (!allDigits(d.ID) || len(d.ID) > 20 || d.ID[0] == '0' && d.ID != "0"):
		return "a jt600 device id is its terminal id without leading zeros (digits only)"
	case len(d.AuthCode) > 64:
		return "auth_code is longer than 64 characters"
	// The widest fields of a JT/T 808 registration (the 2019 edition's).
	case len(d.TerminalID) > 30:
		return "terminal_id is longer than 30 bytes"
	case len(d.Maker) > 11:
		return "maker is longer than 11 bytes"
	case len(d.Model) > 30:
		return "model is longer than 30 bytes"
	}
	return ""
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// shownDevice is d as the caller's role may see it: the auth code, which lets a terminal
// report as the truck, only to those who administer devices.
func shownDevice(c *gin.Context, d tracker.Device) tracker.Device {
	if !access.Allowed(session(c).Role, access.PermRegistry) {
		d.AuthCode = ""
	}
	return d
}

func (s *Server) listDevices(c *gin.Context) {
	ds, err := s.cfg.Store.Devices(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return
	}
	for i := range ds {
		ds[i] = shownDevice(c, ds[i])
	}
	c.JSON(http.StatusOK, gin.H{"devices": ds})
}

func (s *Server) createDevice(c *gin.Context) {
	var d tracker.Device
	if !bindJSON(c, &d) {
		return
	}
	if msg := checkDevice(d); msg != "" {
		badRequest(c, msg)
		return
	}
	if d.VehicleID != "" {
		if _, err := s.cfg.Store.Vehicle(c.Request.Context(), d.VehicleID); err != nil {
			badRequest(c, "vehicle_id "+d.VehicleID+" is not a registered vehicle")
			return
		}
	}
	d.CreatedAt = time.Now().UTC()
	d.RegisteredAt = time.Time{} // set by the terminal's registration only
	if err := s.cfg.Store.CreateDevice(c.Request.Context(), d); err != nil {
		s.storeFail(c, err)
		return
	}
	if s.audited(c, "device.create", "device:"+d.ID, deviceDetail(d)) {
		c.JSON(http.StatusCreated, d)
	}
}

func (s *Server) getDevice(c *gin.Context) {
	d, err := s.cfg.Store.Device(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, shownDevice(c, d))
}

func (s *Server) updateDevice(c *gin.Context) {
	var d tracker.Device
	if !bindJSON(c, &d) {
		return
	}
	if d.ID == "" {
		d.ID = c.Param("id")
	}
	if d.ID != c.Param("id") {
		badRequest(c, "id in the body differs from the URL")
		return
	}
	if msg := checkDevice(d); msg != "" {
		badRequest(c, msg)
		return
	}
	if err := s.cfg.Store.UpdateDevice(c.Request.Context(), d); err != nil {
		s.storeFail(c, err)
		return
	}
	if !s.audited(c, "device.update", "device:"+d.ID, deviceDetail(d)) {
		return
	}
	d, _ = s.cfg.Store.Device(c.Request.Context(), d.ID)
	c.JSON(http.StatusOK, d)
}

// deviceDetail is what the audit records of a device change: never its auth code.
func deviceDetail(d tracker.Device) gin.H {
	return gin.H{"protocol": d.Protocol, "vehicle_id": d.VehicleID, "auth_code_set": d.AuthCode != "",
		"terminal_id": d.TerminalID, "maker": d.Maker, "model": d.Model}
}

// resetRegistration lets the device's terminal register (JT/T 808 0x0100) again, for a
// replaced or reset terminal: until then a registration of it is refused.
func (s *Server) resetRegistration(c *gin.Context) {
	id := c.Param("id")
	d, err := s.cfg.Store.Device(c.Request.Context(), id)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if err := s.cfg.Store.ResetRegistration(c.Request.Context(), id); err != nil {
		s.storeFail(c, err)
		return
	}
	if !s.audited(c, "device.reset_registration", "device:"+id, gin.H{"registered_at": d.RegisteredAt}) {
		return
	}
	d, err = s.cfg.Store.Device(c.Request.Context(), id)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) deleteDevice(c *gin.Context) {
	id := c.Param("id")
	if err := s.cfg.Store.DeleteDevice(c.Request.Context(), id); err != nil {
		s.storeFail(c, err)
		return
	}
	if s.audited(c, "device.delete", "device:"+id, nil) {
		c.Status(http.StatusNoContent)
	}
}
