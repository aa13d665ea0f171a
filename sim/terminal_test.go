package sim

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt600"
	"github.com/borderwatch/borderwatch/ingest/jt808"
)

const holdSpeedup = 600.0

// heldBound is how far the clock may run past a frame's time while the frame waits for its
// acknowledgement: maxOverdue, a beat counted before the hold was seen, and slack for the
// test's own goroutine between reading the clock and sending. Without the hold a second of
// real time is ten simulated minutes.
const heldBound = maxOverdue + time.Duration(maxBeat*holdSpeedup) + 8*time.Second

var holdStart = time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC)

// heard is a frame a test platform received, and the connection to answer it on.
type heard struct {
	conn net.Conn
	h    jt808.Header
}

// jt808Platform is a JT/T 808 platform on real TCP: it registers terminals (without an auth
// code) and hands every later frame to the test, which answers or not.
func jt808Platform(t *testing.T) (addr string, frames <-chan heard) {
	t.Helper()
	ln := listen(t)
	ch := make(chan heard, 16)
	go serveAll(ln, func(conn net.Conn) {
		sc := jt808.NewScanner(conn, 4096)
		for {
			raw, err := sc.Next()
			if err != nil {
				return
			}
			f, _, err := jt808.DecodeFrame(raw)
			if err != nil {
				continue
			}
			if f.Header.MsgID == jt808.MsgRegister {
				writeJT808(conn, f.Header, jt808.MsgRegisterResponse,
					jt808.AppendRegisterResponse(nil, jt808.RegisterResponse{ReplySerial: f.Header.Serial, Result: jt808.RegisterOK}))
				continue
			}
			ch <- heard{conn, f.Header}
		}
	})
	return ln.Addr().String(), ch
}

// ack answers the frame of serial with a platform general response.
func ack(conn net.Conn, h jt808.Header, serial uint16) {
	writeJT808(conn, h, jt808.MsgPlatformResponse,
		jt808.AppendGeneralResponse(nil, jt808.GeneralResponse{ReplySerial: serial, ReplyID: jt808.MsgLocation}))
}

func writeJT808(conn net.Conn, to jt808.Header, msgID uint16, body []byte) {
	h := to.Reply(msgID, 1)
	b, err := jt808.AppendFrame(nil, &h, body)
	if err != nil {
		panic(err)
	}
	_, _ = conn.Write(b)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// serveAll serves each connection of ln until ln closes, then closes them.
func serveAll(ln net.Listener, serve func(net.Conn)) {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		conns = append(conns, conn)
		go serve(conn)
	}
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("the platform received nothing")
		panic("unreachable")
	}
}

// checkHeld fails unless, a real second after sent, the clock is still within heldBound of it.
func checkHeld(t *testing.T, c *Clock, sent time.Time, what string) {
	t.Helper()
	time.Sleep(time.Second)
	if ahead := c.Now().Sub(sent); ahead > heldBound {
		t.Errorf("%s: the simulated clock ran %v past the frame, want at most %v", what, ahead, heldBound)
	}
}

// checkRunsOn fails unless the clock passes sent by two simulated minutes within real seconds.
func checkRunsOn(t *testing.T, c *Clock, sent time.Time, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); c.Now().Sub(sent) < 2*time.Minute; {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the simulated clock stays at %v, %v past the frame", what, c.Now(), c.Now().Sub(sent))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pos(at time.Time) []report {
	return []report{{Time: at, Lat: 43.65, Lon: 111.98, SpeedKmh: 40}}
}

// jt808Run is a JT/T 808 terminal of a test platform, on a clock at holdSpeedup.
type jt808Run struct {
	c      *Clock
	tm     *jt808Terminal
	frames <-chan heard
}

// startJT808 dials a terminal whose frames wait as set by acks (of the clock) to a platform.
func startJT808(t *testing.T, v2019 bool, acks func(*Clock) *unacked) *jt808Run {
	t.Helper()
	addr, frames := jt808Platform(t)
	c := NewClock(holdStart, holdSpeedup)
	tm, err := dialJT808(context.Background(), addr, "13900000001", v2019, "蒙A12345", acks(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Close() })
	return &jt808Run{c, tm, frames}
}

func defaultAcks(c *Clock) *unacked { return newUnacked(c, slog.Default(), "13900000001") }

// send sends a location at the clock's present and returns that time and the frame as the
// platform heard it.
func (r *jt808Run) send(t *testing.T) (time.Time, heard) {
	t.Helper()
	sent := r.c.Now()
	if err := r.tm.Send(context.Background(), pos(sent), false); err != nil {
		t.Fatal(err)
	}
	f := receive(t, r.frames)
	if f.h.MsgID != jt808.MsgLocation {
		t.Fatalf("message 0x%04X, want a location", f.h.MsgID)
	}
	return sent, f
}

