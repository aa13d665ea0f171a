package gt06

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/gateway"
	"github.com/borderwatch/borderwatch/tracker"
)

// metrics are the trackers' Prometheus series; the connections' are the gateway server's.
// Every gateway registers the same names with its protocol as a constant label, so their series
// share one registry; names, label names and help texts therefore match ingest/jt808's.
type metrics struct {
	frames   *prometheus.CounterVec // msg_id
	rejected *prometheus.CounterVec // reason
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	l := prometheus.Labels{"protocol": tracker.ProtocolGT06}
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
