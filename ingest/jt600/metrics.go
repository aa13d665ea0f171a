package jt600

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/gateway"
	"github.com/borderwatch/borderwatch/tracker"
)

// metrics are the devices' Prometheus series; the connections' are the gateway server's.
// Names, label names and help texts match the other gateways', whose series share a registry.
type metrics struct {
	frames   *prometheus.CounterVec // msg_id: the report kind
	rejected *prometheus.CounterVec // reason
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	l := prometheus.Labels{"protocol": tracker.ProtocolJT600}
	m := &metrics{
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_frames_total", Help: "Frames received from devices, by message id.", ConstLabels: l,
		}, []string{"msg_id"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_frames_rejected_total", Help: "Device frames dropped or refused, by reason.", ConstLabels: l,
		}, []string{"reason"}),
	}
	var err error
	if m.frames, err = gateway.Register(reg, m.frames); err != nil {
		return nil, err
	}
	if m.rejected, err = gateway.Register(reg, m.rejected); err != nil {
		return nil, err
	}
	return m, nil
}

// frame counts a decoded report by kind: a fixed set of labels whatever devices send.
func (m *metrics) frame(kind string) { m.frames.WithLabelValues(kind).Inc() }

func (m *metrics) reject(reason string) { m.rejected.WithLabelValues(reason).Inc() }
