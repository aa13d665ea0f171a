package jt808

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Real 0x0702 frames: Traccar's Jt808ProtocolDecoderTest ("Decode JT808 driver identity") and
// device captures in SmallChi/JT808's JT808_0x0702Test (Test4_1, Test5_1).
func TestDecodeDriverIdentityFrames(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		phone string
		want  DriverIdentity
	}{
		{
			name:  "traccar 2013 card inserted, certificate only",
			frame: "7e0702002201827061151401bc012510091507510000303032396238383500000000000000000000000000000000002b7e",
			phone: "18270611514",
			want: DriverIdentity{Version: V2013, Inserted: true, Time: utc("2025-10-09T07:07:51Z"),
				Certificate: "0029b885"},
		},
		{
			name:  "smallchi capture, 2013 header with the 2019 body, GBK name",
			frame: "7e070200620182712086250202012604091727390014c4e3bac3000000000000000000000000000000003431363735363139393030363035343334390000180000000000000000000000000000000000000000000000002034040934313637353631393930303630353433343900007d027e",
			phone: "18271208625",
			want: DriverIdentity{Version: V2019, Inserted: true, Time: utc("2026-04-09T09:27:39Z"), Name: "你好",
				Certificate: "416756199006054349", ValidTo: date("2034-04-09"), IDNumber: "416756199006054349"},
		},
		{
			name:  "smallchi capture, 2019 header and body",
			frame: "7e0702404d0100000000041587677411001101260617171000000ab2e2cad4d4b1bcd720204138383838382a2a2a2a2a2a2a2a2a2a2a2a00000d32303236303430323134303838201510203436303330303838383838383838383838383838b27e",
			phone: "41587677411",
			want: DriverIdentity{Version: V2019, Inserted: true, Time: utc("2026-06-17T09:10:00Z"), Name: "测试员甲",
				Certificate: "A88888************", Authority: "2026040214088", ValidTo: date("2015-10-20"),
				IDNumber: "46030088888888888888"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decodeWire(t, tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if f.Header.MsgID != MsgDriverIdentity || f.Header.Phone.String() != tt.phone {
				t.Fatalf("header %+v", f.Header)
			}
			d, err := DecodeDriverIdentity(f.Body, f.Header.V2019)
			if err != nil {
				t.Fatal(err)
			}
			if d != tt.want {
				t.Errorf("got  %+v\nwant %+v", d, tt.want)
			}
		})
	}
}

// Bodies of each layout as SmallChi/JT808's JT808_0x0702Test writes them (its serializer's
// vectors, not device captures), decoded and encoded back.
func TestDriverIdentityLayouts(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		v2019 bool
		want  DriverIdentity
	}{
		{"2013 removed", "02180816091616", false,
			DriverIdentity{Version: V2013, Time: utc("2018-08-16T01:16:16Z")}},
		{"2013 inserted, key authentication failed", "0118081609161601", false,
			DriverIdentity{Version: V2013, Inserted: true, Time: utc("2018-08-16T01:16:16Z"), ReadResult: CardKeyAuthFailed}},
		{"2013 read", "0118081609161600056B6F696B6571776531323334353661616100000000000000000671776572747820180816", false,
			DriverIdentity{Version: V2013, Inserted: true, Time: utc("2018-08-16T01:16:16Z"), Name: "koike",
				Certificate: "qwe123456aaa", Authority: "qwertx", ValidTo: date("2018-08-16")}},
		{"2019 read", "0119120111111100056B6F696B65717765313233343536616161000000000000000006717765727478201912013132333435363738393031323334353637000000", true,
			DriverIdentity{Version: V2019, Inserted: true, Time: utc("2019-12-01T03:11:11Z"), Name: "koike",
				Certificate: "qwe123456aaa", Authority: "qwertx", ValidTo: date("2019-12-01"), IDNumber: "12345678901234567"}},
		{"2011", "03746B3100003132333435363738393132333435363738390000000000000000000000000000000000000000000000000000000071776531323334353661616106717765727478", false,
			DriverIdentity{Version: V2011, Inserted: true, Name: "tk1", IDNumber: "123456789123456789",
				Certificate: "qwe123456aaa", Authority: "qwertx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DecodeDriverIdentity(unhex(t, tt.body), tt.v2019)
			if err != nil {
				t.Fatal(err)
			}
			if d != tt.want {
				t.Fatalf("got  %+v\nwant %+v", d, tt.want)
			}
			enc, err := AppendDriverIdentity(nil, &d)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := DecodeDriverIdentity(enc, tt.v2019); err != nil || back != d {
				t.Errorf("round trip: %+v %v", back, err)
			}
		})
	}
}

func TestDecodeDriverIdentityErrors(t *testing.T) {
	for name, body := range map[string]string{
		"empty":                  "",
		"status only":            "01",
		"time not BCD":           "0118061b0f362e00",
		"name longer than body":  "01180816091616000a6b6f",
		"bytes left after 2013":  "0218081609161600",
		"2011 authority cut":     "03746B3100003132333435363738393132333435363738390000000000000000000000000000000000000000000000000000000071776531323334353661616106717765",
		"certificate cut (2013)": "0118081609161600056B6F696B657177653132",
	} {
		if _, err := DecodeDriverIdentity(unhex(t, body), false); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// Traccar's G08LS frame (a command reply its firmware sends as 0x0701) and SmallChi's
// JT808_0x0701Test body.
func TestDecodeWaybill(t *testing.T) {
	f, err := decodeWire(t, "7e070100150120764632790008000000114d442c53455420434f4e464947204f4b21187e")
	if err != nil {
		t.Fatal(err)
	}
	w, err := DecodeWaybill(f.Body)
	if err != nil || string(w.Content) != "MD,SET CONFIG OK!" {
		t.Fatalf("%q %v", w.Content, err)
	}
	body := unhex(t, "000000100000014D000ABABA736D616C6C636869")
	if w, err = DecodeWaybill(body); err != nil || !bytes.Equal(AppendWaybill(nil, w.Content), body) {
		t.Fatalf("%x %v", w.Content, err)
	}
	if s, ok := isText(w.Content); ok {
		t.Errorf("binary waybill read as text %q", s)
	}
	for _, bad := range []string{"", "000000", "00000005414243", "ffffffff41"} {
		if _, err := DecodeWaybill(unhex(t, bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", bad, err)
		}
	}
}
