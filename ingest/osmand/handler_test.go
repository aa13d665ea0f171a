package osmand

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/borderwatch/borderwatch/ingest/gt06"
	"github.com/borderwatch/borderwatch/tracker"
)

type devices map[string]tracker.Device

func (d devices) Device(_ context.Context, id string) (tracker.Device, error) {
	if dev, ok := d[id]; ok {
		return dev, nil
	}
	return tracker.Device{}, tracker.ErrNotFound
}

type recordingSink struct {
	mu    sync.Mutex
	fixes []tracker.Fix
	err   error
}

func (s *recordingSink) Submit(_ context.Context, fixes []tracker.Fix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil && !errors.As(s.err, new(*tracker.RefusedError)) {
		return s.err
	}
	s.fixes = append(s.fixes, fixes...)
	return s.err
}

func (s *recordingSink) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *recordingSink) all() []tracker.Fix {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tracker.Fix(nil), s.fixes...)
}

var registered = devices{
	"353861053849681": {ID: "353861053849681", Protocol: tracker.ProtocolOsmAnd, VehicleID: "patrol-3"},
	"48241179":        {ID: "48241179", Protocol: tracker.ProtocolOsmAnd, VehicleID: "car-9"},
	"860470067873061": {ID: "860470067873061", Protocol: tracker.ProtocolGT06},
}

func newHandler(t *testing.T, acceptUnknown bool, reg prometheus.Registerer) (*Handler, *recordingSink) {
	t.Helper()
	sink := &recordingSink{}
	h, err := NewHandler(Config{
		Sink:         sink,
		Admission:    &tracker.Admission{Devices: registered, AcceptUnknown: acceptUnknown},
		Registerer:   reg,
		Logger:       slog.New(slog.DiscardHandler),
		MaxBodyBytes: 4096,
		Now:          func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, sink
}

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, sink := newHandler(t, false, reg)
	srv := httptest.NewServer(h)
	defer srv.Close()

	jsonBody := `{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{}},"device_id":"48241179"}`
	tests := []struct {
		name, method, target, ctype, body string
		code                              int
		msg                               string // in the answer's body
	}{
		{"GET query", "GET", "/?lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=10.0&id=353861053849681", "", "", 200, ""},
		{"POST query, empty body", "POST", "/?id=353861053849681&timestamp=1377177267&lat=60.0&lon=30.0", "", "", 200, ""},
		{"POST form", "POST", "/", "application/x-www-form-urlencoded", "id=353861053849681&timestamp=1377177268&lat=-60.5&lon=-30.25&bearing=90", 200, ""},
		{"POST JSON", "POST", "/", "application/json; charset=utf-8", jsonBody, 200, ""},
		{"no id", "GET", "/?timestamp=1377177267&lat=60.0&lon=30.0", "", "", 400, "missing id"},
		{"bad number", "GET", "/?id=353861053849681&lat=6O.0&lon=30.0", "", "", 400, "lat"},
		{"out of range", "GET", "/?id=353861053849681&lat=60.0&lon=190", "", "", 400, "out of range"},
		{"bad JSON", "POST", "/", "application/json", `{"device_id":`, 400, "JSON"},
		{"unknown device", "GET", "/?id=999&lat=60.0&lon=30.0", "", "", 403, "device not registered for OsmAnd"},
		{"other protocol's device", "GET", "/?id=860470067873061&lat=60.0&lon=30.0", "", "", 403, "device not registered for OsmAnd"},
		{"too large", "POST", "/", "application/json", `{"device_id":"48241179","pad":"` + strings.Repeat("x", 5000) + `"}`, 413, "body over 4096"},
		{"method", "PUT", "/?id=353861053849681&lat=60.0&lon=30.0", "", "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.target, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(body), tt.msg) {
				t.Errorf("%d %q, want %d containing %q", resp.StatusCode, body, tt.code, tt.msg)
			}
			if tt.code == 200 && len(body) != 0 {
				t.Errorf("200 with body %q", body)
			}
		})
	}

	fixes := sink.all()
	if len(fixes) != 4 {
		t.Fatalf("%d fixes stored, want 4", len(fixes))
	}
	f := fixes[0]
	if f.DeviceID != "353861053849681" || f.VehicleID != "patrol-3" || !f.Time.Equal(time.Date(2014, 6, 4, 9, 10, 11, 0, time.UTC)) ||
		!near(f.SpeedKmh, 18.52) || f.AltitudeM != 384.7 || !f.ReceivedAt.Equal(now) {
		t.Errorf("GET fix %+v", f)
	}
	if f := fixes[2]; f.Lat != -60.5 || f.Lon != -30.25 || f.Heading != 90 {
		t.Errorf("form fix %+v", f)
	}
	if f := fixes[3]; f.VehicleID != "car-9" || f.Attrs["event"] != "motionchange" {
		t.Errorf("JSON fix %+v", f)
	}

	for _, c := range []struct {
		vec   *prometheus.CounterVec
		label string
		want  float64
	}{
		{h.m.requests, "200", 4}, {h.m.requests, "400", 4}, {h.m.requests, "403", 2}, {h.m.requests, "413", 1}, {h.m.requests, "405", 1},
		{h.m.rejected, "malformed", 4}, {h.m.rejected, "unknown_device", 2}, {h.m.rejected, "too_large", 1},
	} {
		if got := value(c.vec.WithLabelValues(c.label)); got != c.want {
			t.Errorf("%s = %v, want %v", c.label, got, c.want)
		}
	}
}

