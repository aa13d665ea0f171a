package jt808

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/gateway"
	"github.com/borderwatch/borderwatch/ingest/ratelimit"
	"github.com/borderwatch/borderwatch/tracker"
)

// Events stores what terminals report that is not a position: driver identity (0x0702) and
// electronic waybills (0x0701). Emit returns nil once they are stored; tracker.Pipeline is one.
type Events interface {
	Emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error
}

// Config configures a Server. Sink and Admission are required.
type Config struct {
	Addr      string // for ListenAndServe; "": ":6808"
	Sink      tracker.Sink
	Admission *tracker.Admission
	// Events stores driver identities and waybills; nil: they are answered "unsupported".
	Events Events
	// Alerts raises tracker.AlertDeviceConflict when a terminal connects from a second
	// address while its session is live; nil: that is logged and counted only.
	Alerts     gateway.Alerter
	Logger     *slog.Logger          // nil: slog.Default()
	Registerer prometheus.Registerer // nil: metrics are kept but not exported

	MaxConns int // open connections at most; 0: 10,000
	// MaxConnsPerAddr bounds the open connections of one remote IP address; 0: no cap.
	// Terminals behind one carrier NAT share one: set it only above their number.
	MaxConnsPerAddr int
	IdleTimeout     time.Duration // a connection silent this long is closed; 0: 5 minutes
	MaxFrameBytes   int           // escaped frame content at most; longer frames are dropped; 0: 4096
	WriteTimeout    time.Duration // for replies; 0: 10 seconds
	// SubmitTimeout bounds one Sink.Submit. Submits run to the end even while the server
	// stops, so that what was stored is also acknowledged. 0: 30 seconds.
	SubmitTimeout time.Duration
	// FragmentBytes bounds a connection's buffered sub-packages; 0: 64 KiB.
	FragmentBytes   int
	FragmentTimeout time.Duration // 0: 1 minute
	// Limits bounds the frames of a connection and the fixes of a device; frames over them
	// are not acknowledged (the terminal resends later), sustained abuse closes the
	// connection. nil: no limits.
	Limits *ratelimit.Limiter
}

// Server is the JT/T 808 TCP gateway: the sessions of terminals, served by a gateway.Server.
type Server struct {
	cfg  Config
	log  *slog.Logger
	m    *metrics
	gate *ratelimit.Gate
	gw   *gateway.Server
	live *gateway.Sessions

	// Buffers are held only while in use, so an idle connection holds none: read buffers
	// (*[]byte of readBufSize) while they hold unscanned data, reply buffers (*[]byte) from a
	// read's first reply to its write, batches from a read's first location to its Submit.
	readBufs    sync.Pool
	readBufSize int
	replyBufs   sync.Pool
	batches     sync.Pool
	deadline    atomic.Pointer[sharedDeadline]
}

// readBufSize: one read takes whatever a pipelining terminal sent since the last (about 350
// location frames), so that they cost one read, one Submit and one write.
const readBufSize = 16 << 10

// NewServer checks cfg, fills in defaults and registers the metrics.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Sink == nil || cfg.Admission == nil {
		return nil, errors.New("jt808: Config needs Sink and Admission")
	}
	if cfg.Addr == "" {
		cfg.Addr = ":6808"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// MaxConns, IdleTimeout and WriteTimeout get their defaults from the gateway server.
	setDefault(&cfg.MaxFrameBytes, 4096)
	setDefault(&cfg.SubmitTimeout, 30*time.Second)
	setDefault(&cfg.FragmentBytes, 64<<10)
	setDefault(&cfg.FragmentTimeout, time.Minute)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("jt808: metrics: %w", err)
	}
	log := cfg.Logger.With("protocol", tracker.ProtocolJT808)
	gate, err := cfg.Limits.Gate(tracker.ProtocolJT808, log, cfg.Registerer)
	if err != nil {
		return nil, err
	}
	live, err := gateway.NewSessions(tracker.ProtocolJT808, cfg.Logger, cfg.Alerts, cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:         cfg,
		gate:        gate,
		live:        live,
		log:         log,
		m:           m,
		readBufSize: max(readBufSize, cfg.MaxFrameBytes+2),
	}
	s.gw, err = gateway.NewServer(gateway.Config{
		Protocol:        tracker.ProtocolJT808,
		Logger:          cfg.Logger,
		Registerer:      cfg.Registerer,
		MaxConns:        cfg.MaxConns,
		MaxConnsPerAddr: cfg.MaxConnsPerAddr,
		IdleTimeout:     cfg.IdleTimeout,
		WriteTimeout:    cfg.WriteTimeout,
	}, gateway.HandlerFunc(s.serveConn))
	if err != nil {
		return nil, err
	}
	s.readBufs.New = func() any { b := make([]byte, s.readBufSize); return &b }
	s.replyBufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	s.batches.New = func() any {
		// Sized for a pipelining terminal's read: the pool is emptied by garbage collections,
		// and growing a batch of 192-byte fixes from one to 16 allocated it five times.
		return &batch{fixes: make([]tracker.Fix, 0, batchFixes), of: make([]Header, 0, batchFixes)}
	}
	return s, nil
}

