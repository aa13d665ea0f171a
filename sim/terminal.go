package sim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/ingest/gt06"
	"github.com/borderwatch/borderwatch/ingest/jt600"
	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/ingest/osmand"
	"github.com/borderwatch/borderwatch/tracker"
)

// dial connects v's terminal. Its frames hold the world's clock until the server acknowledges
// them.
func dial(ctx context.Context, cfg Config, v *vehicle) (reporter, error) {
	acks := newUnacked(v.w.clock, cfg.Logger, v.deviceID)
	switch v.fleet.Terminal {
	case TerminalGT06:
		return dialGT06(ctx, cfg.GT06Addr, v.deviceID, acks)
	case TerminalJT701:
		return dialJT701(ctx, cfg.JT600Addr, v.deviceID, acks)
	case TerminalOsmAnd:
		// Each phone has its own connection, as in the field: the server limits requests per
		// connection, and a shared client would put many phones' requests on one.
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}}
		return &osmandTerminal{url: cfg.OsmAndURL, id: v.deviceID, hc: hc, acks: acks}, nil
	default:
		return dialJT808(ctx, cfg.JT808Addr, v.deviceID, v.fleet.Terminal == TerminalJT808v2019, v.plate, acks)
	}
}

// holdCap is the most real time a frame holds the simulated clock waiting for its
// acknowledgement: a server that never answers slows the simulation, never stops it.
const holdCap = 30 * time.Second

// unacked is what a terminal has written and the server not yet acknowledged, oldest first,
// each holding the simulated clock (Clock.Hold) until acknowledged, its connection closed or
// holdCap passed.
type unacked struct {
	clock   clock
	log     *slog.Logger
	who     string        // the device, for the log
	maxHold time.Duration // holdCap; shorter in tests

	mu sync.Mutex
	q  []*pending
}

func newUnacked(c clock, log *slog.Logger, who string) *unacked {
	return &unacked{clock: c, log: log, who: who, maxHold: holdCap}
}

// pending is a frame awaiting its acknowledgement, told by key (a serial number).
type pending struct {
	key     int
	release func()
	cap     *time.Timer
}

// hold holds the clock for the frame key about to be written.
func (u *unacked) hold(key int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := &pending{key: key, release: u.clock.Hold()}
	p.cap = time.AfterFunc(u.maxHold, func() {
		if u.drop(p) {
			u.log.Warn("sim: no acknowledgement from the server; the simulated clock runs on", "device", u.who, "after", u.maxHold)
		}
	})
	u.q = append(u.q, p)
}

// ack releases the oldest frame key waits for and every frame written before it: the server
// answers in order, so what it passed over it will not answer. An answer to no waiting frame
// (to a login) releases nothing.
func (u *unacked) ack(key int) {
	u.mu.Lock()
	i := slices.IndexFunc(u.q, func(p *pending) bool { return p.key == key })
	if i < 0 {
		u.mu.Unlock()
		return
	}
	done := slices.Clone(u.q[:i+1])
	u.q = slices.Delete(u.q, 0, i+1)
	u.mu.Unlock()
	release(done)
}

// releaseAll releases every frame: the connection is gone, no acknowledgement will come.
func (u *unacked) releaseAll() {
	u.mu.Lock()
	done := u.q
	u.q = nil
	u.mu.Unlock()
	release(done)
}

func release(ps []*pending) {
	for _, p := range ps {
		p.cap.Stop()
		p.release()
	}
}

// drop releases p if it still waits, and reports whether it did.
func (u *unacked) drop(p *pending) bool {
	u.mu.Lock()
	i := slices.Index(u.q, p)
	if i >= 0 {
		u.q = slices.Delete(u.q, i, i+1)
	}
	u.mu.Unlock()
	if i >= 0 {
		p.release()
	}
	return i >= 0
}

// jt808Terminal is one JT/T 808 terminal on its own TCP connection. A goroutine reads the
// platform's general responses (0x8001) and releases the frames they answer.
type jt808Terminal struct {
	conn   net.Conn
	hdr    jt808.Header
	v      jt808.Version
	acks   *unacked
	mu     sync.Mutex
	buf    []byte
	body   []byte
	serial uint16
}

