package osmand

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/borderwatch/borderwatch/tracker"
)

// Query returns the parameters Traccar Client sends for f: id, timestamp (seconds; milliseconds after 2038), lat,
// lon, speed (knots), bearing, altitude, and accuracy, batt and charge when f carries them as
// attributes ("accuracy", "battery", "charge").
func Query(f tracker.Fix) url.Values {
	v := url.Values{}
	v.Set("id", f.DeviceID)
	if sec := f.Time.Unix(); sec <= math.MaxInt32 {
		v.Set("timestamp", strconv.FormatInt(sec, 10))
	} else {
		v.Set("timestamp", strconv.FormatInt(f.Time.UnixMilli(), 10)) // seconds this large would read as milliseconds
	}
	v.Set("lat", ftoa(f.Lat))
	v.Set("lon", ftoa(f.Lon))
	v.Set("speed", strconv.FormatFloat(f.SpeedKmh/knotKmh, 'f', -1, 64)) // unrounded: km/h survive the round trip
	v.Set("bearing", ftoa(f.Heading))
	v.Set("altitude", ftoa(f.AltitudeM))
	if a, ok := f.Attrs["accuracy"].(float64); ok {
		v.Set("accuracy", ftoa(a))
	}
	if b, ok := f.Attrs["battery"].(float64); ok {
		v.Set("batt", ftoa(b))
	}
	if c, ok := f.Attrs["charge"].(bool); ok {
		v.Set("charge", strconv.FormatBool(c))
	}
	if !f.Valid {
		v.Set("valid", "false")
	}
	return v
}

func ftoa(x float64) string {
	// Seven decimals are a centimetre; more only carry float noise (1.852 conversions).
	return strconv.FormatFloat(math.Round(x*1e7)/1e7, 'f', -1, 64)
}

// NewRequest returns the request Traccar Client makes for f: a POST to baseURL with the
// parameters in the query string and an empty body.
func NewRequest(ctx context.Context, baseURL string, f tracker.Fix) (*http.Request, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	u.RawQuery = Query(f).Encode()
	return http.NewRequestWithContext(ctx, http.MethodPost, u.String(), http.NoBody)
}
