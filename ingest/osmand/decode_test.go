package osmand

import (
	"errors"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

var now = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func query(t testing.TB, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// Requests from Traccar's OsmAndProtocolDecoderTest.
func TestDecodeQuery(t *testing.T) {
	tests := []struct {
		req      string
		id       string
		time     time.Time
		lat, lon float64
		speed    float64 // km/h
		heading  float64
		alt      float64
		valid    bool
		attrs    map[string]any
	}{
		{"/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0",
			"902064", time.Date(2016, 1, 27, 18, 55, 47, 0, time.UTC), 42.06288, -88.23412, 0, 0, 224, true,
			map[string]any{"hdop": 6.0}},
		{"/?id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0&altitude=224.0&speed=0.0",
			"902064", time.UnixMilli(1442068686579).UTC(), 42.06288, -88.23412, 0, 0, 224, true,
			map[string]any{"hdop": 6.0}},
		{"/?lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0.0&id=353861053849681",
			"353861053849681", time.Date(2014, 6, 4, 9, 10, 11, 0, time.UTC), 49.60688, 6.15788, 0, 0, 384.7, true,
			map[string]any{}},
		{"/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0&hdop=0.0",
			"123456", time.Unix(1377177267, 0).UTC(), 60, 30, 0, 0, 0, true, map[string]any{"hdop": 0.0}},
		{"/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0",
			"123456", time.Unix(1377177267, 0).UTC(), 60, 30, 0, 0, 0, true, map[string]any{}},
		{"/?lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456",
			"123456", now, 60, 30, 0, 0, 0, true, map[string]any{"vacc": 0.0, "hacc": 0.0}},
		{"/?id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87",
			"861001000719969", now, 41.666667, -0.883333, 0, 0, 350.059479, true, map[string]any{"battery": 87.0}},
		{"/?id=123456&timestamp=1377177267&location=60.0,30.0",
			"123456", time.Unix(1377177267, 0).UTC(), 60, 30, 0, 0, 0, true, map[string]any{}},
		{"/?id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24",
			"123456789012345", time.Unix(1504763810, 0).UTC(), 40.7232948571, -74.0061408571, 40 * 1.852, 7.19889788244, 0, true,
			map[string]any{"ignition": true, "rpm": 933.0, "fuel": 24.0}},
		// Southern and western hemisphere, charge and valid, an unknown text parameter.
		{"/?id=abc&lat=-33.8688&lon=-70.6693&timestamp=1700000000&charge=true&valid=0&accuracy=12.5&note=gate+3",
			"abc", time.Unix(1700000000, 0).UTC(), -33.8688, -70.6693, 0, 0, 0, false,
			map[string]any{"charge": true, "accuracy": 12.5, "note": "gate 3"}},
	}
	for _, tt := range tests {
		f, err := DecodeQuery(query(t, tt.req), now)
		if err != nil {
			t.Errorf("%s: %v", tt.req, err)
			continue
		}
		if f.DeviceID != tt.id || !f.Time.Equal(tt.time) || f.Time.Location() != time.UTC ||
			!near(f.Lat, tt.lat) || !near(f.Lon, tt.lon) || !near(f.SpeedKmh, tt.speed) ||
			!near(f.Heading, tt.heading) || !near(f.AltitudeM, tt.alt) || f.Valid != tt.valid ||
			f.Protocol != tracker.ProtocolOsmAnd || !f.ReceivedAt.Equal(now) {
			t.Errorf("%s:\n got %+v", tt.req, f)
		}
		if !reflect.DeepEqual(f.Attrs, tt.attrs) {
			t.Errorf("%s: attrs %v, want %v", tt.req, f.Attrs, tt.attrs)
		}
	}
}

func TestDecodeQueryErrors(t *testing.T) {
	for _, req := range []string{
		"/?timestamp=1377177267&lat=60.0&lon=30.0", // Traccar test: no id
		"/?id=&lat=60&lon=30",
		"/?id=1&lat=60",
		"/?id=1&timestamp=1377177267&cell=257,02,16,2224", // no position
		"/?id=1&lat=91&lon=30",
		"/?id=1&lat=60&lon=-180.5",
		"/?id=1&lat=NaN&lon=30",
		"/?id=1&lat=60&lon=Inf",
		"/?id=1&lat=sixty&lon=30",
		"/?id=1&location=60",
		"/?id=1&location=60,x",
		"/?id=1&lat=60&lon=30&speed=-1",
		"/?id=1&lat=60&lon=30&bearing=361",
		"/?id=1&lat=60&lon=30&timestamp=yesterday",
		"/?id=1&lat=60&lon=30&timestamp=2016-13-27T18:55:47Z",
		"/?id=1&lat=60&lon=30&timestamp=-5",
		"/?id=1&lat=60&lon=30&valid=maybe",
		"/?id=1&lat=60&lon=30&batt=101",
	} {
		if _, err := DecodeQuery(query(t, req), now); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: err %v, want ErrBadRequest", req, err)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"1377177267", time.Unix(1377177267, 0)},
		{"2147483647", time.Unix(2147483647, 0)},
		{"2147483648", time.UnixMilli(2147483648)},
		{"1442068686579", time.UnixMilli(1442068686579)},
		{"2025-06-15T13:45:12.862Z", time.Date(2025, 6, 15, 13, 45, 12, 862e6, time.UTC)},
		{"2025-06-15T21:45:12+08:00", time.Date(2025, 6, 15, 13, 45, 12, 0, time.UTC)},
		{"2025-06-15T21:45:12+0800", time.Date(2025, 6, 15, 13, 45, 12, 0, time.UTC)},
		{"2025-06-15T13:45:12", time.Date(2025, 6, 15, 13, 45, 12, 0, time.UTC)},
		{"2014-06-04 09:10:11", time.Date(2014, 6, 4, 9, 10, 11, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// Bodies from Traccar's OsmAndProtocolDecoderTest (Traccar Client 9, Android and iOS).
func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		body     string
		id       string
		time     time.Time
		lat, lon float64
		speed    float64
		heading  float64
		alt      float64
		attrs    map[string]any
	}{
		{`{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}`,
			"48241179", time.Date(2025, 6, 15, 13, 45, 12, 862e6, time.UTC), 37.4219983, -122.084, 0, 0, 5,
			map[string]any{"accuracy": 5.0, "motion": false, "odometer": 0.0, "event": "motionchange", "battery": 100.0, "charge": false, "activity": "still"}},
		{`{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{"device_string_test":"long_device_id","device_bool_test":true,"device_bool_false_test":false,"device_integer_test":1,"device_double_test":1.345,"device_very_long_double_test":1763636.3442},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}`,
			"48241179", time.Date(2025, 6, 15, 13, 45, 12, 862e6, time.UTC), 37.4219983, -122.084, 0, 0, 5,
			map[string]any{"accuracy": 5.0, "motion": false, "odometer": 0.0, "event": "motionchange", "battery": 100.0, "charge": false, "activity": "still",
				"device_string_test": "long_device_id", "device_bool_test": true, "device_bool_false_test": false, "device_integer_test": 1.0, "device_double_test": 1.345, "device_very_long_double_test": 1763636.3442}},
		{`{"location":{"extras":{},"mock":true,"coords":{"speed_accuracy":-1,"speed":-1,"longitude":-122.406417,"ellipsoidal_altitude":0,"floor":null,"heading_accuracy":-1,"latitude":37.785834000000001,"accuracy":5,"altitude_accuracy":-1,"altitude":0,"heading":-1},"is_moving":false,"age":188,"odometer":0,"uuid":"2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8","event":"motionchange","battery":{"level":-1,"is_charging":false},"activity":{"type":"unknown","confidence":100},"timestamp":"2025-05-09T04:11:30.579Z"},"device_id":"658765"}`,
			"658765", time.Date(2025, 5, 9, 4, 11, 30, 579e6, time.UTC), 37.785834, -122.406417, 0, 0, 0,
			map[string]any{"accuracy": 5.0, "motion": false, "odometer": 0.0, "event": "motionchange", "mock": true, "charge": false, "activity": "unknown"}},
		{`{"location":{"event":"motionchange","is_moving":false,"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z","odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}`,
			"8737767034", time.Date(2021, 7, 21, 8, 6, 34, 444e6, time.UTC), -6.1148096, 106.6837015, 18.67 * 3.6, 63, 35.7,
			map[string]any{"accuracy": 3.8, "motion": false, "odometer": 0.0, "event": "motionchange", "battery": 79.0, "charge": false, "activity": "still"}},
	}
	for _, tt := range tests {
		f, err := DecodeJSON([]byte(tt.body), now)
		if err != nil {
			t.Errorf("%s: %v", tt.id, err)
			continue
		}
		if f.DeviceID != tt.id || !f.Time.Equal(tt.time) || !near(f.Lat, tt.lat) || !near(f.Lon, tt.lon) ||
			!near(f.SpeedKmh, tt.speed) || !near(f.Heading, tt.heading) || !near(f.AltitudeM, tt.alt) || !f.Valid {
			t.Errorf("%s:\n got %+v", tt.id, f)
		}
		if !reflect.DeepEqual(f.Attrs, tt.attrs) {
			t.Errorf("%s: attrs\n got %v\nwant %v", tt.id, f.Attrs, tt.attrs)
		}
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	for _, body := range []string{
		``,
		`[]`,
		`{"location":{"timestamp":"2025-06-15T13:45:12Z","coords":{"latitude":1,"longitude":2}}}`,
		`{"device_id":"","location":{"coords":{"latitude":1,"longitude":2}}}`,
		`{"device_id":{},"location":{"coords":{"latitude":1,"longitude":2}}}`,
		`{"device_id":"1"}`,
		`{"device_id":"1","location":{"timestamp":"2025-06-15T13:45:12Z"}}`,
		`{"device_id":"1","location":{"coords":{"latitude":1}}}`,
		`{"device_id":"1","location":{"coords":{"latitude":95,"longitude":2}}}`,
		`{"device_id":"1","location":{"coords":{"latitude":1,"longitude":2,"heading":400}}}`,
		`{"device_id":"1","location":{"timestamp":"soon","coords":{"latitude":1,"longitude":2}}}`,
		`{"device_id":"1","location":{"coords":{"latitude":"1","longitude":2}}}`,
	} {
		if _, err := DecodeJSON([]byte(body), now); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: err %v, want ErrBadRequest", body, err)
		}
	}
	// A numeric device_id is accepted; a missing timestamp means now.
	f, err := DecodeJSON([]byte(`{"device_id":12345,"location":{"coords":{"latitude":1,"longitude":2}}}`), now)
	if err != nil || f.DeviceID != "12345" || !f.Time.Equal(now) {
		t.Errorf("numeric id: %+v, %v", f, err)
	}
}

func TestQueryRoundTrip(t *testing.T) {
	in := tracker.Fix{
		DeviceID: "patrol-3", Time: time.Date(2026, 3, 1, 2, 59, 30, 0, time.UTC),
		Lat: -43.6526123, Lon: -111.9773456, SpeedKmh: 64.82, Heading: 271.5, AltitudeM: 1012.5, Valid: true,
		Attrs: map[string]any{"accuracy": 4.0, "battery": 87.0, "charge": true},
	}
	v := Query(in)
	if strings.Contains(v.Encode(), "valid") {
		t.Errorf("valid sent for a valid fix: %s", v.Encode())
	}
	out, err := DecodeQuery(v, now)
	if err != nil {
		t.Fatal(err)
	}
	if out.DeviceID != in.DeviceID || !out.Time.Equal(in.Time) || !near(out.Lat, in.Lat) || !near(out.Lon, in.Lon) ||
		math.Abs(out.SpeedKmh-in.SpeedKmh) > 1e-9 || out.Heading != in.Heading || out.AltitudeM != in.AltitudeM || !out.Valid ||
		!reflect.DeepEqual(out.Attrs, in.Attrs) {
		t.Errorf("round trip:\n in %+v\nout %+v", in, out)
	}
	in.Valid = false
	if out, err := DecodeQuery(Query(in), now); err != nil || out.Valid {
		t.Errorf("invalid fix round trip: %+v, %v", out, err)
	}
}

func BenchmarkDecodeQuery(b *testing.B) {
	raw := "id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571&bearing=7.19889788244&speed=40&altitude=12&accuracy=5&batt=87&charge=true"
	b.ReportAllocs()
	for b.Loop() {
		v, err := url.ParseQuery(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeQuery(v, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(`{"location":{"event":"motionchange","is_moving":false,"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z","odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeJSON(body, now); err != nil {
			b.Fatal(err)
		}
	}
}