// sharedDeadline is the context of Submits for a short while: one context and timer for all
// connections instead of one per read. A Submit thus gets SubmitTimeout less at most renewAt's
// lag.
type sharedDeadline struct {
	ctx     context.Context
	cancel  context.CancelFunc // not called: the timer ends the context at its deadline
	renewAt time.Time
}

func (s *Server) submitContext(base context.Context, now time.Time) context.Context {
	if d := s.deadline.Load(); d != nil && now.Before(d.renewAt) {
		return d.ctx
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(base), s.cfg.SubmitTimeout)
	s.deadline.Store(&sharedDeadline{ctx: ctx, cancel: cancel, renewAt: now.Add(min(time.Second, s.cfg.SubmitTimeout/32))})
	return ctx
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// ListenAndServe listens on cfg.Addr and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	return s.gw.ListenAndServe(ctx, s.cfg.Addr)
}

// Serve accepts terminals on ln until ctx is cancelled, then stops gracefully: it stops
// accepting, lets every connection finish the frame it is handling (a Submit in flight completes
// and is acknowledged), closes the connections and returns nil once all are gone. Serve closes ln.
// A stopped Server does not serve again.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.gw.Serve(ctx, ln)
}

// conn is one terminal connection. Only its own goroutine touches it.
type conn struct {
	s  *Server
	nc net.Conn
	sc *Scanner
	// raw reads the socket directly, so that the read buffer is taken only once data is
	// there; nil when nc is not a socket (then nc.Read into a held buffer).
	raw    syscall.RawConn
	readFn func(fd uintptr) bool // made once: a closure per read would allocate
	rn     int
	rerr   error

	// Admission of the phone number last seen; re-decided when it changes.
	decided bool
	phone   Phone
	dev     tracker.Device
	unknown bool
	authed  bool
	// session is the claim on c.dev once it may report: at authentication, or at admission
	// for a device without an auth code.
	session *gateway.Session

	serial  uint16  // of platform messages
	pending *[]byte // replies not yet written (nil: none), flushed before blocking on a read
	now     time.Time
	nLoc    int // location frames not yet counted in the metrics
	ctx     context.Context
	// Locations of frames that arrived together wait here and go to the sink as one Submit
	// before the next blocking read: a terminal that pipelines costs one commit wait, not one
	// per frame.
	batch *batch
	reasm *Reassembler

	// The flags and attributes of the last fix, handed on to the next while its alarm and
	// status bits and its items are the same: consecutive fixes of a terminal mostly are, and
	// the pipeline and stores only read them (Flags has no spare capacity, so an append copies).
	flagKey  uint64
	flags    []string
	hasFlags bool
	items    []byte
	attrs    map[string]any

	// The last position the terminal reported live (not from its buffer), for its events,
	// which carry none.
	lastLat, lastLon float64
	hasPos           bool

	frames  ratelimit.Bucket  // this connection's frames
	device  *ratelimit.Device // the fixes of c.dev, shared with its other connections
	abusive bool              // over the device's limit for long: close after this frame
}

type batch struct {
	fixes []tracker.Fix
	of    []Header
}

// batchFixes is the capacity a new batch gets: the frames a pipelining terminal usually sends in one write.
const batchFixes = 16

// maxCachedItems bounds the items kept to compare with the next fix's.
const maxCachedItems = 64

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.readFn = c.readSocket
		}
	}
	return c
}

