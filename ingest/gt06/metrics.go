package gt06

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/tracker"
)

// metrics are the gateway's Prometheus series. Every gateway registers the same names with
// its protocol as a constant label, so their series share one registry; names, label names
// and help texts therefore match ingest/jt808's.
type metrics struct {
	connections prometheus.Gauge
	refused     *prometheus.CounterVec // reason
	frames      *prometheus.CounterVec // msg_id
	rejected    *prometheus.CounterVec // reason
	panics      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	l := prometheus.Labels{"protocol": tracker.ProtocolGT06}
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bw_connections", Help: "Open device connections.", ConstLabels: l,
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_connections_refused_total", Help: "Device connections refused, by reason.", ConstLabels: l,
		}, []string{"reason"}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_frames_total", Help: "Frames received from devices, by message id.", ConstLabels: l,
		}, []string{"msg_id"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_frames_rejected_total", Help: "Device frames dropped or refused, by reason.", ConstLabels: l,
		}, []string{"reason"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bw_gateway_panics_total", Help: "Device connections closed by a recovered panic.", ConstLabels: l,
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.connections, err = register(reg, m.connections); err != nil {
		return nil, err
	}
	if m.refused, err = register(reg, m.refused); err != nil {
		return nil, err
	}
	if m.frames, err = register(reg, m.frames); err != nil {
		return nil, err
	}
	if m.rejected, err = register(reg, m.rejected); err != nil {
		return nil, err
	}
	if m.panics, err = register(reg, m.panics); err != nil {
		return nil, err
	}
	return m, nil
}

// frame counts a received packet; protocols this package does not know count as "other" so
// a device sending random numbers cannot blow up the label set.
func (m *metrics) frame(protocol byte) {
	id := "other"
	switch protocol {
	case ProtoLogin, ProtoGPS, ProtoGPSLBS, ProtoStatus, ProtoAlarm, ProtoGPSLBS2, ProtoAlarm2:
		id = fmt.Sprintf("0x%02x", protocol)
	}
	m.frames.WithLabelValues(id).Inc()
}

func (m *metrics) reject(reason string) { m.rejected.WithLabelValues(reason).Inc() }

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
