package jt808

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/tracker"
)

// Config configures a Server. Sink and Admission are required.
type Config struct {
	Addr       string // for ListenAndServe; "": ":6808"
	Sink       tracker.Sink
	Admission  *tracker.Admission
	Logger     *slog.Logger          // nil: slog.Default()
	Registerer prometheus.Registerer // nil: metrics are kept but not exported

	MaxConns      int           // open connections at most; 0: 10,000
	IdleTimeout   time.Duration // a connection silent this long is closed; 0: 5 minutes
	MaxFrameBytes int           // escaped frame content at most; longer frames are dropped; 0: 4096
	WriteTimeout  time.Duration // for replies; 0: 10 seconds
	// SubmitTimeout bounds one Sink.Submit. Submits run to the end even while the server
	// stops, so that what was stored is also acknowledged. 0: 30 seconds.
	SubmitTimeout time.Duration
	// FragmentBytes bounds a connection's buffered sub-packages; 0: 64 KiB.
	FragmentBytes   int
	FragmentTimeout time.Duration // 0: 1 minute
}

// Server is the JT/T 808 TCP gateway.
type Server struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing bool
	wg      sync.WaitGroup
}

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
	setDefault(&cfg.MaxConns, 10000)
	setDefault(&cfg.IdleTimeout, 5*time.Minute)
	setDefault(&cfg.MaxFrameBytes, 4096)
	setDefault(&cfg.WriteTimeout, 10*time.Second)
	setDefault(&cfg.SubmitTimeout, 30*time.Second)
	setDefault(&cfg.FragmentBytes, 64<<10)
	setDefault(&cfg.FragmentTimeout, time.Minute)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg:   cfg,
		log:   cfg.Logger.With("protocol", tracker.ProtocolJT808),
		m:     m,
		conns: make(map[*conn]struct{}),
	}, nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// ListenAndServe listens on cfg.Addr and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("jt808: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts terminals on ln until ctx is cancelled, then stops gracefully: it stops
// accepting, lets every connection finish the frame it is handling (a Submit in flight completes
// and is acknowledged), closes the connections and returns nil once all are gone. Serve closes ln.
// A stopped Server does not serve again.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		s.shutdown()
	})
	defer stop()
	s.log.Info("jt808 gateway listening", "addr", ln.Addr().String())
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				s.wg.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors and the like: wait and retry, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("jt808 accept", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			ln.Close()
			s.shutdown()
			s.wg.Wait()
			return fmt.Errorf("jt808: accept: %w", err)
		}
		backoff = 0
		c := &conn{s: s, nc: nc}
		if !s.track(c) {
			s.m.refused.WithLabelValues(reasonMaxConns).Inc()
			nc.Close()
			continue
		}
		go c.serve(ctx)
	}
}

// track adds c to the open connections unless the server is full or stopping.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || len(s.conns) >= s.cfg.MaxConns {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.m.conns.Inc()
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.m.conns.Dec()
	s.wg.Done()
}

// shutdown makes every connection's next (or current) read fail, so each stops after the frame
// it is handling.
func (s *Server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for c := range s.conns {
		c.stopReading()
	}
}

var errStopping = errors.New("jt808: server stopping")

// conn is one terminal connection. Only its own goroutine touches it, except stopReading.
type conn struct {
	s  *Server
	nc net.Conn
	sc *Scanner

	mu       sync.Mutex // guards stopping against the read deadline being reset
	stopping bool

	// Admission of the phone number last seen; re-decided when it changes.
	decided bool
	phone   Phone
	dev     tracker.Device
	unknown bool
	authed  bool

	serial  uint16 // of platform messages
	pending []byte // replies not yet written: flushed before blocking on a read
	// Locations of frames that arrived together wait here and go to the sink as one Submit
	// before the next blocking read: a terminal that pipelines costs one commit wait, not one
	// per frame.
	ctx     context.Context
	batch   []tracker.Fix
	batchOf []Header
	reasm   *Reassembler
}

func (c *conn) stopReading() {
	c.mu.Lock()
	c.stopping = true
	c.nc.SetReadDeadline(time.Unix(1, 0))
	c.mu.Unlock()
}

// Read feeds the scanner: it first writes the replies gathered while handling the frames of the
// previous read, so frames coalesced in one read are answered in one write.
func (c *conn) Read(p []byte) (int, error) {
	c.submitBatch()
	if err := c.flush(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return 0, errStopping
	}
	c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
	c.mu.Unlock()
	return c.nc.Read(p)
}

