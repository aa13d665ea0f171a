// Package osmand receives positions from OsmAnd and Traccar Client over HTTP: the request
// decoder (query string, form and the JSON body of Traccar Client 9+), an encoder that builds
// the request Traccar Client sends (for the simulator), and an http.Handler and Server that
// admit the device and submit its fixes.
package osmand

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// ErrBadRequest is wrapped by every decoding error; the message says what was wrong.
var ErrBadRequest = errors.New("bad request")

const knotKmh = 1.852

func badf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, a...))
}

// DecodeQuery decodes the parameters of a query-string or form request into a fix of device
// Fix.DeviceID (VehicleID is left to admission). A request without timestamp gets
// receivedAt as its time.
func DecodeQuery(v url.Values, receivedAt time.Time) (tracker.Fix, error) {
	f := tracker.Fix{
		Protocol:   tracker.ProtocolOsmAnd,
		ReceivedAt: receivedAt.UTC(),
		Valid:      true,
		Flags:      []string{},
		Attrs:      map[string]any{},
	}
	var haveLat, haveLon bool
	for key, values := range v {
		if len(values) == 0 {
			continue
		}
		value := values[len(values)-1]
		var err error
		switch key {
		case "id", "deviceid":
			f.DeviceID = value
		case "lat":
			f.Lat, err = number(key, value, -90, 90)
			haveLat = true
		case "lon":
			f.Lon, err = number(key, value, -180, 180)
			haveLon = true
		case "location":
			lat, lon, ok := strings.Cut(value, ",")
			if !ok {
				return f, badf("location %q is not lat,lon", value)
			}
			if f.Lat, err = number("location latitude", lat, -90, 90); err == nil {
				f.Lon, err = number("location longitude", lon, -180, 180)
			}
			haveLat, haveLon = true, true
		case "timestamp":
			f.Time, err = parseTime(value)
		case "speed":
			var knots float64
			knots, err = number(key, value, 0, 1e4)
			f.SpeedKmh = knots * knotKmh
		case "bearing", "heading":
			f.Heading, err = number(key, value, 0, 360)
		case "altitude":
			f.AltitudeM, err = number(key, value, -1e5, 1e5)
		case "accuracy", "hdop":
			f.Attrs[key], err = number(key, value, 0, 1e7)
		case "batt":
			f.Attrs["battery"], err = number(key, value, 0, 100)
		case "charge":
			var b bool
			if b, err = parseBool(key, value); err == nil {
				f.Attrs["charge"] = b
			}
		case "valid":
			f.Valid, err = parseBool(key, value)
		default:
			if len(values) > 1 {
				f.Attrs[key] = values
			} else {
				f.Attrs[key] = attrValue(value)
			}
		}
		if err != nil {
			return f, err
		}
	}
	if f.DeviceID == "" {
		return f, badf("missing id")
	}
	if !haveLat || !haveLon {
		return f, badf("missing lat and lon")
	}
	if f.Time.IsZero() {
		f.Time = f.ReceivedAt
	}
	return f, nil
}

func number(name, s string, lo, hi float64) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, badf("%s %q is not a number", name, s)
	}
	if x < lo || x > hi {
		return 0, badf("%s %v out of range [%v, %v]", name, x, lo, hi)
	}
	return x, nil
}

func parseBool(name, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, badf("%s %q is not a boolean", name, s)
}

// attrValue keeps an unknown parameter as a number or boolean when it is one.
func attrValue(s string) any {
	if x, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(x) && !math.IsInf(x, 0) {
		return x
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	return s
}

// ISO 8601 forms clients send; one without a zone is UTC.
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
}

// maxUnixMilli is 9999-12-31T23:59:59.999Z: later times have no RFC 3339 form, so a fix
// holding one could not be serialised.
const maxUnixMilli = 253402300799999

// parseTime accepts seconds since the epoch (milliseconds when above 2³¹), ISO 8601, and
// "yyyy-MM-dd HH:mm:ss" read as UTC.
func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return time.Time{}, badf("timestamp %d is negative", n)
		}
		if n > math.MaxInt32 {
			if n > maxUnixMilli {
				return time.Time{}, badf("timestamp %d out of range", n)
			}
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if strings.Contains(s, "T") {
		for _, layout := range isoLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, badf("timestamp %q is not ISO 8601", s)
	}
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		return time.Time{}, badf("timestamp %q is neither a number, ISO 8601 nor yyyy-MM-dd HH:mm:ss", s)
	}
	return t, nil
}