// readInto feeds the scanner: it first submits the locations and writes the replies gathered
// while handling the frames of the previous read, so frames coalesced in one read cost one
// Submit and are answered in one write.
func (c *conn) readInto(sc *Scanner) (int, error) {
	c.submitBatch()
	if err := c.flush(); err != nil {
		return 0, err
	}
	var n int
	var err error
	if c.raw == nil {
		n, err = c.nc.Read(sc.space())
	} else {
		c.rn, c.rerr = 0, nil
		if err = c.raw.Read(c.readFn); err == nil {
			n, err = c.rn, c.rerr
		}
	}
	c.now = time.Now()
	return n, err
}

// readSocket is called by RawConn.Read when the socket may be readable; false waits for it.
func (c *conn) readSocket(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), c.sc.space())
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.sc.idle() // nothing to read: the buffer goes back while we wait
			return false
		case err != nil:
			c.rerr = err
		case n == 0:
			c.rerr = io.EOF
		default:
			c.rn = n
		}
		return true
	}
}

func (c *conn) flush() error {
	if c.pending == nil {
		return nil
	}
	c.s.m.ackSecs.Observe(time.Since(c.now).Seconds()) // before the write: whoever has the reply sees it counted
	_, err := c.nc.Write(*c.pending)
	c.releaseReplies()
	return err
}

// releaseReplies drops the replies not yet written and gives their buffer back.
func (c *conn) releaseReplies() {
	if c.pending == nil {
		return
	}
	if cap(*c.pending) <= 64<<10 { // one giant read's replies are not kept for every later one
		*c.pending = (*c.pending)[:0]
		c.s.replyBufs.Put(c.pending)
	}
	c.pending = nil
}

// serveConn serves one terminal; the gateway server closes nc afterwards.
func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	newConn(s, nc).serve(ctx)
}

