package gt06_test

import (
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/ingest/gt06"
)

// A simulated tracker logs in, then reports a position south-west of Greenwich with its clock
// on UTC+8 (said in the login's time zone word).
func Example() {
	zone := time.FixedZone("UTC+8", 8*3600)
	login, _ := gt06.Login{IMEI: "860470067873061", TypeID: 0x3612, Zone: zone, Offset: 8 * time.Hour}.Packet(1)
	fmt.Printf("% X\n", gt06.AppendFrame(nil, login))

	loc := gt06.Location{
		Time: time.Date(2026, 3, 1, 2, 59, 30, 0, time.UTC), Satellites: 9,
		Lat: -33.8688, Lon: -70.6693, SpeedKmh: 57, Course: 271, Positioned: true,
		LBS: gt06.LBS{MCC: 730, MNC: 1, LAC: 0x287D, CellID: 0x1F71},
	}
	p, _ := loc.Packet(gt06.ProtoGPSLBS, 2, zone)
	frame := gt06.AppendFrame(nil, p)
	fmt.Printf("% X\n", frame)

	// The server's side: parse, decode with the zone from the login, acknowledge the login.
	q, _ := gt06.ParseFrame(frame)
	got, _ := gt06.DecodeLocation(q, zone)
	fmt.Printf("%s %.4f %.4f %d km/h\n", got.Time.Format(time.RFC3339), got.Lat, got.Lon, got.SpeedKmh)
	fmt.Printf("% X\n", gt06.AppendAck(nil, gt06.ProtoLogin, 1))
	// Output:
	// 78 78 11 01 08 60 47 00 67 87 30 61 36 12 32 00 00 01 FF 48 0D 0A
	// 78 78 1F 12 1A 03 01 0A 3B 1E C9 03 A2 3C 00 07 94 FD 84 39 19 0F 02 DA 01 28 7D 00 1F 71 00 02 F7 4F 0D 0A
	// 2026-03-01T02:59:30Z -33.8688 -70.6693 57 km/h
	// 78 78 05 01 00 01 D9 DC 0D 0A
}
