package gt06

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/ratelimit"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestServerDeviceOverItsLimit: alarms over the device's fix limit are stored nowhere and not
// acknowledged (the tracker resends them), the connection goes on, and a second burst's worth
// closes it; another tracker is served throughout. The limiter's clock is stopped: no bucket
// refills during the test.
func TestServerDeviceOverItsLimit(t *testing.T) {
	const burst = 3
	l, err := ratelimit.New(ratelimit.Config{DeviceFixes: ratelimit.Limit{Rate: 1, Burst: burst},
		Clock: func() time.Duration { return time.Hour }})
	if err != nil {
		t.Fatal(err)
	}
	sink, reg := newSink(), prometheus.NewRegistry()
	srv, err := NewServer(Config{Sink: sink, Registerer: reg, Logger: slog.New(slog.DiscardHandler), Limits: l,
		Admission: &tracker.Admission{Devices: devices{
			"860470067873061": {ID: "860470067873061", Protocol: tracker.ProtocolGT06, VehicleID: "truck-7"},
			"860470067873062": {ID: "860470067873062", Protocol: tracker.ProtocolGT06, VehicleID: "truck-8"},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	alarm := Location{Time: fixTime, Lat: 43.6, Lon: 111.9, Status: Status{Alarm: AlarmSOS, Language: 2}}
	flood, good := dial(t, ln.Addr().String()), dial(t, ln.Addr().String())
	flood.expectAck(ProtoLogin, flood.login("860470067873061"))
	good.expectAck(ProtoLogin, good.login("860470067873062"))
	for range burst {
		flood.expectAck(ProtoAlarm, flood.location(ProtoAlarm, alarm))
	}
	for range burst {
		flood.location(ProtoAlarm, alarm)
	}
	// The status packet's ack comes next: the alarms over the limit were not acknowledged.
	flood.send(Status{Language: 2}.Packet(flood.sn + 1))
	flood.sn++
	flood.expectAck(ProtoStatus, flood.sn)
	good.expectAck(ProtoAlarm, good.location(ProtoAlarm, alarm))
	flood.location(ProtoAlarm, alarm)
	flood.expectClosed()
	good.expectAck(ProtoAlarm, good.location(ProtoAlarm, alarm))

	if n := len(sink.all()); n != burst+2 {
		t.Errorf("%d fixes stored, want %d", n, burst+2)
	}
	if got := value(srv.m.rejected.WithLabelValues(ratelimit.ReasonRateLimited)); got != burst+1 {
		t.Errorf("rate_limited rejections: %v, want %d", got, burst+1)
	}
}
