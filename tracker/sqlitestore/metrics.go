package sqlitestore

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are what an operator watches of the embedded store beyond the pipeline's commit
// latency: how much sits in memory waiting for a flush, and how the flushes go.
type metrics struct {
	flushSecs       prometheus.Histogram
	flushed         prometheus.Counter
	flushFails      prometheus.Counter
	checkpointFails prometheus.Counter
	corruptRecords  prometheus.Counter
	corruptBytes    prometheus.Counter
	roomWait        prometheus.Counter
}

func (s *Store) registerMetrics(reg prometheus.Registerer) error {
	s.m = metrics{
		flushSecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bw_sqlite_flush_seconds",
			Help: "Duration of one flush of in-memory heads into chunks.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		flushed: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_sqlite_flushed_fixes_total",
			Help: "Fixes moved from in-memory heads into chunks."}),
		flushFails: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_sqlite_flush_errors_total",
			Help: "Flushes that failed (their fixes stay in memory and in the fix log, and are retried)."}),
		checkpointFails: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_sqlite_checkpoint_errors_total",
			Help: "WAL checkpoints that failed (retried every second; SQLite's WAL grows meanwhile)."}),
		corruptRecords: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_sqlite_fixlog_corrupt_records_total",
			Help: "Fix log records found damaged when the store opened: written whole, unreadable, their fixes lost."}),
		corruptBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_sqlite_fixlog_corrupt_bytes_total",
			Help: "Bytes of the fix log skipped as damaged when the store opened (torn writes at segment ends not included)."}),
		roomWait: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_sqlite_unflushed_full_seconds_total",
			Help: "Time commits waited because unflushed fixes filled their memory (BW_MAX_UNFLUSHED_MB) until a flush relieved it."}),
	}
	if reg == nil {
		return nil
	}
	heads := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bw_sqlite_head_fixes",
		Help: "Fixes held in memory (and in the fix log) until a flush moves them into chunks."},
		func() float64 {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return float64(s.headFixes)
		})
	headBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bw_sqlite_head_bytes",
		Help: "Memory of the fixes waiting in memory for a flush, bounded by BW_MAX_UNFLUSHED_MB."},
		func() float64 {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return float64(s.headBytes)
		})
	segments := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bw_sqlite_log_segments",
		Help: "Fix log segment files on disk, the one being written included."},
		func() float64 {
			s.commitMu.Lock()
			defer s.commitMu.Unlock()
			return float64(len(s.log.closed) + 1)
		})
	for _, c := range []prometheus.Collector{s.m.flushSecs, s.m.flushed, s.m.flushFails, s.m.checkpointFails, s.m.corruptRecords, s.m.corruptBytes, s.m.roomWait, heads, headBytes, segments} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("sqlitestore: metrics: %w", err)
		}
	}
	return nil
}
