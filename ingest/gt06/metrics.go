package gt06

import (
	"errors"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus series. Every gateway registers the same metric names
// with its protocol as a constant label, so the series of several gateways can live on one
// registry; the help strings are shared for the same reason.
type metrics struct {
	connections prometheus.Gauge
	frames      *prometheus.CounterVec // msg
	rejected    *prometheus.CounterVec // reason
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	l := prometheus.Labels{"protocol": tracker.ProtocolGT06}
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bw_connections", Help: "Open device connections.", ConstLabels: l,
		}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_frames_total", Help: "Device frames received, by message kind.", ConstLabels: l,
		}, []string{"msg"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_frames_rejected_total", Help: "Device frames rejected, by reason.", ConstLabels: l,
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.connections, err = register(reg, m.connections); err != nil {
		return nil, err
	}
	if m.frames, err = register(reg, m.frames); err != nil {
		return nil, err
	}
	if m.rejected, err = register(reg, m.rejected); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the equal collector already registered (a second server of
// the same protocol on one registry shares the first one's series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
