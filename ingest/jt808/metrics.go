package jt808

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/gateway"
	"github.com/borderwatch/borderwatch/tracker"
)

// Reasons of bw_frames_rejected_total.
const (
	reasonChecksum        = "checksum"
	reasonTooLarge        = "too_large"
	reasonMalformed       = "malformed"
	reasonUnsupported     = "unsupported"
	reasonUnknownDevice   = "unknown_device"
	reasonUnauthenticated = "unauthenticated"
	reasonFragment        = "fragment_dropped"
)

// knownIDs get their own msg_id label; every other id counts as "other", so a device sending
// random ids cannot blow up the label set.
var knownIDs = [...]uint16{MsgTerminalResponse, MsgHeartbeat, MsgLogout, MsgRegister, MsgAuth, MsgLocation, MsgBatch,
	MsgLocationReply, MsgLocationList, MsgPassThrough, MsgWaybill, MsgDriverIdentity}

// metrics are the terminals' series; the connections' are the gateway server's.
type metrics struct {
	rejected *prometheus.CounterVec
	// ackSecs: from the read that brought frames to the write of their replies, the
	// gateway's share of a terminal's wait for its acknowledgement.
	ackSecs prometheus.Histogram
	// Counters looked up once, not per frame.
	frameByID   map[uint16]prometheus.Counter
	otherFrames prometheus.Counter
	locations   prometheus.Counter // frames of 0x0200, added once per read
	rejectBy    map[string]prometheus.Counter
}

var rejectReasons = [...]string{reasonChecksum, reasonTooLarge, reasonMalformed, reasonUnsupported,
	reasonUnknownDevice, reasonUnauthenticated, reasonFragment}

// newMetrics creates the gateway's metrics with the constant label protocol="jt808" and
// registers them on reg (when not nil). The other gateways register the same names with their
// own protocol label; the help texts must therefore match theirs.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	labels := prometheus.Labels{"protocol": tracker.ProtocolJT808}
	frames := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_frames_total", Help: "Frames received from devices, by message id.", ConstLabels: labels},
		[]string{"msg_id"})
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bw_frames_rejected_total", Help: "Device frames dropped or refused, by reason.", ConstLabels: labels},
		[]string{"reason"})
	ackSecs := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "bw_ack_seconds", Help: "Time from reading a device's frames to writing their replies (fixes stored first).", ConstLabels: labels,
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m := &metrics{frameByID: make(map[uint16]prometheus.Counter, len(knownIDs)),
		rejectBy: make(map[string]prometheus.Counter, len(rejectReasons))}
	var err error
	if frames, err = gateway.Register(reg, frames); err != nil {
		return nil, err
	}
	if m.rejected, err = gateway.Register(reg, rejected); err != nil {
		return nil, err
	}
	if m.ackSecs, err = gateway.Register(reg, ackSecs); err != nil {
		return nil, err
	}
	for _, id := range knownIDs {
		m.frameByID[id] = frames.WithLabelValues(fmt.Sprintf("0x%04x", id))
	}
	m.otherFrames = frames.WithLabelValues("other")
	m.locations = m.frameByID[MsgLocation]
	for _, r := range rejectReasons {
		m.rejectBy[r] = m.rejected.WithLabelValues(r)
	}
	return m, nil
}

func (m *metrics) frame(id uint16) {
	if c, ok := m.frameByID[id]; ok {
		c.Inc()
		return
	}
	m.otherFrames.Inc()
}

func (m *metrics) reject(reason string) { m.rejectBy[reason].Inc() }
