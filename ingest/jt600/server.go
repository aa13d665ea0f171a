package jt600

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/gateway"
	"github.com/borderwatch/borderwatch/ingest/ratelimit"
	"github.com/borderwatch/borderwatch/tracker"
)

// DefaultAddr is the listen address of Traccar's jt600 protocol, the port devices in the
// field are set to.
const DefaultAddr = ":5014"

// Config configures a Server.
type Config struct {
	Addr       string             // listen address for ListenAndServe; "": DefaultAddr
	Sink       tracker.Sink       // where fixes go; required
	Admission  *tracker.Admission // who may report; required
	Logger     *slog.Logger       // nil: slog.Default()
	Registerer prometheus.Registerer

	MaxConns int // simultaneous connections; 0: 10,000
	// MaxConnsPerAddr bounds the open connections of one remote IP address; 0: no cap.
	// Devices behind one carrier NAT share one: set it only above their number.
	MaxConnsPerAddr int
	IdleTimeout     time.Duration // a connection silent this long is closed; 0: 10 minutes
	WriteTimeout    time.Duration // for one reply; 0: 10 seconds
	MaxFrameBytes   int           // largest frame accepted; 0: DefaultMaxSize

	Now func() time.Time // server clock for Fix.ReceivedAt; nil: time.Now
	// Limits bounds the frames of a connection and the fixes of a device; frames over them are
	// dropped unanswered (the device resends what needs an answer), sustained abuse closes the
	// connection. nil: no limits.
	Limits *ratelimit.Limiter
}

// Server is the JT600/JT701 TCP gateway.
//
// Every frame names its device; there is no login. The id is admitted with Admission when it
// first appears on the connection (again if it changes); an unknown device, or one registered
// for another protocol, gets its connection closed, so a misconfigured device keeps retrying
// rather than streaming positions nobody stores. Each report's records become fixes submitted
// to the Sink in one Submit; a report that expects an answer (a JT701 alarm, a P45 lock
// event, a U01–U06 position, a WLNET5 sensor report) gets it only after Submit returned nil
// or a *tracker.RefusedError, so the device sends again what was not stored. Malformed frames
// are skipped and counted; other text messages (heartbeats, command answers) are counted and
// dropped; the connection goes on.
type Server struct {
	cfg  Config
	log  *slog.Logger
	m    *metrics
	gate *ratelimit.Gate
	gw   *gateway.Server
}

// NewServer checks cfg, fills in defaults and registers the metrics.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Sink == nil || cfg.Admission == nil {
		return nil, errors.New("jt600: Config needs a Sink and an Admission")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IdleTimeout <= 0 { // MaxConns and WriteTimeout get their defaults from the gateway server
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("jt600: metrics: %w", err)
	}
	log := cfg.Logger.With("protocol", tracker.ProtocolJT600)
	gate, err := cfg.Limits.Gate(tracker.ProtocolJT600, log, cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("jt600: %w", err)
	}
	s := &Server{cfg: cfg, log: log, m: m, gate: gate}
	s.gw, err = gateway.NewServer(gateway.Config{
		Protocol:        tracker.ProtocolJT600,
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
	return s, nil
}

// ListenAndServe listens on cfg.Addr and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	return s.gw.ListenAndServe(ctx, s.cfg.Addr)
}

// Serve accepts connections on ln until ctx is cancelled, then stops gracefully: it stops
// accepting, lets every connection finish the frame it is handling, closes the connections
// and returns nil once all are gone. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.gw.Serve(ctx, ln)
}

// conn is one device connection.
type conn struct {
	s    *Server
	c    net.Conn
	log  *slog.Logger
	id   string // the admitted device's id, as its frames spell it
	dev  tracker.Device
	fix  []tracker.Fix
	reqs ratelimit.Bucket  // this connection's frames
	rate *ratelimit.Device // the fixes of dev, shared with its other connections
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	c := &conn{s: s, c: nc, log: s.log.With("remote", nc.RemoteAddr().String())}
	defer func() { s.gate.Release(c.rate) }()
	r := NewReader(nc, s.cfg.MaxFrameBytes)
	for {
		frame, err := r.Next()
		fe, junk := err.(*FrameError)
		if err == nil || junk {
			// Every frame counts, junk included: it costs as much to read as a report.
			switch s.gate.Frame(&c.reqs, nc.RemoteAddr(), c.dev.ID) {
			case ratelimit.Refuse:
				continue
			case ratelimit.Close:
				return
			}
		}
		if junk {
			s.m.reject(fe.Reason)
			c.log.Debug("frame rejected", "err", err)
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				c.log.Debug("connection closed", "err", err, "device", c.dev.ID)
			}
			return
		}
		if !c.handle(ctx, frame) {
			return
		}
	}
}

// handle processes one frame and reports whether the connection stays open.
func (c *conn) handle(ctx context.Context, frame []byte) bool {
	m := c.s.m
	r, err := Decode(frame)
	if err != nil {
		m.reject(ReasonMalformed)
		c.log.Debug("bad frame", "err", err)
		return true
	}
	m.frame(r.Kind)
	if !c.admit(ctx, r.DeviceID) {
		return false
	}
	if len(r.Records) == 0 {
		c.log.Debug("message without a position", "device", r.DeviceID, "frame", string(frame[:min(len(frame), 32)]))
		return true
	}
	switch c.s.gate.Fixes(c.rate, len(r.Records), c.c.RemoteAddr()) {
	case ratelimit.Refuse:
		return true // dropped unanswered: what needs an answer is resent
	case ratelimit.Close:
		return false
	}
	now := c.s.cfg.Now()
	c.fix = c.fix[:0]
	for i := range r.Records {
		c.fix = append(c.fix, ToFix(&r, i, c.dev, now))
	}
	err = c.s.cfg.Sink.Submit(ctx, c.fix)
	var refused *tracker.RefusedError
	switch {
	case err == nil:
	case errors.As(err, &refused):
		c.log.Info("fix refused", "device", c.dev.ID, "err", err)
	default:
		// Not stored: no answer, the device sends it again.
		c.log.Warn("submit failed", "device", c.dev.ID, "err", err)
		return true
	}
	if r.Reply == "" {
		return true
	}
	if _, err := c.c.Write([]byte(r.Reply)); err != nil {
		c.log.Debug("write failed", "err", err)
		return false
	}
	return true
}

// admit decides, once per device id on the connection, whether it may report.
func (c *conn) admit(ctx context.Context, id string) bool {
	if id == c.id {
		return true
	}
	dev, err := c.s.cfg.Admission.Admit(ctx, tracker.ProtocolJT600, id)
	switch {
	case errors.Is(err, tracker.ErrUnknownDevice), errors.Is(err, tracker.ErrWrongProtocol):
		c.s.m.reject("unknown_device")
		c.log.Info("device refused", "device", id, "err", err)
		return false
	case err != nil:
		// The registry is unavailable: close, the device connects again later.
		c.log.Warn("admission failed", "device", id, "err", err)
		return false
	}
	c.id, c.dev = id, dev
	c.rate = c.s.gate.Rebind(c.rate, dev.ID)
	return true
}