func (c *conn) serve(ctx context.Context) {
	defer func() {
		c.s.gate.Release(c.device)
		c.s.live.Release(c.session)
	}()
	c.ctx = ctx
	c.sc = newPooledScanner(c, c.s.cfg.MaxFrameBytes, &c.s.readBufs)
	defer c.sc.release()
	for {
		raw, err := c.sc.Next()
		if errors.Is(err, ErrFrameTooLarge) {
			c.s.m.reject(reasonTooLarge)
			continue
		}
		if err != nil {
			c.logClose(err)
			break
		}
		if !c.handle(ctx, raw) {
			break
		}
	}
	c.submitBatch()
	if err := c.flush(); err != nil {
		c.s.log.Debug("jt808 write", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
}

func (c *conn) logClose(err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, gateway.ErrServerClosed), errors.Is(err, net.ErrClosed):
		return
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.s.log.Debug("jt808 idle connection closed", "remote", c.nc.RemoteAddr().String(), "device", c.dev.ID)
	default:
		c.s.log.Debug("jt808 connection", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
}

// handle processes one frame; false closes the connection.
func (c *conn) handle(ctx context.Context, raw []byte) bool {
	// Every frame counts, junk included: it costs as much to read as a location.
	if c.s.gate != nil {
		switch c.s.gate.Frame(&c.frames, c.nc.RemoteAddr(), c.dev.ID) {
		case ratelimit.Refuse:
			return true // unanswered: the terminal resends later
		case ratelimit.Close:
			return false
		}
	}
	if IsShortHeader(raw) {
		return c.sealReport(ctx, raw) // Jointech's e-seals (seal.go)
	}
	f, headerRead, err := DecodeFrame(raw)
	if err != nil || f.Header.MsgID != MsgLocation || f.Header.Fragmented {
		c.submitBatch() // replies keep the order of the frames
	}
	if err != nil {
		if errors.Is(err, ErrChecksum) {
			c.s.m.reject(reasonChecksum)
		} else {
			c.s.m.reject(reasonMalformed)
		}
		if headerRead {
			c.generalReply(&f.Header, ResultMessageError)
		}
		return true
	}
	h := &f.Header
	if h.MsgID == MsgLocation {
		c.nLoc++ // counted once per read
	} else {
		c.s.m.frame(h.MsgID)
	}
	if !c.admit(ctx, h) {
		return true // registry unavailable: no answer, the terminal retries
	}
	if !c.unknown && c.session == nil && c.dev.AuthCode == "" && !c.claim(ctx) {
		c.generalReply(h, ResultFailure)
		return false
	}
	if c.unknown {
		c.s.m.reject(reasonUnknownDevice)
		if h.MsgID == MsgRegister {
			c.registerReply(h, RegisterNoSuchTerminal, "")
		} else {
			c.generalReply(h, ResultFailure)
		}
		return true
	}
	if h.Encryption != 0 {
		c.s.m.reject(reasonUnsupported)
		c.generalReply(h, ResultUnsupported)
		return true
	}
	if h.Fragmented {
		whole, done, ok := c.reassemble(f)
		if !done {
			return ok
		}
		f = whole
		h = &f.Header
	}
	switch h.MsgID {
	case MsgRegister:
		c.register(ctx, h, f.Body)
	case MsgAuth:
		a := DecodeAuth(f.Body, h.V2019)
		if c.dev.AuthCode != "" && a.Code != c.dev.AuthCode {
			c.s.m.reject(reasonUnauthenticated)
			c.generalReply(h, ResultFailure)
			return true
		}
		if c.session == nil && !c.claim(ctx) {
			c.generalReply(h, ResultFailure)
			return false
		}
		c.authed = true
		c.generalReply(h, ResultOK)
	case MsgHeartbeat, MsgTerminalResponse:
		c.generalReply(h, ResultOK)
	case MsgLogout:
		c.generalReply(h, ResultOK)
		return false
	case MsgLocation, MsgLocationReply, MsgBatch, MsgLocationList, MsgPassThrough:
		if c.dev.AuthCode != "" && !c.authed {
			c.s.m.reject(reasonUnauthenticated)
			c.generalReply(h, ResultFailure)
			return true
		}
		c.report(ctx, &f)
		return !c.abusive
	case MsgDriverIdentity, MsgWaybill:
		if c.dev.AuthCode != "" && !c.authed {
			c.s.m.reject(reasonUnauthenticated)
			c.generalReply(h, ResultFailure)
			return true
		}
		c.event(ctx, &f)
	default:
		c.s.m.reject(reasonUnsupported)
		c.generalReply(h, ResultUnsupported)
	}
	return true
}

// admit decides, once per phone number, whether the terminal may report.
func (c *conn) admit(ctx context.Context, h *Header) bool {
	if c.decided && h.Phone == c.phone {
		return true
	}
	id := h.Phone.String()
	dev, err := c.s.cfg.Admission.Admit(ctx, tracker.ProtocolJT808, id)
	switch {
	case err == nil:
		c.dev, c.unknown = dev, false
	case errors.Is(err, tracker.ErrUnknownDevice), errors.Is(err, tracker.ErrWrongProtocol):
		c.dev, c.unknown = tracker.Device{ID: id}, true
		c.s.log.Info("jt808 device refused", "remote", c.nc.RemoteAddr().String(), "device", id, "err", err)
	default:
		c.s.log.Warn("jt808 admission", "device", id, "err", err)
		return false
	}
	c.decided, c.phone, c.authed = true, h.Phone, false
	c.s.live.Release(c.session)
	c.session = nil
	if c.unknown { // reports nothing: no entry in the device table
		c.s.gate.Release(c.device)
		c.device = nil
	} else {
		c.device = c.s.gate.Rebind(c.device, c.dev.ID)
	}
	return true
}

// claim makes this connection the live session of c.dev; false: the device is live on a
// connection from another address, and this one is to be closed.
func (c *conn) claim(ctx context.Context) bool {
	c.session = c.s.live.Claim(ctx, c.dev.ID, c.dev.VehicleID, c.nc)
	if c.session == nil {
		c.s.m.reject(reasonDuplicateSession)
		return false
	}
	return true
}

// register answers a 0x0100. Only the first registration that matches the device's
// pre-registered record is accepted and handed the auth code (tracker.Admission.Register):
// anyone may send a registered phone number, and the code is what lets a terminal report as
// the truck. A terminal keeps its code and authenticates with it when it reconnects.
func (c *conn) register(ctx context.Context, h *Header, body []byte) {
	r, err := DecodeRegister(body, h.V2019)
	if err != nil {
		c.s.m.reject(reasonMalformed)
		c.generalReply(h, ResultMessageError)
		return
	}
	err = c.s.cfg.Admission.Register(ctx, c.dev,
		tracker.Registration{TerminalID: r.TerminalID, Maker: r.Maker, Model: r.Model, Plate: r.Plate}, c.now)
	var result byte
	switch {
	case err == nil:
		c.dev.RegisteredAt = c.now // another 0x0100 on this connection is a second registration
		code := c.dev.AuthCode
		if code == "" {
			code = c.dev.ID // any code is accepted from a device without one
		}
		c.s.log.Info("jt808 terminal registered", "remote", c.nc.RemoteAddr().String(), "device", c.dev.ID,
			"terminal_id", r.TerminalID, "maker", r.Maker, "model", r.Model, "plate", r.Plate)
		c.registerReply(h, RegisterOK, code)
		return
	case errors.Is(err, tracker.ErrAlreadyRegistered):
		result = RegisterTerminalTaken
	case errors.Is(err, tracker.ErrPlateMismatch):
		result = RegisterNoSuchVehicle
	case errors.Is(err, tracker.ErrTerminalMismatch), errors.Is(err, tracker.ErrUnknownDevice):
		result = RegisterNoSuchTerminal
	default:
		c.s.log.Warn("jt808 registration", "device", c.dev.ID, "err", err)
		return // registry unavailable: no answer, the terminal retries
	}
	c.s.m.reject(reasonRegistration)
	c.s.log.Warn("jt808 registration refused", "remote", c.nc.RemoteAddr().String(), "device", c.dev.ID,
		"terminal_id", r.TerminalID, "maker", r.Maker, "model", r.Model, "plate", r.Plate, "err", err)
	c.registerReply(h, result, "")
}

// reassemble collects a sub-package; done reports a whole message in whole.
func (c *conn) reassemble(f Frame) (whole Frame, done, ok bool) {
	if c.reasm == nil {
		c.reasm = &Reassembler{MaxBytes: c.s.cfg.FragmentBytes, Timeout: c.s.cfg.FragmentTimeout}
	}
	whole, done, err := c.reasm.Add(f, c.now)
	switch {
	case errors.Is(err, ErrMalformed):
		c.s.m.reject(reasonMalformed)
		c.generalReply(&f.Header, ResultMessageError)
		return Frame{}, false, true
	case err != nil:
		c.s.m.reject(reasonFragment)
	}
	if !done {
		c.generalReply(&f.Header, ResultOK) // package received; the message is answered when whole
	}
	return whole, done, true
}

// report turns a 0x0200, 0x0201, 0x0704, 0x0210 or 0x0900 into fixes, submits them and
// acknowledges once they are stored (or refused for good); 0x0201, itself an answer, gets
// none. A 0x0210 or 0x0900 without a position is acknowledged at once.
func (c *conn) report(ctx context.Context, f *Frame) {
	if f.Header.MsgID == MsgLocation {
		var loc Location
		if err := DecodeLocation(f.Body, &loc); err != nil {
			c.s.m.reject(reasonMalformed)
			c.generalReply(&f.Header, ResultMessageError)
			return
		}
		if !c.admitFixes(1) {
			return
		}
		if c.batch == nil {
			c.batch = c.s.batches.Get().(*batch)
		}
		c.batch.fixes = append(c.batch.fixes, c.fix(&loc, false))
		c.batch.of = append(c.batch.of, f.Header)
		return
	}
	fixes, err := c.fixesOf(f)
	if errors.Is(err, errUnsupported) {
		c.s.m.reject(reasonUnsupported)
		c.generalReply(&f.Header, ResultUnsupported)
		return
	}
	if err != nil {
		c.s.m.reject(reasonMalformed)
		c.generalReply(&f.Header, ResultMessageError)
		return
	}
	if len(fixes) == 0 {
		c.generalReply(&f.Header, ResultOK)
		return
	}
	if !c.admitFixes(len(fixes)) {
		return
	}
	if err := c.s.cfg.Sink.Submit(c.s.submitContext(ctx, c.now), fixes); !stored(err) {
		// Not stored: no acknowledgement, so the terminal keeps the fixes and sends them again.
		c.s.log.Warn("jt808 submit", "device", c.dev.ID, "fixes", len(fixes), "err", err)
		return
	}
	if f.Header.MsgID != MsgLocationReply {
		c.generalReply(&f.Header, ResultOK)
	}
}

// errUnsupported: a pass-through of a content type whose layout is not documented.
var errUnsupported = errors.New("jt808: unsupported pass-through type")

// fixesOf decodes the fixes of a 0x0201, 0x0704, 0x0210 or 0x0900.
func (c *conn) fixesOf(f *Frame) ([]tracker.Fix, error) {
	var loc Location
	switch f.Header.MsgID {
	case MsgLocationReply:
		if len(f.Body) < 2 {
			return nil, malformed("location reply of %d bytes", len(f.Body))
		}
		if err := DecodeLocation(f.Body[2:], &loc); err != nil {
			return nil, err
		}
		return []tracker.Fix{c.fix(&loc, false)}, nil
	case MsgPassThrough:
		p, err := DecodePassThrough(f.Body)
		if err == nil && !p.Known() {
			err = errUnsupported
		}
		if err != nil || !p.HasLoc {
			return nil, err
		}
		fix := c.fix(&p.Loc, false)
		fix.Attrs = p.Attrs
		return []tracker.Fix{fix}, nil
	case MsgLocationList:
		items, _, err := DecodeLocationList(f.Body)
		if err != nil {
			return nil, err
		}
		fixes := make([]tracker.Fix, len(items))
		for i, it := range items {
			if err := DecodeLocation(it, &loc); err != nil {
				return nil, err
			}
			fixes[i] = c.fix(&loc, false)
		}
		return fixes, nil
	}
	b, err := DecodeBatch(f.Body)
	if err != nil {
		return nil, err
	}
	fixes := make([]tracker.Fix, len(b.Items))
	for i, it := range b.Items {
		if err := DecodeLocation(it, &loc); err != nil {
			return nil, err
		}
		fixes[i] = c.fix(&loc, b.Type == BatchBlindArea)
	}
	return fixes, nil
}

// event turns a 0x0702 or 0x0701 into an event on the vehicle and acknowledges it once stored.
func (c *conn) event(ctx context.Context, f *Frame) {
	if c.s.cfg.Events == nil {
		c.s.m.reject(reasonUnsupported)
		c.generalReply(&f.Header, ResultUnsupported)
		return
	}
	ev, err := c.eventOf(f)
	if err != nil {
		c.s.m.reject(reasonMalformed)
		c.generalReply(&f.Header, ResultMessageError)
		return
	}
	if err := c.s.cfg.Events.Emit(c.s.submitContext(ctx, c.now), []tracker.Event{ev}, nil); !stored(err) {
		// Not stored: no acknowledgement, so the terminal sends it again.
		c.s.log.Warn("jt808 event", "device", c.dev.ID, "type", ev.Type, "err", err)
		return
	}
	c.generalReply(&f.Header, ResultOK)
}

// maxEventAhead: a terminal time further ahead of the server's is a wrong clock; the event
// then takes the time it was received.
const maxEventAhead = 10 * time.Minute

func (c *conn) eventOf(f *Frame) (tracker.Event, error) {
	ev := tracker.Event{VehicleID: c.dev.VehicleID, Time: c.now, Attrs: map[string]any{"device_id": c.dev.ID}}
	if c.hasPos {
		ev.Lat, ev.Lon = c.lastLat, c.lastLon
	}
	if f.Header.MsgID == MsgWaybill {
		w, err := DecodeWaybill(f.Body)
		if err != nil {
			return tracker.Event{}, err
		}
		ev.Type = tracker.EventWaybill
		if s, ok := isText(w.Content); ok {
			ev.Attrs["content"] = s
		} else {
			ev.Attrs["content_hex"] = hex.EncodeToString(w.Content)
		}
		return ev, nil
	}
	d, err := DecodeDriverIdentity(f.Body, f.Header.V2019)
	if err != nil {
		return tracker.Event{}, err
	}
	ev.Type = tracker.EventDriverIdentity
	if !d.Time.IsZero() && d.Time.Before(c.now.Add(maxEventAhead)) {
		ev.Time = d.Time
	}
	ev.Attrs["inserted"] = d.Inserted
	if d.Inserted && d.ReadResult != CardReadOK {
		ev.Attrs["read_result"] = int(d.ReadResult)
	}
	// The card identifies the driver by the qualification certificate number, which every
	// edition carries.
	for k, v := range map[string]string{"card_id": d.Certificate, "certificate": d.Certificate,
		"driver_name": d.Name, "authority": d.Authority, "id_number": d.IDNumber} {
		if v != "" {
			ev.Attrs[k] = v
		}
	}
	if !d.ValidTo.IsZero() {
		ev.Attrs["valid_to"] = d.ValidTo.Format(time.DateOnly)
	}
	return ev, nil
}

// admitFixes draws n fixes from the device's bucket, all or none. Refused: no
// acknowledgement, the terminal keeps them and sends them again; Close: the connection ends
// before the next read.
func (c *conn) admitFixes(n int) bool {
	if c.device == nil {
		return true
	}
	switch c.s.gate.Fixes(c.device, n, c.nc.RemoteAddr()) {
	case ratelimit.Refuse:
		return false
	case ratelimit.Close:
		c.abusive = true
		return false
	}
	return true
}

// submitBatch hands the gathered locations to the sink and acknowledges them once stored.
func (c *conn) submitBatch() {
	if c.nLoc > 0 {
		c.s.m.locations.Add(float64(c.nLoc))
		c.nLoc = 0
	}
	b := c.batch
	if b == nil {
		return
	}
	c.batch = nil
	if err := c.s.cfg.Sink.Submit(c.s.submitContext(c.ctx, c.now), b.fixes); !stored(err) {
		c.s.log.Warn("jt808 submit", "device", c.dev.ID, "fixes", len(b.fixes), "err", err)
	} else {
		for i := range b.of {
			c.generalReply(&b.of[i], ResultOK)
		}
	}
	// The sink keeps no reference to the slice (it copies what it keeps): the batch goes
	// back, emptied so that it holds on to no flags or attributes.
	clear(b.fixes)
	b.fixes, b.of = b.fixes[:0], b.of[:0]
	if cap(b.fixes) <= 256 { // a giant read's batch is not kept for every later one
		c.s.batches.Put(b)
	}
}

// stored reports whether a Submit's fixes may be acknowledged: stored, or refused for good.
func stored(err error) bool {
	if err == nil {
		return true
	}
	var refused *tracker.RefusedError // on the heap: only when Submit failed
	return errors.As(err, &refused)
}

func (c *conn) fix(l *Location, blind bool) tracker.Fix {
	if !blind && l.Valid() && (l.Lat != 0 || l.Lon != 0) {
		c.lastLat, c.lastLon, c.hasPos = l.Lat, l.Lon, true
	}
	return tracker.Fix{
		VehicleID:  c.dev.VehicleID,
		DeviceID:   c.dev.ID,
		Protocol:   tracker.ProtocolJT808,
		Time:       l.Time,
		ReceivedAt: c.now,
		Lat:        l.Lat,
		Lon:        l.Lon,
		SpeedKmh:   l.SpeedKmh,
		Heading:    l.Heading,
		AltitudeM:  l.AltitudeM,
		Valid:      l.Valid(),
		Late:       blind,
		Flags:      c.flagsOf(l, blind),
		Attrs:      c.attrsOf(l),
	}
}

func (c *conn) flagsOf(l *Location, blind bool) []string {
	key := uint64(l.Alarm&alarmMask)<<32 | uint64(l.Status&statusMask)
	if blind {
		key |= 1 << 31 // not a status bit of statusMask
	}
	if c.hasFlags && key == c.flagKey {
		return c.flags
	}
	flags := l.AppendFlags(nil)
	if blind {
		flags = append(flags, tracker.FlagBlindArea)
	}
	if flags == nil {
		flags = []string{}
	}
	c.flagKey, c.flags, c.hasFlags = key, slices.Clip(flags), true
	return c.flags
}

func (c *conn) attrsOf(l *Location) map[string]any {
	if len(l.Items) == 0 {
		return nil
	}
	if c.attrs != nil && bytes.Equal(l.Items, c.items) {
		return c.attrs
	}
	m := l.Attrs()
	if len(l.Items) <= maxCachedItems {
		c.items, c.attrs = append(c.items[:0], l.Items...), m
	} else {
		c.items, c.attrs = c.items[:0], nil
	}
	return m
}

func (c *conn) generalReply(req *Header, result byte) {
	var b [5]byte
	c.send(req, MsgPlatformResponse, AppendGeneralResponse(b[:0], GeneralResponse{
		ReplySerial: req.Serial, ReplyID: req.MsgID, Result: result}))
}

func (c *conn) registerReply(req *Header, result byte, code string) {
	var b [64]byte
	c.send(req, MsgRegisterResponse, AppendRegisterResponse(b[:0], RegisterResponse{
		ReplySerial: req.Serial, Result: result, AuthCode: code}))
}

// send queues a reply in the header version the terminal used; Read writes it.
func (c *conn) send(req *Header, msgID uint16, body []byte) {
	h := req.Reply(msgID, c.serial)
	c.serial++
	if c.pending == nil {
		c.pending = c.s.replyBufs.Get().(*[]byte)
	}
	out, err := AppendFrame(*c.pending, &h, body)
	if err != nil {
		c.s.log.Warn("jt808 encode reply", "device", c.dev.ID, "err", err)
		return
	}
	*c.pending = out
}
