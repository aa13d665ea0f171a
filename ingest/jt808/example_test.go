package jt808_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/tracker"
)

// A terminal (or a simulator playing one) encodes a location report; the gateway decodes it.
func Example() {
	phone, err := jt808.ParsePhone("13912344329", true) // a 2019 terminal: BCD[10]
	if err != nil {
		panic(err)
	}
	body := jt808.AppendLocation(nil, &jt808.Location{
		Status:   jt808.StatusACC | jt808.StatusPositioned | jt808.StatusBeiDou,
		Lat:      43.6531,
		Lon:      111.9772,
		SpeedKmh: 62.5,
		Heading:  315,
		Time:     time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC),
		Items:    jt808.AppendItem(nil, 0x31, []byte{14}), // 14 satellites
	})
	wire, err := jt808.AppendFrame(nil, &jt808.Header{MsgID: jt808.MsgLocation, V2019: true, ProtoVersion: 1,
		Phone: phone, Serial: 7}, body)
	if err != nil {
		panic(err)
	}

	f, _, err := jt808.DecodeFrame(wire[1 : len(wire)-1])
	if err != nil {
		panic(err)
	}
	var l jt808.Location
	if err := jt808.DecodeLocation(f.Body, &l); err != nil {
		panic(err)
	}
	fmt.Println(f.Header.Phone, f.Header.Serial, l.Lat, l.Lon, l.SpeedKmh, l.Time)
	fmt.Println(l.AppendFlags(nil), l.Attrs())
	// Output:
	// 13912344329 7 43.6531 111.9772 62.5 2026-05-01 02:00:00 +0000 UTC
	// [acc_on positioned beidou] map[satellites:14]
}

type registry map[string]tracker.Device

func (r registry) Device(_ context.Context, id string) (tracker.Device, error) {
	if d, ok := r[id]; ok {
		return d, nil
	}
	return tracker.Device{}, tracker.ErrNotFound
}

type printSink struct{}

func (printSink) Submit(_ context.Context, fixes []tracker.Fix) error {
	for _, f := range fixes {
		fmt.Println("stored", f.VehicleID, f.DeviceID, f.Lat, f.Lon, f.Time.Format(time.RFC3339))
	}
	return nil
}

// The gateway wired to a sink (in BorderWatch, the tracker pipeline) and the device registry;
// a terminal reports once and gets its acknowledgement.
func ExampleServer() {
	srv, err := jt808.NewServer(jt808.Config{
		Sink: printSink{},
		Admission: &tracker.Admission{Devices: registry{
			"13912344329": {ID: "13912344329", Protocol: tracker.ProtocolJT808, VehicleID: "truck-7"},
		}},
		Logger:     slog.New(slog.DiscardHandler),
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // BW_JT808_ADDR, ":6808" by default
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	phone, _ := jt808.ParsePhone("13912344329", false)
	body := jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned, Lat: 43.6531, Lon: 111.9772,
		Time: time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)})
	wire, _ := jt808.AppendFrame(nil, &jt808.Header{MsgID: jt808.MsgLocation, Phone: phone, Serial: 1}, body)
	c.Write(wire)

	raw, err := jt808.NewScanner(c, 4096).Next()
	if err != nil {
		panic(err)
	}
	f, _, _ := jt808.DecodeFrame(raw)
	ack, _ := jt808.DecodeGeneralResponse(f.Body)
	fmt.Printf("ack 0x%04x for 0x%04x serial %d: result %d\n", f.Header.MsgID, ack.ReplyID, ack.ReplySerial, ack.Result)

	stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// stored truck-7 13912344329 43.6531 111.9772 2026-05-01T02:00:00Z
	// ack 0x8001 for 0x0200 serial 1: result 0
	// stopped: <nil>
}
