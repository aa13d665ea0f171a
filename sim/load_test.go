package sim

import (
	"context"
	"log/slog"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/tracker"
)

type noDevices struct{}

func (noDevices) Device(context.Context, string) (tracker.Device, error) {
	return tracker.Device{}, tracker.ErrNotFound
}

// keepingSink keeps every fix it is given.
type keepingSink struct {
	mu    sync.Mutex
	fixes []tracker.Fix
}

func (s *keepingSink) Submit(_ context.Context, fixes []tracker.Fix) error {
	s.mu.Lock()
	s.fixes = append(s.fixes, fixes...)
	s.mu.Unlock()
	return nil
}

// TestLoad runs the generator against a real gateway: every frame is a valid 0x0200 that
// decodes to the terminal's next second and position with its items, every one is
// acknowledged and measured, and frames go out FramesPerWrite to a write.
func TestLoad(t *testing.T) {
	sink := &keepingSink{}
	srv, err := jt808.NewServer(jt808.Config{Sink: sink, Logger: slog.New(slog.DiscardHandler),
		Admission: &tracker.Admission{Devices: noDevices{}, AcceptUnknown: true}})
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
	defer func() { cancel(); <-done }()

	const terminals, perWrite = 20, 4
	res, err := Load(context.Background(), LoadConfig{Addr: ln.Addr().String(), Terminals: terminals, RatePerSecond: 800,
		FramesPerWrite: perWrite, Items: true, Duration: 2 * time.Second, PhoneBase: 14000000000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Acked != res.Sent || res.Refused != 0 || res.Writes*perWrite != res.Sent || res.ConnectFailures != 0 {
		t.Fatalf("%v", res)
	}
	if res.Elapsed < 2*time.Second {
		t.Errorf("elapsed %v, shorter than the 2 s asked for", res.Elapsed)
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 || res.AckedInTime > res.Acked {
		t.Errorf("latencies %v", res)
	}
	// Each measured second has its own p99 and maximum, within the run's.
	if len(res.SecondP99) != 2 || len(res.SecondMax) != 2 {
		t.Fatalf("per-second latencies %v %v, want 2 seconds", res.SecondP99, res.SecondMax)
	}
	for i := range res.SecondP99 {
		if res.SecondP99[i] <= 0 || res.SecondMax[i] < res.SecondP99[i] || res.SecondMax[i] > res.Max {
			t.Errorf("second %d: p99 %v max %v, run max %v", i, res.SecondP99[i], res.SecondMax[i], res.Max)
		}
	}
	if res.MeasureStart.IsZero() || time.Since(res.MeasureStart) < res.Elapsed {
		t.Errorf("measuring began %v, elapsed %v", res.MeasureStart, res.Elapsed)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if int64(len(sink.fixes)) != res.Sent {
		t.Fatalf("%d fixes stored, %d sent", len(sink.fixes), res.Sent)
	}
	last := map[string]tracker.Fix{}
	for _, f := range sink.fixes {
		if !f.Valid || f.Attrs["satellites"] != 11 || f.Attrs["signal"] != 24 || f.Attrs["mileage_km"].(float64) < 12000 {
			t.Fatalf("fix %+v", f)
		}
		if p, ok := last[f.DeviceID]; ok {
			if !f.Time.Equal(p.Time.Add(time.Second)) || math.Abs(f.Lon-p.Lon-0.0001) > 1e-7 || f.Lat != p.Lat {
				t.Fatalf("device %s: %v %v after %v %v", f.DeviceID, f.Time, f.Lon, p.Time, p.Lon)
			}
		}
		last[f.DeviceID] = f
	}
	if len(last) != terminals {
		t.Errorf("%d devices reported, want %d", len(last), terminals)
	}
}

func TestLatencyBuckets(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<22; us += 1 + us/97 {
		b := latencyBucket(us)
		if b < prev || bucketLow(b) > us || (b+1 < len(latencies{}.n) && bucketLow(b+1) <= us) {
			t.Fatalf("%d µs: bucket %d [%d, %d)", us, b, bucketLow(b), bucketLow(b+1))
		}
		prev = b
	}
	var h latencies
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	if p := h.quantile(0.5); p < 485*time.Millisecond || p > 500*time.Millisecond {
		t.Errorf("p50 %v", p)
	}
	if p := h.quantile(0.99); p < 960*time.Millisecond || p > 990*time.Millisecond {
		t.Errorf("p99 %v", p)
	}
	if h.max() != time.Second {
		t.Errorf("max %v", h.max())
	}
}

// BenchmarkFrameTemplate is the generator's encoding cost per frame.
func BenchmarkFrameTemplate(b *testing.B) {
	ph, _ := jt808.ParsePhone("14000000001", false)
	tpl := newFrameTemplate(ph, 42.5, 107, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), true)
	buf := make([]byte, 0, tpl.maxWire())
	b.ReportAllocs()
	for b.Loop() {
		buf = tpl.next(buf[:0])
	}
}
