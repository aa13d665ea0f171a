package gateway

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons of bw_connections_refused_total.
const (
	ReasonMaxConns        = "max_conns"
	ReasonMaxConnsPerAddr = "max_conns_per_addr"
)

// metrics are a server's series. Every gateway registers the same names with its protocol as
// a constant label, so the help texts must match theirs.
type metrics struct {
	conns   prometheus.Gauge
	refused *prometheus.CounterVec // reason
	panics  prometheus.Counter
}

func newMetrics(protocol string, reg prometheus.Registerer) (*metrics, error) {
	labels := prometheus.Labels{"protocol": protocol}
	m := &metrics{
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bw_connections", Help: "Open device connections.", ConstLabels: labels}),
		refused: newRefused(protocol),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bw_gateway_panics_total", Help: "Device connections closed by a recovered panic.", ConstLabels: labels}),
	}
	var err error
	if m.conns, err = Register(reg, m.conns); err != nil {
		return nil, err
	}
	if m.refused, err = Register(reg, m.refused); err != nil {
		return nil, err
	}
	if m.panics, err = Register(reg, m.panics); err != nil {
		return nil, err
	}
	return m, nil
}

func newRefused(protocol string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_connections_refused_total", Help: "Device connections refused, by reason.",
		ConstLabels: prometheus.Labels{"protocol": protocol},
	}, []string{"reason"})
}

// Register registers c on reg, or returns the equal collector registered before: the gateways
// of the protocols register the same names under their own protocol label, and a second server
// of one protocol on a registry shares the first one's series. A nil reg registers nothing.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
