package ratelimit

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/gateway"
)

// ReasonRateLimited labels bw_frames_rejected_total and bw_connections_closed_total.
const ReasonRateLimited = "rate_limited"

// Gate applies a Limiter's limits for one gateway: it counts refusals and closed connections
// under the gateway's protocol label and writes the log lines, themselves limited so a flood
// cannot flood the log. A nil Gate admits everything.
type Gate struct {
	l         *Limiter
	log       *slog.Logger
	rejected  prometheus.Counter
	closed    prometheus.Counter
	refuseLog gateway.Sampler
	closeLog  gateway.Sampler
}

// Gate returns the gate of protocol's gateway, or nil when l is nil. Its metrics join the
// gateway's own series of the same names on reg (nil: not exported).
func (l *Limiter) Gate(protocol string, log *slog.Logger, reg prometheus.Registerer) (*Gate, error) {
	if l == nil {
		return nil, nil
	}
	if log == nil {
		log = slog.Default()
	}
	labels := prometheus.Labels{"protocol": protocol}
	rejected, err := gateway.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_frames_rejected_total", Help: "Device frames dropped or refused, by reason.", ConstLabels: labels,
	}, []string{"reason"}))
	if err != nil {
		return nil, fmt.Errorf("ratelimit: metrics: %w", err)
	}
	closed, err := gateway.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_connections_closed_total", Help: "Device connections the server closed, by reason.", ConstLabels: labels,
	}, []string{"reason"}))
	if err != nil {
		return nil, fmt.Errorf("ratelimit: metrics: %w", err)
	}
	return &Gate{
		l:        l,
		log:      log,
		rejected: rejected.WithLabelValues(ReasonRateLimited),
		closed:   closed.WithLabelValues(ReasonRateLimited),
	}, nil
}

// Frame draws one frame from a connection's bucket. remote and device only name the
// connection in the log line of a refusal.
func (g *Gate) Frame(b *Bucket, remote any, device string) Verdict {
	if g == nil || !g.l.conn.Enabled() {
		return Allow
	}
	now := g.l.now()
	v := b.take(g.l.conn, now, 1)
	if v != Allow {
		g.over(v, "frames", g.l.conn, b.avgRate(now), remote, device)
	}
	return v
}

// Acquire returns the bucket of device id, shared with its other connections, or nil when
// devices are not limited. Release it when done.
func (g *Gate) Acquire(id string) *Device {
	if g == nil || !g.l.device.Enabled() {
		return nil
	}
	return g.l.acquire(id)
}

// Release gives back a device's bucket; nil is allowed.
func (g *Gate) Release(d *Device) {
	if d != nil {
		g.l.release(d)
	}
}

// Rebind returns the bucket of device id, releasing d when it belongs to another device: a
// connection that reports under a new identity is limited as that device.
func (g *Gate) Rebind(d *Device, id string) *Device {
	if d != nil && d.id == id {
		return d
	}
	g.Release(d)
	return g.Acquire(id)
}

// Fixes draws n fixes from a device's bucket (nil: unlimited), all or none.
func (g *Gate) Fixes(d *Device, n int, remote any) Verdict {
	if d == nil {
		return Allow
	}
	now := g.l.now()
	d.mu.Lock()
	v := d.b.take(g.l.device, now, n)
	var rate float64
	if v != Allow {
		rate = d.b.avgRate(now)
	}
	d.mu.Unlock()
	if v != Allow {
		g.over(v, "fixes", g.l.device, rate, remote, d.id)
	}
	return v
}

// FrameWait is how long until the connection's bucket admits a frame again.
func (g *Gate) FrameWait(b *Bucket) time.Duration {
	if g == nil || !g.l.conn.Enabled() {
		return 0
	}
	return b.wait(g.l.conn, g.l.now(), 1)
}

// FixWait is how long until the device's bucket admits n fixes again.
func (g *Gate) FixWait(d *Device, n int) time.Duration {
	if d == nil {
		return 0
	}
	now := g.l.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.b.wait(g.l.device, now, n)
}

func (g *Gate) over(v Verdict, what string, l Limit, rate float64, remote any, device string) {
	g.rejected.Inc()
	if v == Close {
		g.closed.Inc()
		if ok, suppressed := g.closeLog.Allow(); ok {
			g.log.Warn("closing connection: "+what+" over the rate limit, sustained",
				"device", device, "remote", remote, "rate", fmt.Sprintf("%.1f/s", rate), "limit", l.String(),
				"suppressed", suppressed)
		}
		return
	}
	if ok, suppressed := g.refuseLog.Allow(); ok {
		g.log.Info(what+" over the rate limit refused", "device", device, "remote", remote,
			"rate", fmt.Sprintf("%.1f/s", rate), "limit", l.String(), "suppressed", suppressed)
	}
}