// jsonRequest is the body Traccar Client 9+ posts (the transistorsoft background-geolocation
// location format).
type jsonRequest struct {
	DeviceID json.RawMessage `json:"device_id"`
	Location *struct {
		Timestamp string `json:"timestamp"`
		Coords    *struct {
			Latitude  *float64 `json:"latitude"`
			Longitude *float64 `json:"longitude"`
			Accuracy  *float64 `json:"accuracy"`
			Speed     *float64 `json:"speed"`
			Heading   *float64 `json:"heading"`
			Altitude  *float64 `json:"altitude"`
		} `json:"coords"`
		IsMoving *bool    `json:"is_moving"`
		Odometer *float64 `json:"odometer"`
		Event    string   `json:"event"`
		Mock     *bool    `json:"mock"`
		Battery  *struct {
			Level      *float64 `json:"level"`
			IsCharging *bool    `json:"is_charging"`
		} `json:"battery"`
		Activity *struct {
			Type string `json:"type"`
		} `json:"activity"`
		Extras map[string]any `json:"extras"`
	} `json:"location"`
}

// DecodeJSON decodes a Traccar Client JSON body. Speed is in m/s and heading in degrees, a
// negative value of either meaning unknown.
func DecodeJSON(body []byte, receivedAt time.Time) (tracker.Fix, error) {
	f := tracker.Fix{
		Protocol:   tracker.ProtocolOsmAnd,
		ReceivedAt: receivedAt.UTC(),
		Valid:      true,
		Flags:      []string{},
		Attrs:      map[string]any{},
	}
	var req jsonRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return f, badf("JSON body: %v", err)
	}
	id, err := jsonID(req.DeviceID)
	if err != nil {
		return f, err
	}
	f.DeviceID = id
	loc := req.Location
	if loc == nil {
		return f, badf("missing location")
	}
	if loc.Timestamp != "" {
		if f.Time, err = parseTime(loc.Timestamp); err != nil {
			return f, err
		}
	} else {
		f.Time = f.ReceivedAt
	}
	c := loc.Coords
	if c == nil || c.Latitude == nil || c.Longitude == nil {
		return f, badf("missing coords")
	}
	if f.Lat, err = checked("latitude", *c.Latitude, -90, 90); err != nil {
		return f, err
	}
	if f.Lon, err = checked("longitude", *c.Longitude, -180, 180); err != nil {
		return f, err
	}
	if c.Speed != nil && *c.Speed >= 0 {
		mps, err := checked("speed", *c.Speed, 0, 1e4)
		if err != nil {
			return f, err
		}
		f.SpeedKmh = mps * 3.6
	}
	if c.Heading != nil && *c.Heading >= 0 {
		if f.Heading, err = checked("heading", *c.Heading, 0, 360); err != nil {
			return f, err
		}
	}
	if c.Altitude != nil {
		if f.AltitudeM, err = checked("altitude", *c.Altitude, -1e5, 1e5); err != nil {
			return f, err
		}
	}
	if c.Accuracy != nil && *c.Accuracy >= 0 {
		f.Attrs["accuracy"] = *c.Accuracy
	}
	if loc.IsMoving != nil {
		f.Attrs["motion"] = *loc.IsMoving
	}
	if loc.Odometer != nil {
		f.Attrs["odometer"] = *loc.Odometer
	}
	if loc.Event != "" {
		f.Attrs["event"] = loc.Event
	}
	if loc.Mock != nil {
		f.Attrs["mock"] = *loc.Mock
	}
	if b := loc.Battery; b != nil {
		if b.Level != nil && *b.Level >= 0 {
			f.Attrs["battery"] = math.Round(*b.Level * 100)
		}
		if b.IsCharging != nil {
			f.Attrs["charge"] = *b.IsCharging
		}
	}
	if loc.Activity != nil && loc.Activity.Type != "" {
		f.Attrs["activity"] = loc.Activity.Type
	}
	for k, v := range loc.Extras {
		if _, taken := f.Attrs[k]; !taken {
			f.Attrs[k] = v
		}
	}
	return f, nil
}

func jsonID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", badf("missing device_id")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return "", badf("missing device_id")
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", badf("device_id %s is neither a string nor a number", raw)
}

func checked(name string, x, lo, hi float64) (float64, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < lo || x > hi {
		return 0, badf("%s %v out of range [%v, %v]", name, x, lo, hi)
	}
	return x, nil
}
