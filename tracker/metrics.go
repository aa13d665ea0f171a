package tracker

import "github.com/prometheus/client_golang/prometheus"

// pipelineMetrics are what an operator watches on the ingest path.
type pipelineMetrics struct {
	received    *prometheus.CounterVec
	stored      prometheus.Counter
	duplicates  prometheus.Counter
	rejected    *prometheus.CounterVec
	late        prometheus.Counter
	flagged     *prometheus.CounterVec
	merged      prometheus.Counter
	events      *prometheus.CounterVec
	alerts      *prometheus.CounterVec
	commitSecs  prometheus.Histogram
	batchFixes  prometheus.Histogram
	queueDepth  prometheus.GaugeFunc
	backlog     prometheus.GaugeFunc
	deferred    prometheus.Counter
	storeErrors prometheus.Counter
}

func newPipelineMetrics(reg prometheus.Registerer, depth, backlog func() float64) *pipelineMetrics {
	m := &pipelineMetrics{
		received:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_fixes_received_total", Help: "Fixes handed to the pipeline by gateways."}, []string{"protocol"}),
		stored:      prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_fixes_stored_total", Help: "Fixes durably stored."}),
		duplicates:  prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_fixes_duplicate_total", Help: "Retransmitted fixes (same device, device time and report) acknowledged but stored and evaluated once."}),
		rejected:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_fixes_rejected_total", Help: "Fixes refused, by reason."}, []string{"reason"}),
		late:        prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_fixes_late_total", Help: "Fixes older than the vehicle's newest fix, inserted in time order."}),
		flagged:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_fixes_flagged_total", Help: "Fixes stored with a hygiene flag (e.g. jump, conflict)."}, []string{"flag"}),
		merged:      prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_fixes_merged_total", Help: "Reports of a known device time at the same position with more flags or attributes, stored merged and evaluated."}),
		events:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_events_total", Help: "Events stored, by type."}, []string{"type"}),
		alerts:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_alert_changes_total", Help: "Alerts raised or updated, by type."}, []string{"type"}),
		commitSecs:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bw_store_commit_seconds", Help: "Latency of one group commit.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		batchFixes:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bw_store_batch_fixes", Help: "Fixes per group commit.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		queueDepth:  prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bw_pipeline_queue_depth", Help: "Submissions waiting for the store writer."}, depth),
		backlog:     prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bw_pipeline_backlog_fixes", Help: "Fixes evaluated and not yet written (retried while the store fails)."}, backlog),
		deferred:    prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_fixes_deferred_total", Help: "Fixes turned away unevaluated, unacknowledged, because the write backlog was full."}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_store_commit_errors_total", Help: "Group commit attempts that failed (their fixes were not acknowledged and are retried)."}),
	}
	if reg != nil {
		reg.MustRegister(m.received, m.stored, m.duplicates, m.rejected, m.late, m.flagged, m.merged, m.events, m.alerts, m.commitSecs, m.batchFixes, m.queueDepth, m.backlog, m.deferred, m.storeErrors)
	}
	return m
}
