package cluster

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	published     prometheus.Counter
	publishErrors prometheus.Counter
	publishSecs   prometheus.Histogram
	consumed      prometheus.Counter
	replayed      prometheus.Counter
	undecodable   prometheus.Counter
	owned         prometheus.Gauge
	changes       *prometheus.CounterVec
	takeoverSecs  prometheus.Histogram
	lag           *prometheus.GaugeVec
	liveDropped   prometheus.Counter
	logApplied    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published:     prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_cluster_fixes_published_total", Help: "Fixes a gateway published and JetStream stored (the device may then be acknowledged)."}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_cluster_publish_errors_total", Help: "Publications JetStream did not confirm: nothing was acknowledged to the device."}),
		publishSecs:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bw_cluster_publish_seconds", Help: "From publishing a gateway's fixes to JetStream's acknowledgement (replicated).", Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16)}),
		consumed:      prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_cluster_fixes_consumed_total", Help: "Fixes a tracker took from its partitions, stored and acknowledged."}),
		replayed:      prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_cluster_fixes_replayed_total", Help: "Fixes replayed (evaluated, not stored) to rebuild the state of partitions taken over."}),
		undecodable:   prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_cluster_messages_undecodable_total", Help: "Messages on the fix subjects that were not a list of fixes, skipped."}),
		owned:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "bw_cluster_partitions_owned", Help: "Partitions this tracker holds a lease on."}),
		changes:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_cluster_partition_changes_total", Help: "Partition ownership changes of this tracker: acquired, released (fair share, shutdown), lost (lease taken or not renewed)."}, []string{"change"}),
		takeoverSecs:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bw_cluster_takeover_seconds", Help: "Taking a partition over: reading the previous owner's position, replaying, seeding.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		lag:           prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bw_cluster_consumer_lag", Help: "Fixes messages waiting in the partition's consumer, by partition owned here."}, []string{"partition"}),
		liveDropped:   prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_cluster_live_dropped_total", Help: "Live updates not published on NATS (disconnected); the store has them."}),
	}
	m.logApplied = prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_cluster_change_log_applied_total", Help: "Zone, declaration and vehicle edits applied from the store's change log (the backstop to the change notices; most were applied from their notice already)."})
	if reg != nil {
		reg.MustRegister(m.logApplied)
		reg.MustRegister(m.published, m.publishErrors, m.publishSecs, m.consumed, m.replayed, m.undecodable, m.owned, m.changes, m.takeoverSecs, m.lag, m.liveDropped)
	}
	return m
}