func TestHandlerSinkErrors(t *testing.T) {
	h, sink := newHandler(t, true, nil)
	target := "/?id=new-phone&lat=41.5&lon=109.1&timestamp=1700000000"

	sink.setErr(&tracker.RefusedError{Refused: []tracker.Refusal{{Index: 0, Reason: tracker.ReasonAncientTime}}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), tracker.ReasonAncientTime) {
		t.Errorf("refused: %d %q", rec.Code, rec.Body)
	}

	sink.setErr(errors.New("disk full"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != 503 {
		t.Errorf("sink failure: %d %q, want 503", rec.Code, rec.Body)
	}

	sink.setErr(nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != 200 {
		t.Errorf("unknown device accepted: %d %q", rec.Code, rec.Body)
	}
	if f := sink.all(); len(f) != 2 || f[1].VehicleID != "new-phone" {
		t.Errorf("stored %+v", f)
	}
}

func TestServerWithEncoder(t *testing.T) {
	sink := &recordingSink{}
	srv, err := NewServer(Config{Sink: sink, Admission: &tracker.Admission{Devices: registered}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()

	in := tracker.Fix{
		DeviceID: "48241179", Time: time.Date(2026, 3, 1, 2, 59, 30, 0, time.UTC),
		Lat: 43.6526, Lon: 111.9773, SpeedKmh: 60, Heading: 315, AltitudeM: 1000, Valid: true,
		Attrs: map[string]any{"battery": 80.0},
	}
	req, err := NewRequest(ctx, "http://"+ln.Addr().String()+"/", in)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("still accepting after cancel")
	}
	got := sink.all()
	if len(got) != 1 || got[0].VehicleID != "car-9" || !got[0].Time.Equal(in.Time) || math.Abs(got[0].SpeedKmh-60) > 1e-9 ||
		got[0].Heading != 315 || got[0].Attrs["battery"] != 80.0 {
		t.Errorf("stored %+v", got)
	}
}

// The gateways' metrics share names; they must register side by side on one registry.
func TestMetricsBesideGT06(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, _ := newHandler(t, false, reg)
	if _, err := gt06.NewServer(gt06.Config{Sink: &recordingSink{}, Admission: &tracker.Admission{Devices: registered}, Registerer: reg, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/?id=1", nil))
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

func ExampleNewRequest() {
	fix := tracker.Fix{
		DeviceID: "patrol-3", Time: time.Date(2026, 3, 1, 2, 59, 30, 0, time.UTC),
		Lat: 43.6526, Lon: 111.9773, SpeedKmh: 18.52, Heading: 90, Valid: true,
	}
	req, _ := NewRequest(context.Background(), "http://127.0.0.1:5055/", fix)
	q, _ := url.QueryUnescape(req.URL.RawQuery)
	fmt.Println(req.Method, q)
	// Output: POST altitude=0&bearing=90&id=patrol-3&lat=43.6526&lon=111.9773&speed=10&timestamp=1772333970
}

func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.Counter.GetValue()
}
