// Package sqlitestore is BorderWatch's embedded store: one SQLite file (pure Go, WAL) in the
// data directory, and beside it the fix log (<file>.wal/). Fixes are written to the log and kept
// in memory until a background flush packs them into chunks in SQLite (see fixes.go); everything
// else is SQLite. One connection writes; reads use a pool of their own.
package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options tune durability.
type Options struct {
	// SyncEveryCommit fdatasyncs the fix log on every commit and fsyncs SQLite's WAL
	// (synchronous=FULL): an acknowledged fix then survives power loss, not only a process crash.
	SyncEveryCommit bool
	// Logger receives the store's warnings (failed flushes, torn log records); nil is slog.Default().
	Logger *slog.Logger
	// Registerer, if set, gets the store's metrics (bw_sqlite_*).
	Registerer prometheus.Registerer
	// MaxUnflushedBytes bounds the memory of fixes waiting in heads for a flush (default
	// 256 MiB). From three quarters of it a flush takes the heads begun longest ago down to
	// half; at it, a Commit waits for that flush before adding fixes (see waitForRoom).
	MaxUnflushedBytes int64
}

// DefaultMaxUnflushedBytes is Options.MaxUnflushedBytes when it is 0.
const DefaultMaxUnflushedBytes = 256 << 20

// Store is the embedded store.
type Store struct {
	w      *sql.DB // exactly one connection: SQLite has one writer
	r      *sql.DB
	log    *fixLog
	logger *slog.Logger
	m      metrics
	lock   *os.File // <db>.lock, flocked while the store is open

	// commitMu orders Commits (LSNs, IDs) and lets a flush cut heads between two of them.
	commitMu sync.Mutex
	closed   bool
	nextLSN  uint64
	scratch  []byte // Commit's encoded fix data
	ends     []int
	frame    []byte // Commit's log record
	touched  []touchedSeries
	added    []addedFix

	// mu guards the heads and IDs; readers take it briefly to copy.
	mu        sync.RWMutex
	series    map[string]*series
	active    []*series // those with a head: a flush looks at these, not at every vehicle
	nextID    int64     // the next fix ID to give
	durable   int64     // fixes with lower IDs are written; higher ones belong to the Commit in flight
	headFixes int
	headBytes int64 // memory of heads and of the flush in progress, as series.bytes counts it
	// relieved is closed, and replaced, when a flush ends; flushErr is that flush's error.
	// Commits waiting for room (waitForRoom) watch them.
	relieved chan struct{}
	flushErr error

	// flushMu lets a read see memory and chunks at one moment: a flush holds it while its
	// chunks become visible and its cuts leave memory.
	flushMu sync.RWMutex

	// bufs recycles the arrays of written heads.
	bufs headBufs

	// flushRun lets one flush run at a time: the flusher's, Flush's or Close's.
	flushRun sync.Mutex
	// Owned by the flush.
	flushedLSN uint64 // meta.flushed_lsn as last written

	chunkFixes, chunkMax int
	maxHeadBytes         int64
	headAge, flushEvery  time.Duration

	flushReq                   chan struct{}
	stop, stopped, flusherDone chan struct{}

	// backupHook, set only by tests, runs in Backup between opening the segments and copying
	// the database.
	backupHook func()
}

// checkpoint copies the WAL into the database from a reader connection, off the writer's path:
// a checkpoint inside a commit (SQLite's default) makes that commit wait for an fsync of the
// database file, and every device in that group commit waits with it.
func (s *Store) checkpoint() {
	defer close(s.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if _, err := s.r.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
				s.m.checkpointFails.Inc()
				s.logger.Warn("WAL checkpoint failed; the WAL grows until one succeeds", "err", err)
			}
		}
	}
}