func dialJT808(ctx context.Context, addr, phone string, v2019 bool, plate string, acks *unacked) (*jt808Terminal, error) {
	ph, err := jt808.ParsePhone(phone, v2019)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &jt808Terminal{conn: conn, hdr: jt808.Header{V2019: v2019, Phone: ph}, v: jt808.V2013, acks: acks}
	if v2019 {
		t.hdr.ProtoVersion = 1
		t.v = jt808.V2019
	}
	// Register, then authenticate with the code the platform hands out. The platform hands it
	// out once: a terminal registered by an earlier run of the simulator (which forgets the
	// code, where a real terminal keeps it) goes on without, as the devices the simulator
	// registers have no code.
	reg, err := jt808.AppendRegister(nil, &jt808.Register{Version: t.v, Province: 15, City: 100, Maker: "BWSIM",
		Model: "SIM808", TerminalID: "S" + phone[max(0, len(phone)-6):], PlateColor: 2, Plate: plate})
	if err != nil {
		conn.Close()
		return nil, err
	}
	sc := jt808.NewScanner(conn, 4096)
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := t.write(jt808.MsgRegister, reg); err != nil {
		conn.Close()
		return nil, err
	}
	code := ""
	for {
		raw, err := sc.Next()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("register: %w", err)
		}
		f, _, err := jt808.DecodeFrame(raw)
		if err != nil {
			continue
		}
		if f.Header.MsgID == jt808.MsgRegisterResponse {
			r, err := jt808.DecodeRegisterResponse(f.Body)
			if err == nil && r.Result == jt808.RegisterTerminalTaken {
				break
			}
			if err != nil || r.Result != jt808.RegisterOK {
				conn.Close()
				return nil, fmt.Errorf("register refused (result %d)", r.Result)
			}
			code = r.AuthCode
			break
		}
	}
	if code != "" {
		auth, err := jt808.AppendAuth(nil, &jt808.Auth{Code: code, IMEI: "86" + phone, SoftwareVersion: "1.0"}, t.v)
		if err != nil {
			conn.Close()
			return nil, err
		}
		if err := t.write(jt808.MsgAuth, auth); err != nil {
			conn.Close()
			return nil, err
		}
	}
	_ = conn.SetDeadline(time.Time{})
	go t.readAcks(sc)
	return t, nil
}

// readAcks releases the frames the platform answers, until the connection ends.
func (t *jt808Terminal) readAcks(sc *jt808.Scanner) {
	defer t.acks.releaseAll()
	for {
		raw, err := sc.Next()
		if err != nil {
			return
		}
		f, _, err := jt808.DecodeFrame(raw)
		if err != nil || f.Header.MsgID != jt808.MsgPlatformResponse {
			continue
		}
		if r, err := jt808.DecodeGeneralResponse(f.Body); err == nil {
			t.acks.ack(int(r.ReplySerial))
		}
	}
}

// send writes a frame the platform answers with a general response, holding the clock until
// it does.
func (t *jt808Terminal) send(msgID uint16, body []byte) error {
	t.acks.hold(int(t.serial + 1))
	err := t.write(msgID, body)
	if err != nil {
		t.acks.releaseAll()
	}
	return err
}

func (t *jt808Terminal) write(msgID uint16, body []byte) error {
	t.serial++
	h := t.hdr
	h.MsgID, h.Serial = msgID, t.serial
	var err error
	t.buf, err = jt808.AppendFrame(t.buf[:0], &h, body)
	if err != nil {
		return err
	}
	_, err = t.conn.Write(t.buf)
	return err
}

