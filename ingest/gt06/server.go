package gt06

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/gateway"
	"github.com/borderwatch/borderwatch/ingest/ratelimit"
	"github.com/borderwatch/borderwatch/tracker"
)

// Events stores what trackers report that is not a position: alarms without one. Emit returns
// nil once they are stored; the server's rules-judging wrapper of tracker.Pipeline is one.
type Events interface {
	Emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error
}

// Config configures a Server.
type Config struct {
	Addr      string             // listen address for ListenAndServe, e.g. ":6023"
	Sink      tracker.Sink       // where fixes go; required
	Admission *tracker.Admission // who may report; required
	// Alerts raises tracker.AlertDeviceConflict when an IMEI logs in from a second address
	// while its session is live; nil: that is logged and counted only.
	Alerts gateway.Alerter
	// Events stores alarms without a position (0x19, 0xA5, the short 0x95) as
	// tracker.EventDeviceAlarm, acknowledged once stored; nil: they are logged and acknowledged.
	Events     Events
	Logger     *slog.Logger // nil: slog.Default()
	Registerer prometheus.Registerer

	MaxConns int // simultaneous connections; 0: 10,000
	// MaxConnsPerAddr bounds the open connections of one remote IP address; 0: no cap.
	// Trackers behind one carrier NAT share one: set it only above their number.
	MaxConnsPerAddr int
	IdleTimeout     time.Duration // a connection silent this long is closed; 0: 10 minutes (trackers send a heartbeat every few minutes)
	WriteTimeout    time.Duration // for one acknowledgement; 0: 10 seconds
	MaxFrameBytes   int           // largest frame accepted; 0: DefaultMaxSize

	Now func() time.Time // server clock for Fix.ReceivedAt; nil: time.Now
	// TrackerClock is the clock the tracker judges times by, which an alarm's own time is checked
	// against (the demo's is simulated, unlike Now); nil: Now.
	TrackerClock func() time.Time
	// Limits bounds the packets of a connection and the fixes of a device; packets over them
	// are dropped unanswered (an alarm is resent), sustained abuse closes the connection.
	// nil: no limits.
	Limits *ratelimit.Limiter
}

// Server is the GT06 TCP gateway.
//
// A connection must log in (0x01) first. The IMEI is admitted with Admission; an unknown
// device (or one registered for another protocol) gets no login acknowledgement and its
// connection is closed, so a misconfigured tracker keeps retrying rather than streaming
// positions nobody stores. One IMEI has one live session: a login from the address of the live
// one replaces it (its old connection is closed), a login from another address is refused and
// closed the same way, counted, and raises tracker.AlertDeviceConflict through Alerts. Packets before login are dropped. Every position becomes a
// tracker.Fix submitted to the Sink; its packet is acknowledged only after Submit returned nil
// or a *tracker.RefusedError, so the tracker resends an alarm that was not stored. Plain GPS
// packets (0x10, 0x12, 0x22 and the few layouts Traccar leaves unanswered) expect no
// acknowledgement in the protocol. Heartbeats and cell lists are acknowledged, alarms without a
// position too once stored as events (Config.Events), a time request (0x8A) is
// answered with the server's time, information packets (0x94) are logged and not answered.
// Malformed packets are skipped and counted; unknown ones counted, logged at debug and given
// the generic acknowledgement; the connection goes on.
type Server struct {
	cfg  Config
	log  *slog.Logger
	m    *metrics
	gate *ratelimit.Gate
	gw   *gateway.Server
	live *gateway.Sessions
}