// Open opens or creates the database at path and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	sync := "NORMAL"
	if opts.SyncEveryCommit {
		sync = "FULL"
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	lock, err := lockFile(abs + ".lock")
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", abs, err)
	}
	// Created here rather than by SQLite, which would make it 0644; its -wal and -shm files
	// take the database's mode.
	db, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("sqlite %s: %w", abs, err)
	}
	fi, err := db.Stat()
	db.Close()
	if err == nil && fi.Size() == 0 {
		err = presetPageSize(ctx, abs)
	}
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("sqlite %s: %w", abs, err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(" + sync + ")", "busy_timeout(10000)", "foreign_keys(on)", "temp_store(memory)", "cache_size(-65536)", "wal_autocheckpoint(0)", "journal_size_limit(268435456)", "mmap_size(268435456)"} {
		q.Add("_pragma", p)
	}
	dsn := "file:" + abs + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		lock.Close()
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		lock.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Store{
		w: w, r: r, lock: lock, logger: logger.With("store", "sqlite"),
		series:     map[string]*series{},
		chunkFixes: defaultChunkFixes, chunkMax: defaultChunkMax, maxHeadBytes: cmp.Or(opts.MaxUnflushedBytes, DefaultMaxUnflushedBytes),
		relieved: make(chan struct{}),
		headAge:  defaultHeadAge, flushEvery: defaultFlushEvery,
		flushReq: make(chan struct{}, 1),
		stop:     make(chan struct{}), stopped: make(chan struct{}), flusherDone: make(chan struct{}),
	}
	fail := func(err error) (*Store, error) {
		errs := []error{r.Close(), w.Close()}
		if s.log != nil {
			errs = append(errs, s.log.close())
		}
		errs = append(errs, lock.Close())
		return nil, fmt.Errorf("sqlite %s: %w", abs, errors.Join(append([]error{err}, errs...)...))
	}
	if err := s.registerMetrics(opts.Registerer); err != nil {
		return fail(err)
	}
	if err := s.migrate(ctx); err != nil {
		return fail(err)
	}
	if err := s.convertLegacyFixes(ctx); err != nil {
		return fail(fmt.Errorf("moving fixes into chunks: %w", err))
	}
	if s.log, err = openFixLog(abs+".wal", opts.SyncEveryCommit); err != nil {
		return fail(err)
	}
	if err := s.recover(ctx); err != nil {
		return fail(fmt.Errorf("fix log recovery: %w", err))
	}
	go s.checkpoint()
	go s.flusher()
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Close stops taking fixes, flushes the heads to chunks (what fails to flush stays in the log
// for the next Open) and closes the files.
func (s *Store) Close() error {
	s.commitMu.Lock()
	already := s.closed
	s.closed = true
	s.commitMu.Unlock()
	if already {
		return nil
	}
	close(s.stop)
	<-s.stopped
	<-s.flusherDone
	err := s.flush(context.Background(), true)
	if err != nil {
		s.logger.Warn("final fix flush failed; the fix log keeps the fixes for the next open", "err", err)
	}
	errs := []error{s.log.close()}
	if err == nil {
		errs = append(errs, s.log.removeBelow(s.flushedLSN))
	}
	return errors.Join(append(errs, s.r.Close(), s.w.Close(), s.lock.Close())...)
}

// LogDamage reports what the store found damaged in its fix log when it opened. Damage does not
// stop the store: every intact record was read, and the rest is lost whatever it does.
func (s *Store) LogDamage() LogDamage {
	d := s.log.damage
	d.Segments = slices.Clone(d.Segments)
	return d
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.w.PingContext(ctx)
}

type rowScanner interface{ Scan(dest ...any) error }

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func nullUS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func jsonText(v any) (string, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return "", nil
		}
	case []string:
		if len(x) == 0 {
			return "", nil
		}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func unmarshalText[T any](s string, dst *T) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

func textFlags(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// isUniqueViolation reports a primary key or unique constraint failure.
func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return tracker.ErrNotFound
	}
	return err
}

// pageSize is the page size of a new database. Most of its bytes are chunks of fixes, blobs
// of tens of kilobytes: in SQLite's default 4 KiB pages each is a chain of overflow pages,
// every page allocated in the page cache, written to the WAL as a frame of its own and copied
// again by the checkpoint. 16 KiB pages cut the CPU of a fleet's commits and flushes by 15%
// (BenchmarkCommitFleet's cpu-µs/fix, 2.9 → 2.5); 64 KiB saved no more, and would make every
// small transaction (an alert, an event) write a bigger frame. A database made before keeps
// its page size.
const pageSize = 16384

// presetPageSize gives the new, empty database at path its page size: it can only be set
// before the first write (the driver applies its _pragma list in alphabetical order, so
// journal_mode would come first and fix the default).
func presetPageSize(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "PRAGMA journal_mode = WAL")
	return err
}
