package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/tracker"
)

// Actions of bw_gateway_duplicate_sessions_total.
const (
	ActionRefused  = "refused"  // a second address: the first session is kept
	ActionReplaced = "replaced" // the same address: the new connection replaces the old
)

// Alerter stores alerts; tracker.Pipeline is one.
type Alerter interface {
	Emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error
}

// conflictAlertEvery: one device_conflict alert per device in this period, however often its
// sessions collide.
const conflictAlertEvery = time.Hour

// Sessions holds the live session of every device of one protocol, so that one device is
// served by one connection. A device claimed again from the address of its live session
// replaces it (a terminal reconnecting while its old connection is half dead); from another
// address it is refused and the first is kept: a clone or an impostor must not take over a
// truck, and an officer is told (tracker.AlertDeviceConflict).
type Sessions struct {
	protocol string
	log      *slog.Logger
	alerts   Alerter // nil: conflicts are logged and counted only
	counts   *prometheus.CounterVec
	now      func() time.Time

	mu      sync.Mutex
	live    map[string]*Session
	alerted map[string]time.Time // devices alerted on, and when
}

// Session is a device's claim on a connection.
type Session struct {
	device string
	nc     net.Conn
	addr   netip.Addr
	since  time.Time
}

// NewSessions makes the session table of a protocol's gateway and registers its counter.
func NewSessions(protocol string, log *slog.Logger, alerts Alerter, reg prometheus.Registerer) (*Sessions, error) {
	if log == nil {
		log = slog.Default()
	}
	counts, err := Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_gateway_duplicate_sessions_total", Help: "Second live connections of one device, by what was done: refused (another address) or replaced (the same).",
		ConstLabels: prometheus.Labels{"protocol": protocol},
	}, []string{"action"}))
	if err != nil {
		return nil, fmt.Errorf("%s: metrics: %w", protocol, err)
	}
	return &Sessions{protocol: protocol, log: log.With("protocol", protocol), alerts: alerts, counts: counts, now: time.Now,
		live: make(map[string]*Session), alerted: make(map[string]time.Time)}, nil
}

// Claim makes nc the live session of device (reporting for vehicle) and returns it, or nil when
// the device is live on a connection from another address. A claim of the device live on nc
// returns that session; a claim from the live session's address closes the old connection.
// The caller releases what it claimed when nc ends, and before claiming another device on it.
func (s *Sessions) Claim(ctx context.Context, device, vehicle string, nc net.Conn) *Session {
	now := s.now()
	sess := &Session{device: device, nc: nc, addr: remoteIP(nc), since: now}
	s.mu.Lock()
	old := s.live[device]
	switch {
	case old == nil:
		s.live[device] = sess
		s.mu.Unlock()
		return sess
	case old.nc == nc:
		s.mu.Unlock()
		return old
	case old.addr == sess.addr:
		s.live[device] = sess
		s.mu.Unlock()
		s.counts.WithLabelValues(ActionReplaced).Inc()
		s.log.Info("device reconnected from the same address: old connection closed", "device", device,
			"remote", nc.RemoteAddr().String(), "old_since", old.since)
		old.nc.Close()
		return sess
	}
	last, alerted := s.alerted[device]
	raise := !alerted || now.Sub(last) >= conflictAlertEvery
	if raise {
		s.alerted[device] = now
		for d, t := range s.alerted { // few: only devices in conflict within the hour
			if now.Sub(t) >= conflictAlertEvery {
				delete(s.alerted, d)
			}
		}
	}
	s.mu.Unlock()
	s.counts.WithLabelValues(ActionRefused).Inc()
	s.log.Warn("device already connected from another address: second connection refused", "device", device,
		"remote", nc.RemoteAddr().String(), "live_remote", old.nc.RemoteAddr().String(), "live_since", old.since)
	if raise && s.alerts != nil {
		if err := s.alerts.Emit(ctx, nil, []tracker.Alert{s.conflict(device, vehicle, old, nc, now)}); err != nil {
			s.log.Warn("device conflict alert", "device", device, "err", err)
			s.mu.Lock()
			delete(s.alerted, device) // the next conflict tries again
			s.mu.Unlock()
		}
	}
	return nil
}

// Release ends sess unless another connection has replaced it; nil is a no-op.
func (s *Sessions) Release(sess *Session) {
	if sess == nil {
		return
	}
	s.mu.Lock()
	if s.live[sess.device] == sess {
		delete(s.live, sess.device)
	}
	s.mu.Unlock()
}

func (s *Sessions) conflict(device, vehicle string, live *Session, second net.Conn, now time.Time) tracker.Alert {
	evidence, err := json.Marshal(map[string]any{
		"device_id": device,
		"protocol":  s.protocol,
		"first":     map[string]any{"remote": live.nc.RemoteAddr().String(), "since": live.since.UTC()},
		"second":    map[string]any{"remote": second.RemoteAddr().String(), "at": now.UTC()},
		"action":    "second connection refused, first kept",
	})
	if err != nil {
		s.log.Error("device conflict evidence", "err", err) // strings and times only: cannot happen
	}
	return tracker.Alert{
		Type:      tracker.AlertDeviceConflict,
		Severity:  tracker.SeverityCritical,
		Status:    tracker.StatusOpen,
		VehicleID: vehicle,
		Time:      now.UTC(),
		UpdatedAt: now.UTC(),
		Message: fmt.Sprintf("device %s connected from %s while connected from %s: a cloned device or an impostor",
			device, second.RemoteAddr(), live.nc.RemoteAddr()),
		DedupKey: tracker.AlertDeviceConflict + ":session:" + device + ":" + now.UTC().Truncate(time.Hour).Format("2006-01-02T15"),
		Active:   true,
		Evidence: evidence,
	}
}