func (t *jt808Terminal) Send(ctx context.Context, rs []report, blind bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	loc := func(dst []byte, r report) []byte {
		return jt808.AppendLocation(dst, &jt808.Location{Status: jt808.StatusACC | jt808.StatusPositioned | jt808.StatusGPS | jt808.StatusBeiDou,
			Lat: r.Lat, Lon: r.Lon, AltitudeM: 1100, SpeedKmh: r.SpeedKmh, Heading: r.Heading, Time: r.Time})
	}
	if !blind && len(rs) == 1 {
		t.body = loc(t.body[:0], rs[0])
		return t.send(jt808.MsgLocation, t.body)
	}
	items := make([][]byte, len(rs))
	for i, r := range rs {
		items[i] = loc(nil, r)
	}
	typ := byte(jt808.BatchNormal)
	if blind {
		typ = jt808.BatchBlindArea
	}
	return t.send(jt808.MsgBatch, jt808.AppendBatch(t.body[:0], typ, items...))
}

// cardReader is a terminal with a driver's IC card reader.
type cardReader interface {
	InsertCard(ctx context.Context, at time.Time, certificate, name string) error
}

// InsertCard reports a driver's card read at at (0x0702).
func (t *jt808Terminal) InsertCard(ctx context.Context, at time.Time, certificate, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	body, err := jt808.AppendDriverIdentity(t.body[:0], &jt808.DriverIdentity{Version: t.v, Inserted: true, Time: at,
		ReadResult: jt808.CardReadOK, Name: name, Certificate: certificate, Authority: "内蒙古自治区道路运输管理局",
		ValidTo: time.Date(at.Year()+3, 12, 31, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return err
	}
	t.body = body
	return t.send(jt808.MsgDriverIdentity, body)
}

func (t *jt808Terminal) Close() error {
	err := t.conn.Close()
	t.acks.releaseAll()
	return err
}

// gt06Terminal is a GT06 tracker: login, then GPS+LBS packets, which the protocol does not
// acknowledge: a Send holds the clock until written.
type gt06Terminal struct {
	conn   net.Conn
	acks   *unacked
	mu     sync.Mutex
	serial uint16
	buf    []byte
}

func dialGT06(ctx context.Context, addr, imei string, acks *unacked) (*gt06Terminal, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &gt06Terminal{conn: conn, acks: acks}
	p, err := gt06.Login{IMEI: imei}.Packet(t.next())
	if err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := conn.Write(gt06.AppendFrame(nil, p)); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := gt06.NewReader(bufio.NewReader(conn), 0).Next(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("gt06 login: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	go func() { _, _ = io.Copy(io.Discard, conn) }()
	return t, nil
}

func (t *gt06Terminal) next() uint16 { t.serial++; return t.serial }

func (t *gt06Terminal) Send(ctx context.Context, rs []report, blind bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	t.buf = t.buf[:0]
	for _, r := range rs {
		p, err := gt06.Location{Time: r.Time, Satellites: 9, Lat: r.Lat, Lon: r.Lon, SpeedKmh: int(r.SpeedKmh + 0.5),
			Course: int(r.Heading + 0.5), Positioned: true}.Packet(gt06.ProtoGPSLBS, t.next(), nil)
		if err != nil {
			return err
		}
		t.buf = gt06.AppendFrame(t.buf, p)
	}
	t.acks.hold(0)
	defer t.acks.ack(0)
	_, err := t.conn.Write(t.buf)
	return err
}

func (t *gt06Terminal) Close() error { return t.conn.Close() }

// sealer is the terminal of an e-seal: it reports an unlock as the lock event it is.
type sealer interface {
	Unlock(ctx context.Context, r report, card string) error
}

// jt701Terminal is a Jointech JT701 e-seal: long binary reports with the seal's status word,
// and a P45 lock event when it is unlocked. Each asks for the platform's confirmation
// (P69 with the frame's index), which releases it.
type jt701Terminal struct {
	conn  net.Conn
	id    string
	acks  *unacked
	mu    sync.Mutex
	buf   []byte
	index byte
}

func dialJT701(ctx context.Context, addr, id string, acks *unacked) (*jt701Terminal, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &jt701Terminal{conn: conn, id: id, acks: acks}
	go t.readAcks()
	return t, nil
}

// readAcks releases the frames the platform confirms, "(P69,0,index)", until the connection
// ends.
func (t *jt701Terminal) readAcks() {
	defer t.acks.releaseAll()
	r := bufio.NewReader(t.conn)
	for {
		msg, err := r.ReadString(')')
		if err != nil {
			return
		}
		msg = msg[strings.LastIndexByte(msg, '(')+1 : len(msg)-1]
		if idx, ok := strings.CutPrefix(msg, "P69,0,"); ok {
			if n, err := strconv.Atoi(idx); err == nil {
				t.acks.ack(n)
			}
		}
	}
}

// hold numbers the next frame and holds the clock for it.
func (t *jt701Terminal) hold() {
	t.index++
	t.acks.hold(int(t.index))
}

// flush writes the frames held for; a failed write releases them.
func (t *jt701Terminal) flush() error {
	_, err := t.conn.Write(t.buf)
	if err != nil {
		t.acks.releaseAll()
	}
	return err
}

func (t *jt701Terminal) Send(ctx context.Context, rs []report, blind bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	t.buf = t.buf[:0]
	for _, r := range rs {
		status := uint16(jt600.StatusRopeInserted | jt600.StatusCoverClosed | jt600.StatusAckRequired)
		if r.Locked {
			status |= jt600.StatusMotorLocked
		}
		typ := byte(1)
		if blind {
			typ = 3
		}
		t.hold()
		var err error
		t.buf, err = jt600.AppendLong(t.buf, &jt600.LongReport{DeviceID: t.id, Version: 0x19, DataType: typ,
			Location:   jt600.Location{Time: r.Time, Lat: r.Lat, Lon: r.Lon, Valid: true, SpeedKmh: r.SpeedKmh, Course: r.Heading},
			Satellites: 9, Status: status, Battery: 80, CellID: 0x2f1c, LAC: 0x5a3, Signal: 24,
			MCC: 460, Index: t.index})
		if err != nil {
			t.acks.releaseAll()
			return err
		}
	}
	return t.flush()
}

func (t *jt701Terminal) Unlock(ctx context.Context, r report, card string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	t.hold()
	t.buf = jt600.AppendP45(t.buf[:0], &jt600.P45{DeviceID: t.id, Time: r.Time, Lat: r.Lat, Lon: r.Lon, Valid: true,
		SpeedKmh: r.SpeedKmh, Course: r.Heading, EventSource: 1, Verified: 1, Card: card, Index: int(t.index)})
	return t.flush()
}

func (t *jt701Terminal) Close() error {
	err := t.conn.Close()
	t.acks.releaseAll()
	return err
}

// osmandTerminal is a phone running Traccar Client. A report holds the clock until the
// server has answered it.
type osmandTerminal struct {
	url  string
	id   string
	hc   *http.Client
	acks *unacked
}

func (t *osmandTerminal) Send(ctx context.Context, rs []report, blind bool) error {
	for _, r := range rs {
		t.acks.hold(0)
		err := t.send(ctx, r)
		t.acks.ack(0)
		if err != nil {
			return err
		}
	}
	return nil
}

// send posts one report; like Traccar Client it tries again after a 429 or 503, waiting as
// long as Retry-After says (at most 5 s, five times).
func (t *osmandTerminal) send(ctx context.Context, r report) error {
	for attempt := 1; ; attempt++ {
		req, err := osmand.NewRequest(ctx, t.url, tracker.Fix{DeviceID: t.id, Time: r.Time, Lat: r.Lat, Lon: r.Lon,
			SpeedKmh: r.SpeedKmh, Heading: r.Heading, AltitudeM: 1100, Valid: true})
		if err != nil {
			return err
		}
		resp, err := t.hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300 || resp.StatusCode == http.StatusBadRequest:
			return nil
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < 5:
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
				wait = min(time.Duration(s)*time.Second, 5*time.Second)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		default:
			return fmt.Errorf("osmand: HTTP %d", resp.StatusCode)
		}
	}
}

func (t *osmandTerminal) Close() error { return nil }
