package jt808

import (
	"reflect"
	"testing"
)

// Vendor items of real frames decoded to the values Traccar's test asserts for the same frame
// (named by the Traccar commit that added it), and items kept raw where no layout fits.
func TestItemAttrs(t *testing.T) {
	tests := []struct {
		name   string
		commit string
		i      int
		want   map[string]any // a subset of the attributes
	}{
		{"temperature probe 0x51, supply 0x82", "75644c50f", 0, map[string]any{"temp_1_c": 29.1, "power_v": 14.6}},
		{"negative temperature, battery 0x56, power 0x61", "f1a336786", 0, map[string]any{"temp_1_c": -2.3, "battery_percent": 100, "power_v": 12.0,
			"item_0x5d": "0102d40379b8011423033c"}},
		{"battery 0x56", "4a64ef748", 0, map[string]any{"battery_percent": 90, "item_0x53": "01027f0300456f073e"}},
		{"HHD LoRa padlocks 0x63", "8638bc8ab", 1, map[string]any{"lock_1_id": "cd91fe1314da", "lock_1_battery_v": 4.224,
			"lock_1_sealed": true, "lock_2_id": "c3a19a6f6f3a", "lock_2_battery_v": 4.038, "lock_2_sealed": true}},
		{"Magnet 4G battery 0xe3", "44752e410", 0, map[string]any{"battery_percent": 100, "battery_v": 4.1}},
		{"JTK 905 battery in 0xeb", "daa5321f9", 0, map[string]any{"battery_v": 4.005, "battery_percent": 92,
			"iccid": "89882280666134274509", "item_0xeb_0x00c5": "ffffffef"}},
		{"JTK 905 removal alarm in 0xeb", "daa5321f9", 1, map[string]any{"removal_alarm": true}},
		{"IMEI in 0xf6", "13c49d928", 0, map[string]any{"imei": "867567041100769"}},
		{"battery 0xe1", "5da3b8fcb", 0, map[string]any{"battery_percent": 45, "item_0xea": "0001"}},
		{"battery and motion 0xe4 0xe5, cells 0xe1 raw", "3bb27fca6", 0, map[string]any{"battery_percent": 86, "charging": true,
			"motion": true, "item_0xe1": "020800040013b202e4648300"}},
		{"Cantrack battery 0x06", "38580c859", 0, map[string]any{"battery_percent": 62}},
		{"time zone text in 0xeb", "3a0d889e4", 0, map[string]any{"timezone": "UTC+08:00", "vehicle_signals": int64(0)}},
		{"Naturelink OBD-RT in 0xe6, JT/T 1078 video alarms", "b80a3222d", 0, map[string]any{"rpm": 55.0, "video_alarms": int64(1),
			"video_signal_lost_channels": int64(4), "item_0xe2": "00001211"}},
		{"ADAS alarm 0x64 (JC371)", "cfd856e12", 0, map[string]any{"adas_alarm": 4, "adas_alarm_level": 1, "adas_alarm_status": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decodeWire(t, realWire(t, tt.commit, tt.i))
			if err != nil && tt.commit != "cfd856e12" { // published with a bad checksum; the body is still whole
				t.Fatal(err)
			}
			body := f.Body
			if err != nil {
				b := unhex(t, realWire(t, tt.commit, tt.i))
				b, _ = Unescape(b[1 : len(b)-1])
				body = b[12 : len(b)-1]
			}
			if f.Header.MsgID == MsgBatch {
				bt, err := DecodeBatch(body)
				if err != nil {
					t.Fatal(err)
				}
				body = bt.Items[0]
			}
			var l Location
			if err := DecodeLocation(body, &l); err != nil {
				t.Fatal(err)
			}
			got := l.Attrs()
			for k, w := range tt.want {
				if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
					t.Errorf("%s = %#v, want %#v (all: %v)", k, g, w, got)
				}
			}
		})
	}
}

// Items of a length no documentation gives, or cut short, are kept raw and never cost the
// position.
func TestItemAttrsOddLengths(t *testing.T) {
	items := AppendItem(nil, 0x01, []byte{1, 2})                      // mileage of 2 bytes
	items = AppendItem(items, 0x51, []byte{0x80})                     // odd temperature
	items = AppendItem(items, 0x64, make([]byte, 10))                 // ADAS cut short
	items = AppendItem(items, 0xeb, []byte{0, 9, 0, 0x89, 1})         // sub-item longer than the item
	items = AppendItem(items, 0xe1, make([]byte, 3))                  // neither battery nor cells
	items = AppendItem(items, 0xcc, []byte("8986\x0104770120702715")) // not printable
	items = append(items, 0x30, 5, 1)                                 // cut short
	l := Location{Time: utc("2024-01-02T03:04:05Z"), Lat: 1, Lon: 2, Items: items}
	var back Location
	if err := DecodeLocation(AppendLocation(nil, &l), &back); err != nil || back.Lat != 1 || back.Lon != 2 {
		t.Fatalf("location lost: %+v %v", back, err)
	}
	want := map[string]any{"item_0x01": "0102", "item_0x51": "80", "item_0x64": "00000000000000000000",
		"item_0xeb": "0009008901", "item_0xe1": "000000", "item_0xcc": "38393836013034373730313230373032373135",
		"items_trailing": "300501"}
	if got := back.Attrs(); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}
