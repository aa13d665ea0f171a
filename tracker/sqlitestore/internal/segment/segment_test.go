package segment

import (
	"bytes"
	"testing"
)

// segmentOf frames payloads as a segment with marker.
func segmentOf(marker [4]byte, payloads ...string) []byte {
	data := Header(marker)
	for i, p := range payloads {
		rec := append(make([]byte, RecordHeaderLen), p...)
		PutRecordHeader(rec, marker, uint32(i))
		data = append(data, rec...)
	}
	return data
}

// readAll returns the payloads Read hands out.
func readAll(data []byte) ([]string, Scan) {
	var got []string
	scan := Read(data, func(_ int, payload []byte) bool {
		got = append(got, string(payload))
		return true
	})
	return got, scan
}

func TestRead(t *testing.T) {
	marker := [4]byte{0xde, 0xad, 0x42, 0x17}
	seg := segmentOf(marker, "one", "two", "three", "four")
	second := HeaderLen + RecordHeaderLen + 3
	third := second + RecordHeaderLen + 3
	cases := []struct {
		name    string
		data    []byte
		want    string
		damaged []Region
		torn    int
	}{
		{"intact", seg, "one two three four", nil, 0},
		{"empty", nil, "", nil, 0},
		{"header only", seg[:HeaderLen], "", nil, 0},
		{"payload flipped", flip(seg, second+RecordHeaderLen+1), "one three four", []Region{{second, third - second, 1}}, 0},
		{"ordinal flipped", flip(seg, second+8), "one three four", []Region{{second, third - second, 1}}, 0},
		{"garbage between", splice(seg, third, "garbage!"), "one two three four", []Region{{third, 8, 0}}, 0},
		{"last torn", seg[:len(seg)-2], "one two three", nil, RecordHeaderLen + 2},
		{"last damaged, whole", flip(seg, len(seg)-1), "one two three", []Region{{len(seg) - RecordHeaderLen - 4, RecordHeaderLen + 4, 1}}, 0},
		{"zeros after", append(bytes.Clone(seg), make([]byte, 40)...), "one two three four", nil, 40},
		{"header damaged", flip(seg, 2), "one two three four", []Region{{0, HeaderLen, 0}}, 0},
		{"header and first marker damaged", flip(flip(seg, 2), HeaderLen), "", []Region{{0, len(seg), 1}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, scan := readAll(tc.data)
			if s := join(got); s != tc.want {
				t.Errorf("records %q, want %q", s, tc.want)
			}
			if len(scan.Damaged) != len(tc.damaged) || scan.Torn != tc.torn {
				t.Fatalf("scan %+v, want damaged %+v, torn %d", scan, tc.damaged, tc.torn)
			}
			for i := range tc.damaged {
				if scan.Damaged[i] != tc.damaged[i] {
					t.Errorf("damaged %+v, want %+v", scan.Damaged[i], tc.damaged[i])
				}
			}
		})
	}
}

// TestReadV1: a segment written before headers: records up to the first bad one.
func TestReadV1(t *testing.T) {
	var v1 []byte
	for _, p := range []string{"one", "two", "three"} {
		v1 = appendV1(v1, p)
	}
	if got, scan := readAll(v1); join(got) != "one two three" || scan.Torn != 0 || scan.Damaged != nil {
		t.Errorf("v1: %q, %+v", got, scan)
	}
	bad := flip(v1, recordHeaderLenV1+3+recordHeaderLenV1+1)
	if got, scan := readAll(bad); join(got) != "one" || scan.Torn != len(v1)-recordHeaderLenV1-3 {
		t.Errorf("v1 with a bad second record: %q, %+v", got, scan)
	}
}

func appendV1(dst []byte, payload string) []byte {
	rec := append(make([]byte, RecordHeaderLen), payload...)
	PutRecordHeader(rec, [4]byte{}, 0)
	dst = append(dst, rec[4:8]...)   // length
	dst = append(dst, rec[16:20]...) // payload CRC
	return append(dst, payload...)
}

func flip(b []byte, at int) []byte {
	b = bytes.Clone(b)
	b[at] ^= 0x20
	return b
}

func splice(b []byte, at int, s string) []byte {
	return append(append(bytes.Clone(b[:at]), s...), b[at:]...)
}

func join(ss []string) string {
	var b bytes.Buffer
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// FuzzRead: whatever a segment holds, Read neither panics nor hands out a payload that is not
// inside the segment, and no byte is both read and skipped.
func FuzzRead(f *testing.F) {
	marker := [4]byte{1, 2, 3, 4}
	seg := segmentOf(marker, "alpha", "beta", "gamma")
	f.Add(seg)
	f.Add(seg[:len(seg)-5])
	f.Add(append(bytes.Clone(seg[:40]), seg[60:]...))
	f.Add(appendV1(appendV1(nil, "one"), "two"))
	f.Add([]byte("BWFL"))
	f.Fuzz(func(t *testing.T, data []byte) {
		read, last := 0, -1
		scan := Read(data, func(off int, payload []byte) bool {
			if off <= last || off < 0 || off+len(payload) > len(data) {
				t.Fatalf("payload at %d (after %d) outside the segment of %d bytes", off, last, len(data))
			}
			last = off
			read += len(payload)
			return true
		})
		skipped := scan.Torn
		for _, d := range scan.Damaged {
			if d.Offset < 0 || d.Bytes < 0 || d.Offset+d.Bytes > len(data) || d.Records < 0 {
				t.Fatalf("damaged region %+v in %d bytes", d, len(data))
			}
			skipped += d.Bytes
		}
		if read+skipped > len(data) {
			t.Fatalf("%d bytes read and %d skipped of %d", read, skipped, len(data))
		}
	})
}
