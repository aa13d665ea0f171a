package osmand

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/gateway"
	"github.com/borderwatch/borderwatch/tracker"
)

// metrics are the handler's Prometheus series. Every gateway registers the same metric
// names with its protocol as a constant label and the same help strings, so the gateways'
// series can live on one registry.
type metrics struct {
	requests *prometheus.CounterVec // code
	rejected *prometheus.CounterVec // reason
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	l := prometheus.Labels{"protocol": tracker.ProtocolOsmAnd}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_http_requests_total", Help: "Device HTTP requests, by status code.", ConstLabels: l,
		}, []string{"code"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bw_frames_rejected_total", Help: "Device frames dropped or refused, by reason.", ConstLabels: l,
		}, []string{"reason"}),
	}
	var err error
	if m.requests, err = gateway.Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.rejected, err = gateway.Register(reg, m.rejected); err != nil {
		return nil, err
	}
	return m, nil
}
