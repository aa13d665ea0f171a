package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func codecFixes() []tracker.Fix {
	t0 := time.Date(2026, 12, 5, 7, 30, 15, 123456789, time.UTC)
	return []tracker.Fix{
		{VehicleID: "蒙K·12345", DeviceID: "013912345678", Protocol: "jt808", Time: t0, ReceivedAt: t0.Add(1500 * time.Millisecond),
			Lat: 43.6123456789, Lon: 111.9876543210, SpeedKmh: 62.5, Heading: 359.9, AltitudeM: -12.25, Valid: true,
			Flags: []string{tracker.FlagSOS, tracker.FlagBlindArea}, Attrs: map[string]any{"mileage_km": 123456.7, "io": map[string]any{"acc": true}, "note": "司机"}},
		{VehicleID: "v2", DeviceID: "d2", Time: t0.In(time.FixedZone("CST", 8*3600)), Late: true, Flags: []string{}},
		{ID: 42, VehicleID: "", DeviceID: "", Lat: -90, Lon: -180, SpeedKmh: math.MaxFloat64, Heading: math.SmallestNonzeroFloat64},
		{VehicleID: "old", DeviceID: "d", Time: time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	}
}

// The binary form reads back as the JSON that gateways published before it did: same fields,
// same instants (in UTC, as the pipeline keeps them), nil and empty flags kept apart.
func TestFixCodecRoundTrip(t *testing.T) {
	fixes := codecFixes()
	data, err := encodeFixes(nil, fixes)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFixes(data)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := json.Marshal(fixes)
	if err != nil {
		t.Fatal(err)
	}
	viaJSON, err := DecodeFixes(legacy)
	if err != nil {
		t.Fatalf("a JSON message of an older gateway: %v", err)
	}
	for i := range viaJSON {
		viaJSON[i].Time, viaJSON[i].ReceivedAt = viaJSON[i].Time.UTC(), viaJSON[i].ReceivedAt.UTC()
	}
	want, _ := json.Marshal(viaJSON)
	have, _ := json.Marshal(got)
	if !bytes.Equal(have, want) {
		t.Errorf("binary round trip:\n got %s\nwant %s", have, want)
	}
	for i := range fixes {
		if !got[i].Time.Equal(fixes[i].Time) || !got[i].ReceivedAt.Equal(fixes[i].ReceivedAt) {
			t.Errorf("fix %d: times %v %v, want %v %v", i, got[i].Time, got[i].ReceivedAt, fixes[i].Time, fixes[i].ReceivedAt)
		}
	}
	if got[0].Flags == nil || got[1].Flags == nil || len(got[1].Flags) != 0 || got[2].Flags != nil {
		t.Errorf("flags: %#v %#v %#v", got[0].Flags, got[1].Flags, got[2].Flags)
	}
	if len(data) >= len(legacy)/2 {
		t.Errorf("binary message %d bytes, JSON %d: not compact", len(data), len(legacy))
	}
}

// A message cut short, altered, or of an unknown version is refused with errFixMessage, never
// read past its end nor made to allocate what it claims.
func TestFixCodecRefusesDamagedMessages(t *testing.T) {
	data, err := encodeFixes(nil, codecFixes())
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		if _, err := DecodeFixes(data[:n]); !errors.Is(err, errFixMessage) {
			t.Fatalf("cut to %d of %d bytes: err %v", n, len(data), err)
		}
	}
	if _, err := DecodeFixes(append(bytes.Clone(data), 0)); !errors.Is(err, errFixMessage) {
		t.Errorf("a byte after the fixes: err %v", err)
	}
	for i := range data {
		for _, bit := range []byte{1, 0x80} {
			damaged := bytes.Clone(data)
			damaged[i] ^= bit
			DecodeFixes(damaged) // must not panic; many flips still decode
		}
	}
	for _, msg := range [][]byte{{2, 1}, {0}, []byte("{}"), {fixCodecV1, 0xff, 0xff, 0xff, 0xff, 0x0f}, []byte("[{")} {
		if _, err := DecodeFixes(msg); !errors.Is(err, errFixMessage) {
			t.Errorf("%q: err %v", msg, err)
		}
	}
}

// BenchmarkFixCodec encodes and decodes a message of 16 fixes without attributes (what the
// attributes cost, JSON in both forms, comes on top).
func BenchmarkFixCodec(b *testing.B) {
	fixes := make([]tracker.Fix, 16)
	for i := range fixes {
		fixes[i] = codecFixes()[0]
		fixes[i].Attrs = nil
	}
	b.Run("binary", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = encodeFixes(buf[:0], fixes)
			DecodeFixes(buf)
		}
		b.ReportMetric(float64(len(buf))/float64(len(fixes)), "bytes/fix")
	})
	b.Run("json", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = json.Marshal(fixes)
			DecodeFixes(buf)
		}
		b.ReportMetric(float64(len(buf))/float64(len(fixes)), "bytes/fix")
	})
}
