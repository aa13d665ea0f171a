package jt808

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"
)

const (
	heartbeat = "7e0002000004304832546500b7ca7e" // traccar
	auth      = "7E0102000E013511221122000661757468656E7469636174696F6E3F7E"
)

// scanAll returns the frames (still escaped) and the count of oversized ones.
func scanAll(t *testing.T, r io.Reader, max int) (frames []string, tooLarge int) {
	t.Helper()
	sc := NewScanner(r, max)
	for {
		fr, err := sc.Next()
		switch {
		case errors.Is(err, ErrFrameTooLarge):
			tooLarge++
			continue
		case err == io.EOF:
			return frames, tooLarge
		case err != nil:
			t.Fatal(err)
		}
		frames = append(frames, string(fr))
	}
}

func TestScanner(t *testing.T) {
	hb := unhex(t, heartbeat)
	au := unhex(t, auth)
	inner := func(b []byte) string { return string(b[1 : len(b)-1]) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name     string
		stream   []byte
		max      int
		want     []string
		tooLarge int
	}{
		{"one", hb, 4096, []string{inner(hb)}, 0},
		{"coalesced", cat(hb, au, hb), 4096, []string{inner(hb), inner(au), inner(hb)}, 0},
		{"garbage before, between, after", cat([]byte("GET /"), hb, []byte{0, 1, 2}, au, []byte("xx")), 4096,
			[]string{inner(hb), inner(au)}, 0},
		{"stray delimiters", cat([]byte{0x7e}, hb, []byte{0x7e, 0x7e}, au), 4096, []string{inner(hb), inner(au)}, 0},
		{"incomplete tail", cat(hb, au[:10]), 4096, []string{inner(hb)}, 0},
		{"too large dropped, next kept", cat(au, hb), 20, []string{inner(hb)}, 1},
		{"too large without end", cat(hb, au[:len(au)-1]), 20, []string{inner(hb)}, 1},
		{"oversized spanning growth", cat(hb, []byte{0x7e}, bytes.Repeat([]byte{1}, 3000), []byte{0x7e}, au), 1024,
			[]string{inner(hb), inner(au)}, 1},
		{"exactly the limit kept", cat([]byte{0x7e}, bytes.Repeat([]byte{2}, 600), []byte{0x7e}, hb), 600,
			[]string{string(bytes.Repeat([]byte{2}, 600)), inner(hb)}, 0},
		{"one over the limit dropped", cat([]byte{0x7e}, bytes.Repeat([]byte{2}, 601), []byte{0x7e}, hb), 600,
			[]string{inner(hb)}, 1},
		{"large frame kept", cat([]byte{0x7e}, bytes.Repeat([]byte{1}, 3000), []byte{0x7e}, hb), 4096,
			[]string{string(bytes.Repeat([]byte{1}, 3000)), inner(hb)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, then one byte per read: frames split over reads give the same result.
			for _, r := range []io.Reader{bytes.NewReader(tt.stream), iotest.OneByteReader(bytes.NewReader(tt.stream)),
				iotest.HalfReader(bytes.NewReader(tt.stream))} {
				got, tooLarge := scanAll(t, r, tt.max)
				if len(got) != len(tt.want) || tooLarge != tt.tooLarge {
					t.Fatalf("%d frames (%d too large), want %d (%d)", len(got), tooLarge, len(tt.want), tt.tooLarge)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("frame %d: %x, want %x", i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

func TestScannerReadError(t *testing.T) {
	boom := errors.New("boom")
	sc := NewScanner(io.MultiReader(bytes.NewReader(unhex(t, heartbeat)), iotest.ErrReader(boom)), 4096)
	if _, err := sc.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Next(); !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
}

func TestReassembler(t *testing.T) {
	ph := mustPhone("13912344329", true)
	part := func(id, total, index uint16, body string) Frame {
		return Frame{Header: Header{MsgID: id, V2019: true, Phone: ph, Serial: 100 + index, Fragmented: true,
			Total: total, Index: index, BodyLen: len(body)}, Body: []byte(body)}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var r Reassembler
	for i, p := range []Frame{part(MsgBatch, 3, 1, "aa"), part(MsgBatch, 3, 3, "cc")} {
		if _, done, err := r.Add(p, now); done || err != nil {
			t.Fatalf("part %d: done %v err %v", i, done, err)
		}
	}
	whole, done, err := r.Add(part(MsgBatch, 3, 2, "bb"), now)
	if !done || err != nil {
		t.Fatalf("done %v err %v", done, err)
	}
	if string(whole.Body) != "aabbcc" || whole.Header.Fragmented || whole.Header.Serial != 102 || whole.Header.BodyLen != 6 {
		t.Errorf("whole %+v %q", whole.Header, whole.Body)
	}

	// Another message interrupts: the first is dropped, the second starts.
	r.Add(part(MsgBatch, 2, 1, "xx"), now)
	if _, _, err := r.Add(part(MsgLocation, 2, 1, "yy"), now); !errors.Is(err, ErrFragmentDropped) {
		t.Errorf("interrupting message: err %v", err)
	}
	if w, done, _ := r.Add(part(MsgLocation, 2, 2, "zz"), now); !done || string(w.Body) != "yyzz" {
		t.Errorf("second message: done %v %q", done, w.Body)
	}

	// Time-out.
	r.Add(part(MsgBatch, 2, 1, "xx"), now)
	if _, done, err := r.Add(part(MsgBatch, 2, 2, "yy"), now.Add(2*time.Minute)); done || !errors.Is(err, ErrFragmentDropped) {
		t.Errorf("after time-out: done %v err %v", done, err)
	}

	// Memory bound.
	small := Reassembler{MaxBytes: 3}
	small.Add(part(MsgBatch, 2, 1, "xx"), now)
	if _, done, err := small.Add(part(MsgBatch, 2, 2, "yy"), now); done || !errors.Is(err, ErrFragmentDropped) {
		t.Errorf("over MaxBytes: done %v err %v", done, err)
	}

	for _, bad := range []Frame{part(MsgBatch, 0, 0, ""), part(MsgBatch, 2, 3, ""), part(MsgBatch, 1000, 1, "")} {
		if _, _, err := r.Add(bad, now); err == nil {
			t.Errorf("%d of %d accepted", bad.Header.Index, bad.Header.Total)
		}
	}
}