func (c *conn) flush() error {
	if len(c.pending) == 0 {
		return nil
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	_, err := c.nc.Write(c.pending)
	c.pending = c.pending[:0]
	return err
}

func (c *conn) serve(ctx context.Context) {
	defer c.s.untrack(c)
	defer c.nc.Close()
	defer func() {
		if r := recover(); r != nil {
			c.s.m.panics.Inc()
			c.s.log.Error("jt808 connection panic", "remote", c.nc.RemoteAddr().String(),
				"device", c.dev.ID, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	c.ctx = ctx
	c.sc = NewScanner(c, c.s.cfg.MaxFrameBytes)
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
	case errors.Is(err, io.EOF), errors.Is(err, errStopping), errors.Is(err, net.ErrClosed):
		return
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.s.log.Debug("jt808 idle connection closed", "remote", c.nc.RemoteAddr().String(), "device", c.dev.ID)
	default:
		c.s.log.Debug("jt808 connection", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
}

// handle processes one frame; false closes the connection.
func (c *conn) handle(ctx context.Context, raw []byte) bool {
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
	c.s.m.frame(h.MsgID)
	if !c.admit(ctx, h) {
		return true // registry unavailable: no answer, the terminal retries
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
		if _, err := DecodeRegister(f.Body, h.V2019); err != nil {
			c.s.m.reject(reasonMalformed)
			c.generalReply(h, ResultMessageError)
			return true
		}
		code := c.dev.AuthCode
		if code == "" {
			code = c.dev.ID // any code is accepted from a device without one
		}
		c.registerReply(h, RegisterOK, code)
	case MsgAuth:
		a := DecodeAuth(f.Body, h.V2019)
		if c.dev.AuthCode != "" && a.Code != c.dev.AuthCode {
			c.s.m.reject(reasonUnauthenticated)
			c.generalReply(h, ResultFailure)
			return true
		}
		c.authed = true
		c.generalReply(h, ResultOK)
	case MsgHeartbeat, MsgTerminalResponse:
		c.generalReply(h, ResultOK)
	case MsgLogout:
		c.generalReply(h, ResultOK)
		return false
	case MsgLocation, MsgBatch:
		if c.dev.AuthCode != "" && !c.authed {
			c.s.m.reject(reasonUnauthenticated)
			c.generalReply(h, ResultFailure)
			return true
		}
		c.report(ctx, &f)
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
	return true
}

// reassemble collects a sub-package; done reports a whole message in whole.
func (c *conn) reassemble(f Frame) (whole Frame, done, ok bool) {
	if c.reasm == nil {
		c.reasm = &Reassembler{MaxBytes: c.s.cfg.FragmentBytes, Timeout: c.s.cfg.FragmentTimeout}
	}
	whole, done, err := c.reasm.Add(f, time.Now())
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

// report turns a 0x0200 or 0x0704 into fixes, submits them and acknowledges once they are
// stored (or refused for good).
func (c *conn) report(ctx context.Context, f *Frame) {
	now := time.Now()
	var fixes []tracker.Fix
	var loc Location
	if f.Header.MsgID == MsgLocation {
		if err := DecodeLocation(f.Body, &loc); err != nil {
			c.s.m.reject(reasonMalformed)
			c.generalReply(&f.Header, ResultMessageError)
			return
		}
		c.batch = append(c.batch, c.fix(&loc, now, false))
		c.batchOf = append(c.batchOf, f.Header)
		return
	} else {
		b, err := DecodeBatch(f.Body)
		if err == nil {
			fixes = make([]tracker.Fix, len(b.Items))
			for i, it := range b.Items {
				if err = DecodeLocation(it, &loc); err != nil {
					break
				}
				fixes[i] = c.fix(&loc, now, b.Type == BatchBlindArea)
			}
		}
		if err != nil {
			c.s.m.reject(reasonMalformed)
			c.generalReply(&f.Header, ResultMessageError)
			return
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.s.cfg.SubmitTimeout)
	err := c.s.cfg.Sink.Submit(sctx, fixes)
	cancel()
	var refused *tracker.RefusedError
	if err != nil && !errors.As(err, &refused) {
		// Not stored: no acknowledgement, so the terminal keeps the fixes and sends them again.
		c.s.log.Warn("jt808 submit", "device", c.dev.ID, "fixes", len(fixes), "err", err)
		return
	}
	c.generalReply(&f.Header, ResultOK)
}

// submitBatch hands the gathered locations to the sink and acknowledges them once stored.
func (c *conn) submitBatch() {
	if len(c.batch) == 0 {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), c.s.cfg.SubmitTimeout)
	err := c.s.cfg.Sink.Submit(sctx, c.batch)
	cancel()
	var refused *tracker.RefusedError
	if err != nil && !errors.As(err, &refused) {
		c.s.log.Warn("jt808 submit", "device", c.dev.ID, "fixes", len(c.batch), "err", err)
	} else {
		for i := range c.batchOf {
			c.generalReply(&c.batchOf[i], ResultOK)
		}
	}
	// The sink does not keep the slice; a fresh one keeps an idle connection small.
	c.batch, c.batchOf = nil, nil
}

func (c *conn) fix(l *Location, now time.Time, blind bool) tracker.Fix {
	n := bits.OnesCount32(l.Alarm&alarmMask) + bits.OnesCount32(l.Status&statusMask)
	if blind {
		n++
	}
	flags := l.AppendFlags(make([]string, 0, n))
	if blind {
		flags = append(flags, tracker.FlagBlindArea)
	}
	return tracker.Fix{
		VehicleID:  c.dev.VehicleID,
		DeviceID:   c.dev.ID,
		Protocol:   tracker.ProtocolJT808,
		Time:       l.Time,
		ReceivedAt: now,
		Lat:        l.Lat,
		Lon:        l.Lon,
		SpeedKmh:   l.SpeedKmh,
		Heading:    l.Heading,
		AltitudeM:  l.AltitudeM,
		Valid:      l.Valid(),
		Late:       blind,
		Flags:      flags,
		Attrs:      l.Attrs(),
	}
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
	out, err := AppendFrame(c.pending, &h, body)
	if err != nil {
		c.s.log.Warn("jt808 encode reply", "device", c.dev.ID, "err", err)
		return
	}
	c.pending = out
}