// NewServer checks cfg, fills in defaults and registers the metrics.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Sink == nil || cfg.Admission == nil {
		return nil, errors.New("gt06: Config needs a Sink and an Admission")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IdleTimeout <= 0 { // MaxConns and WriteTimeout get their defaults from the gateway server
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = DefaultMaxSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TrackerClock == nil {
		cfg.TrackerClock = cfg.Now
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("gt06: metrics: %w", err)
	}
	log := cfg.Logger.With("protocol", tracker.ProtocolGT06)
	gate, err := cfg.Limits.Gate(tracker.ProtocolGT06, log, cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("gt06: %w", err)
	}
	live, err := gateway.NewSessions(tracker.ProtocolGT06, cfg.Logger, cfg.Alerts, cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, m: m, gate: gate, live: live}
	s.gw, err = gateway.NewServer(gateway.Config{
		Protocol:        tracker.ProtocolGT06,
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
// accepting, lets every connection finish the packet it is handling, closes the connections
// and returns nil once all are gone. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.gw.Serve(ctx, ln)
}

// session is what a connection knows after login.
type session struct {
	device tracker.Device
	zone   *time.Location
	in     bool // logged in
	live   *gateway.Session
}

// conn is one tracker connection.
type conn struct {
	s    *Server
	c    net.Conn
	log  *slog.Logger
	sess session
	out  []byte

	frames ratelimit.Bucket  // this connection's packets
	device *ratelimit.Device // the fixes of sess.device, shared with its other connections
}

// serveConn serves one tracker; the gateway server closes nc afterwards.
func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	c := &conn{s: s, c: nc, log: s.log.With("remote", nc.RemoteAddr().String())}
	defer func() {
		s.gate.Release(c.device)
		s.live.Release(c.sess.live)
	}()
	r := NewReader(nc, s.cfg.MaxFrameBytes)
	for {
		p, err := r.Next()
		fe, junk := err.(*FrameError)
		if err == nil || junk {
			// Every packet counts, junk included: it costs as much to read as a location.
			switch s.gate.Frame(&c.frames, nc.RemoteAddr(), c.sess.device.ID) {
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
				c.log.Debug("connection closed", "err", err, "imei", c.sess.device.ID)
			}
			return
		}
		if !c.handle(ctx, p) {
			return
		}
	}
}

// handle processes one packet and reports whether the connection stays open.
func (c *conn) handle(ctx context.Context, p Packet) bool {
	m := c.s.m
	m.frame(p.Protocol)
	if !known(p.Protocol) {
		return c.unknown(p)
	}
	if p.Protocol == ProtoLogin {
		return c.login(ctx, p)
	}
	if !c.sess.in {
		m.reject("not_logged_in")
		return true
	}
	imei := c.sess.device.ID
	switch p.Protocol {
	case ProtoStatus:
		if _, err := DecodeStatus(p); err != nil {
			m.reject(ReasonMalformed)
			c.log.Debug("bad status packet", "err", err)
			return true
		}
		return c.ack(p)
	case ProtoHeartbeat:
		h, err := DecodeHeartbeat(p)
		if err != nil {
			m.reject(ReasonMalformed)
			c.log.Debug("bad heartbeat", "err", err)
			return true
		}
		c.log.Debug("heartbeat", "imei", imei, "power_v", h.PowerV, "gsm_signal", h.GSMSignal)
		return c.ack(p)
	case ProtoTime:
		c.log.Debug("time request", "imei", imei)
		return c.write(AppendTimeReply(c.out[:0], p.Serial, c.s.cfg.Now()))
	case ProtoInfo:
		// Nothing to store without a position; the device expects no answer.
		a, err := DecodeInfo(p)
		if err != nil {
			m.reject(ReasonMalformed)
			c.log.Debug("bad information packet", "err", err)
			return true
		}
		c.log.Debug("information", "imei", imei, "attributes", a)
		return true
	case ProtoLBS4G:
		c.log.Debug("cell list", "imei", imei)
		return c.ack(p)
	case ProtoLBSAlarm, ProtoLBSAlarm4G:
		return c.alarmReport(ctx, p)
	}
	return c.location(ctx, p)
}

// location stores the position of a location packet and answers it as its protocol expects.
func (c *conn) location(ctx context.Context, p Packet) bool {
	m := c.s.m
	loc, err := DecodeLocation(p, c.sess.zone)
	switch {
	case errors.Is(err, ErrNoPosition) && p.Protocol == ProtoEventAlarm:
		return c.alarmReport(ctx, p)
	case errors.Is(err, ErrNoPosition):
		c.log.Debug("packet without position", "imei", c.sess.device.ID, "protocol", fmt.Sprintf("0x%02X", p.Protocol))
		return c.answer(p)
	case err != nil:
		m.reject(ReasonMalformed)
		c.log.Debug("bad location packet", "err", err)
		return true
	}
	switch c.s.gate.Fixes(c.device, 1, c.c.RemoteAddr()) {
	case ratelimit.Refuse:
		return true // dropped unanswered: an alarm is resent
	case ratelimit.Close:
		return false
	}
	fix := ToFix(loc, c.sess.device, c.s.cfg.Now())
	err = c.s.cfg.Sink.Submit(ctx, []tracker.Fix{fix})
	var refused *tracker.RefusedError
	switch {
	case err == nil:
	case errors.As(err, &refused):
		c.log.Info("fix refused", "imei", fix.DeviceID, "err", err)
	default:
		// Not stored: no acknowledgement, the tracker resends.
		c.log.Warn("submit failed", "imei", fix.DeviceID, "err", err)
		return true
	}
	return c.answer(p)
}

// alarmReport stores an alarm that carries no position as an event of the device's vehicle (an
// SOS must reach an officer: the rules raise it at the last known position) and acknowledges
// it once stored, so the device resends one that was not. Without Events it is logged only.
func (c *conn) alarmReport(ctx context.Context, p Packet) bool {
	a, err := DecodeAlarmReport(p, c.sess.zone)
	if errors.Is(err, ErrNoPosition) {
		c.log.Debug("cell list", "imei", c.sess.device.ID)
		return c.ack(p)
	}
	if err != nil {
		c.s.m.reject(ReasonMalformed)
		c.log.Debug("bad alarm packet", "err", err)
		return true
	}
	c.log.Warn("alarm without position", "imei", c.sess.device.ID, "vehicle", c.sess.device.VehicleID,
		"flags", a.Flags, "code", a.Code, "cell", a.LBS)
	if c.s.cfg.Events == nil || c.sess.device.VehicleID == "" {
		return c.ack(p)
	}
	switch c.s.gate.Fixes(c.device, 1, c.c.RemoteAddr()) {
	case ratelimit.Refuse:
		return true // dropped unanswered: the alarm is resent
	case ratelimit.Close:
		return false
	}
	if err := c.s.cfg.Events.Emit(ctx, []tracker.Event{AlarmEvent(a, p.Protocol, c.sess.device, c.s.cfg.TrackerClock())}, nil); err != nil {
		c.log.Warn("alarm not stored", "imei", c.sess.device.ID, "err", err)
		return true // no acknowledgement: the tracker resends
	}
	return c.ack(p)
}

// maxAlarmAhead: an alarm time further ahead of the server's is a wrong clock.
const maxAlarmAhead = 10 * time.Minute

// AlarmEvent turns alarm a without position, of protocol number proto from device d, received
// at receivedAt, into the event stored on d's vehicle: at the alarm's time when it has one and
// it is not ahead of receivedAt by more than maxAlarmAhead, else when it was received.
func AlarmEvent(a AlarmReport, proto byte, d tracker.Device, receivedAt time.Time) tracker.Event {
	at := a.Time
	if at.IsZero() || at.After(receivedAt.Add(maxAlarmAhead)) {
		at = receivedAt.UTC()
	}
	flags := a.Flags
	if flags == nil {
		flags = []string{}
	}
	ev := tracker.Event{Type: tracker.EventDeviceAlarm, Time: at, VehicleID: d.VehicleID, Attrs: map[string]any{
		"device_id": d.ID, "protocol": tracker.ProtocolGT06, "message": fmt.Sprintf("0x%02X", proto),
		"flags": flags, "alarm_code": a.Code}}
	if a.HasLBS {
		putCell(ev.Attrs, a.LBS)
	}
	return ev
}

// putCell puts the serving cell l in attrs.
func putCell(attrs map[string]any, l LBS) {
	attrs["mcc"], attrs["mnc"], attrs["lac"] = int(l.MCC), int(l.MNC), int(l.LAC)
	if id := l.CellID; id <= 1<<53 {
		attrs["cell_id"] = int(id)
	} else { // beyond what a stored number keeps exactly
		attrs["cell_id"] = strconv.FormatUint(id, 10)
	}
}

// unknown counts and logs a packet of a protocol this package does not know. Like Traccar, it
// answers a short one with the generic acknowledgement, which keeps a device from resending
// what it expects an answer to, except command answers (0x80–0x82), which expect none.
func (c *conn) unknown(p Packet) bool {
	id := fmt.Sprintf("0x%02x", p.Protocol)
	c.s.m.reject("unsupported")
	c.s.m.unknown.WithLabelValues(id).Inc()
	c.log.Debug("unknown packet", "protocol", id, "imei", c.sess.device.ID, "extended", p.Extended, "bytes", len(p.Content))
	if !c.sess.in || p.Extended || (p.Protocol >= 0x80 && p.Protocol <= 0x82) {
		return true
	}
	return c.ack(p)
}

func (c *conn) login(ctx context.Context, p Packet) bool {
	m := c.s.m
	l, err := DecodeLogin(p)
	if err != nil {
		m.reject(ReasonMalformed)
		c.log.Debug("bad login packet", "err", err)
		return true
	}
	dev, err := c.s.cfg.Admission.Admit(ctx, tracker.ProtocolGT06, l.IMEI)
	switch {
	case errors.Is(err, tracker.ErrUnknownDevice), errors.Is(err, tracker.ErrWrongProtocol):
		m.reject("unknown_device")
		c.log.Info("login refused", "imei", l.IMEI, "err", err)
		return false
	case err != nil:
		// The registry is unavailable: close, the tracker logs in again later.
		c.log.Warn("login failed", "imei", l.IMEI, "err", err)
		return false
	}
	if c.sess.device.ID != dev.ID {
		c.s.live.Release(c.sess.live)
		c.sess = session{}
	}
	live := c.s.live.Claim(ctx, dev.ID, dev.VehicleID, c.c)
	if live == nil {
		m.reject("duplicate_session")
		return false // the first session is kept; this one gets no acknowledgement
	}
	c.sess = session{device: dev, zone: l.Zone, in: true, live: live}
	c.device = c.s.gate.Rebind(c.device, dev.ID)
	c.log.Debug("logged in", "imei", l.IMEI, "vehicle", dev.VehicleID)
	return c.ack(p)
}

// answer sends what p's protocol expects once p is handled: nothing for the plain GPS
// packets, the acknowledgement otherwise, extended where the model sends its packet extended.
func (c *conn) answer(p Packet) bool {
	switch p.Protocol {
	case ProtoGPS, ProtoGPSLBS, ProtoGPSLBS2, ProtoText, ProtoGPSX1, ProtoGPSLBS8:
		return true
	case ProtoGPSLBSStatus4, ProtoAlarmAZ735:
		if p.Extended {
			return c.write(AppendFrame(c.out[:0], Packet{Extended: true, Protocol: p.Protocol, Serial: p.Serial}))
		}
	}
	return c.ack(p)
}

func (c *conn) ack(p Packet) bool {
	return c.write(AppendAck(c.out[:0], p.Protocol, p.Serial))
}

func (c *conn) write(b []byte) bool {
	c.out = b
	if _, err := c.c.Write(b); err != nil {
		c.log.Debug("write failed", "err", err)
		return false
	}
	return true
}

// ToFix turns a decoded location of device d into a fix received at receivedAt.
func ToFix(l Location, d tracker.Device, receivedAt time.Time) tracker.Fix {
	f := tracker.Fix{
		VehicleID:  d.VehicleID,
		DeviceID:   d.ID,
		Protocol:   tracker.ProtocolGT06,
		Time:       l.Time,
		ReceivedAt: receivedAt.UTC(),
		Lat:        l.Lat,
		Lon:        l.Lon,
		SpeedKmh:   float64(l.SpeedKmh),
		Heading:    float64(l.Course),
		AltitudeM:  l.AltitudeM,
		Valid:      l.Positioned,
		Attrs:      map[string]any{"satellites": l.Satellites},
	}
	if l.HasStatus {
		f.Flags = l.Status.Flags()
		switch v := l.Status.Voltage; {
		case v <= 6:
			f.Attrs["voltage_level"] = int(v)
		case v <= 100: // models that send their battery in percent
			f.Attrs["battery_pct"] = int(v)
		}
		f.Attrs["gsm_signal"] = int(l.Status.GSMSignal)
		if l.Status.Alarm != AlarmNone {
			f.Attrs["alarm_code"] = int(l.Status.Alarm)
		}
	}
	for _, name := range l.Flags {
		if !f.HasFlag(name) {
			f.Flags = append(f.Flags, name)
		}
	}
	if l.ACCValid && l.ACC && !f.HasFlag("acc_on") {
		f.Flags = append(f.Flags, "acc_on")
	}
	if f.Flags == nil {
		f.Flags = []string{}
	}
	if l.HasLBS {
		putCell(f.Attrs, l.LBS)
	}
	for k, v := range l.Attrs {
		f.Attrs[k] = v
	}
	return f
}
