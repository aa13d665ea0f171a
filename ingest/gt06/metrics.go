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
	unknown  *prometheus.CounterVec // msg_id
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
		// GT06's own: which protocol numbers devices send that this package does not know
		// (256 at most).
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_gt06_unknown_messages_total", Help: "GT06 packets of a protocol number the gateway does not know, by number.", ConstLabels: l,
		}, []string{"msg_id"}),
	}
	var err error
	if m.frames, err = gateway.Register(reg, m.frames); err != nil {
		return nil, err
	}
	if m.rejected, err = gateway.Register(reg, m.rejected); err != nil {
		return nil, err
	}
	if m.unknown, err = gateway.Register(reg, m.unknown); err != nil {
		return nil, err
	}
	return m, nil
}

// frame counts a received packet; protocols this package does not know count as "other" so
// a device sending random numbers cannot blow up the label set.
func (m *metrics) frame(protocol byte) {
	id := "other"
	if known(protocol) {
		id = fmt.Sprintf("0x%02x", protocol)
	}
	m.frames.WithLabelValues(id).Inc()
}

// known reports whether the server handles protocol.
func known(protocol byte) bool {
	switch protocol {
	case ProtoLogin, ProtoStatus, ProtoHeartbeat, ProtoTime, ProtoInfo, ProtoLBS4G, ProtoLBSAlarm, ProtoLBSAlarm4G:
		return true
	}
	return IsLocation(protocol)
}

func (m *metrics) reject(reason string) { m.rejected.WithLabelValues(reason).Inc() }