// A JT/T 808 terminal's location holds the simulated clock until the platform's 0x8001
// answers its serial: a platform the machine does not run for a second (ten simulated
// minutes at 600×) does not see the device silent for those minutes. The 0x8001 of the second
// frame releases the first with it; one answering no frame written releases nothing; the
// last frame's releases the clock.
func TestJT808FrameHoldsTheClockUntilAcknowledged(t *testing.T) {
	r := startJT808(t, false, defaultAcks)
	sent, _ := r.send(t)
	checkHeld(t, r.c, sent, "first location unanswered")

	r.send(t)
	third, last := r.send(t)
	ack(last.conn, last.h, last.h.Serial+100)
	ack(last.conn, last.h, last.h.Serial-1)
	waitWaiting(t, r.tm.acks, int(last.h.Serial))
	checkHeld(t, r.c, third, "the first two answered, the third not")

	ack(last.conn, last.h, last.h.Serial)
	waitWaiting(t, r.tm.acks)
	checkRunsOn(t, r.c, third, "all answered")
}

// waitWaiting fails unless the frames waiting for their answer come to be those of keys.
func waitWaiting(t *testing.T, u *unacked, keys ...int) {
	t.Helper()
	var got []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		u.mu.Lock()
		got = got[:0]
		for _, p := range u.q {
			got = append(got, p.key)
		}
		u.mu.Unlock()
		if slices.Equal(got, keys) {
			return
		}
	}
	t.Fatalf("frames %v wait for their answer, want %v", got, keys)
}

// A platform that never answers slows the simulation and does not stop it: a hold ends after
// its cap, with a warning.
func TestJT808UnansweredFrameHoldsTheClockAtMostItsCap(t *testing.T) {
	var log syncBuffer
	r := startJT808(t, true, func(c *Clock) *unacked {
		u := newUnacked(c, slog.New(slog.NewTextHandler(&log, nil)), "13900000001")
		u.maxHold = 2 * time.Second
		return u
	})
	sent, _ := r.send(t)
	checkHeld(t, r.c, sent, "within the cap")
	checkRunsOn(t, r.c, sent, "past the cap")
	if !strings.Contains(log.String(), "no acknowledgement") {
		t.Errorf("no warning logged: %q", log.String())
	}
}

// A connection the platform closes while a frame waits for its answer releases the clock at
// once, not after the cap: no answer will come on it.
func TestJT808ClosedConnectionReleasesTheClock(t *testing.T) {
	r := startJT808(t, false, defaultAcks)
	sent, f := r.send(t)
	checkHeld(t, r.c, sent, "before the close")
	f.conn.Close()
	checkRunsOn(t, r.c, sent, "connection closed")
}

// A JT701 e-seal asks the platform to confirm each report; the confirmation the jt600 codec
// says a platform sends, (P69,0,index), releases the clock the report holds.
func TestJT701ReportHoldsTheClockUntilConfirmed(t *testing.T) {
	ctx := context.Background()
	ln := listen(t)
	type confirm struct {
		conn  net.Conn
		reply string
	}
	reports := make(chan confirm, 4)
	go serveAll(ln, func(conn net.Conn) {
		r := jt600.NewReader(conn, 0)
		for {
			frame, err := r.Next()
			if err != nil {
				return
			}
			rep, err := jt600.Decode(frame)
			if err != nil {
				continue
			}
			reports <- confirm{conn, rep.Reply}
		}
	})
	c := NewClock(holdStart, holdSpeedup)
	tm, err := dialJT701(ctx, ln.Addr().String(), "7000000001", newUnacked(c, slog.Default(), "7000000001"))
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	sent := c.Now()
	if err := tm.Send(ctx, pos(sent), false); err != nil {
		t.Fatal(err)
	}
	rep := receive(t, reports)
	if rep.reply == "" {
		t.Fatal("the report asks for no confirmation")
	}
	checkHeld(t, c, sent, "report unconfirmed")
	if _, err := rep.conn.Write([]byte(rep.reply)); err != nil {
		t.Fatal(err)
	}
	checkRunsOn(t, c, sent, "report confirmed")
}

// A phone's OsmAnd request holds the clock until the server has answered it.
func TestOsmAndRequestHoldsTheClockUntilAnswered(t *testing.T) {
	ctx := context.Background()
	got, answer := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		<-answer
	}))
	defer srv.Close()
	c := NewClock(holdStart, holdSpeedup)
	tm := &osmandTerminal{url: srv.URL + "/", id: "phone-1", hc: srv.Client(), acks: newUnacked(c, slog.Default(), "phone-1")}
	sent := c.Now()
	done := make(chan error, 1)
	go func() { done <- tm.Send(ctx, pos(sent), false) }()
	receive(t, got)
	checkHeld(t, c, sent, "request unanswered")
	close(answer)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkRunsOn(t, c, sent, "request answered")
}

// syncBuffer is a log written by timers' goroutines and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
