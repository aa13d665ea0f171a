// Package pgstore is the PostgreSQL store, for deployments where several servers share
// one database or history outgrows one file. Fixes live in a table partitioned by day;
// migrations are embedded and applied on Open; zone changes are announced with NOTIFY so every
// server's zone cache follows (see WatchZones).
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune the store. The zero value is usable.
type Options struct {
	// MaxConns caps the connection pool; 0 leaves the URL's pool_max_conns, or pgxpool's default
	// (the larger of 4 and the CPU count) raised to Writers + 4, so that reads do not wait for a
	// group commit's connections.
	MaxConns int32
	// Writers is how many connections a large group commit is spread over, by vehicle (see
	// shares.go); default one per core, 2 to 4, at most the pool's cap - 1 when one is given.
	Writers int
	// Retention is how long fixes are kept; Maintain drops day partitions older than that.
	// 0 keeps everything.
	Retention time.Duration
	// DaysAhead is how many days of partitions Maintain creates ahead of today (default 2).
	DaysAhead int
	// Logger receives maintenance messages; nil discards them.
	Logger *slog.Logger
}

// Store is the PostgreSQL store.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	parts map[int64]bool // day partitions known to exist, by Unix day

	writers   int        // connections a group commit is spread over
	minShare  int        // fixes a share must have at least (minShareFixes; tests lower it)
	acquireMu sync.Mutex // one group commit at a time takes its connections

	ids  idStock      // fix IDs reserved for the next commits
	slow atomic.Int32 // commits left that sort their fixes at once (see commitOnce)
}

// defaultWriters is Options.Writers' default: one connection. On a quiet 2-core machine with
// PostgreSQL beside the server, `borderwatch bench --store postgres://…` kept its ack p99 lower
// with one writer than with two (35.8 against 57.3 ms at 11,250 fixes/s, 49.2 against 124.9 ms at
// 15,000), and more connections than cores cost the backends 60–75% more CPU per fix; a larger
// database server may gain from more (BW_PG_WRITERS).
const defaultWriters = 1

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys; arbitrary constants that only this package uses.
const (
	lockMigrate    = 0x62770001
	lockPartitions = 0x62770002
)

// Open connects to the database at url (postgres://… or a key=value string), applies pending
// migrations and creates the fix partitions around today. An unreachable database is an error
// naming the server; the caller may retry.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if opts.Writers <= 0 {
		opts.Writers = defaultWriters
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MaxConns > 0 || strings.Contains(url, "pool_max_conns") { // a cap given: the writers fit under it
		opts.Writers = max(min(opts.Writers, int(cfg.MaxConns)-1), 1)
	} else {
		cfg.MaxConns = max(cfg.MaxConns, int32(opts.Writers)+4)
	}
	if opts.DaysAhead <= 0 {
		opts.DaysAhead = 2
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	if err := migrate(ctx, cfg.ConnConfig.Copy()); err != nil {
		return nil, fmt.Errorf("pgstore: database %s: %w", where, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: database %s: %w", where, err)
	}
	s := &Store{pool: pool, opts: opts, writers: opts.Writers, minShare: minShareFixes, log: opts.Logger, parts: map[int64]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.Maintain(ctx, time.Now()); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: database %s: %w", where, err)
	}
	return s, nil
}

// migrate applies the embedded migrations not yet recorded in schema_migrations, in order,
// each in its own transaction. A session advisory lock makes servers starting together take
// turns; the second finds nothing left to do.
func migrate(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockMigrate); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockMigrate)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	applied := map[int]bool{}
	rows, _ := conn.Query(ctx, "SELECT version FROM schema_migrations")
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return err
	}
	for _, v := range vs {
		applied[v] = true
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		if applied[v] {
			continue
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", v)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that a connection can be had and the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// Pool is the connection pool, for callers that need the database directly (metrics, tools).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// pgErr maps PostgreSQL errors onto the tracker's: a duplicate key is ErrConflict.
func pgErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %s", tracker.ErrConflict, pe.Detail)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return tracker.ErrNotFound
	}
	return err
}

// notFound turns an update or delete that touched nothing into ErrNotFound.
func notFound(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return pgErr(err)
	}
	if tag.RowsAffected() == 0 {
		return tracker.ErrNotFound
	}
	return nil
}

// utc is t in UTC, or the zero time for NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// orNow is t, or the current time when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC()
	}
	return t
}
