package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
)

const day = 24 * time.Hour

// unixDay numbers UTC days from 1970-01-01.
func unixDay(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

func partitionName(d int64) string {
	return "fixes_" + time.Unix(d*86400, 0).UTC().Format("20060102")
}

// ensurePartitions creates the day partitions that fixes fall into and that are not known yet.
// It runs in its own short transaction before Commit's: creating a partition locks the parent
// table, which must not be held for the length of a batch.
func (s *Store) ensurePartitions(ctx context.Context, fixes []tracker.Fix) error {
	var missing []int64
	s.mu.Lock()
	for i := range fixes {
		d := unixDay(fixes[i].Time)
		if !s.parts[d] {
			s.parts[d] = true // tentatively; undone below on failure
			missing = append(missing, d)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	err := s.createPartitions(ctx, missing)
	if err != nil {
		s.mu.Lock()
		for _, d := range missing {
			delete(s.parts, d)
		}
		s.mu.Unlock()
		return fmt.Errorf("pgstore: partitions: %w", err)
	}
	return nil
}

// createPartitions creates the day partitions that do not exist. An advisory lock keeps two
// servers from creating the same one at once (IF NOT EXISTS alone is not safe for that).
func (s *Store) createPartitions(ctx context.Context, days []int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockPartitions); err != nil {
			return err
		}
		for _, d := range days {
			name := partitionName(d)
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", name).Scan(&exists); err != nil {
				return err
			}
			if exists {
				continue
			}
			from := time.Unix(d*86400, 0).UTC()
			sql := fmt.Sprintf("CREATE TABLE %s PARTITION OF fixes FOR VALUES FROM ('%s') TO ('%s')",
				name, from.Format(time.RFC3339), from.Add(day).Format(time.RFC3339))
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
			s.log.Info("fix partition created", "partition", name)
		}
		return nil
	})
}

func (s *Store) forgetPartitions() {
	s.mu.Lock()
	clear(s.parts)
	s.mu.Unlock()
}

// Maintain creates the partitions of today and the next Options.DaysAhead days and, with a
// Retention set, drops the partitions that end before now minus Retention. Open calls it once;
// call it again every few hours (dropping a partition is instant, not a mass DELETE).
func (s *Store) Maintain(ctx context.Context, now time.Time) error {
	today := unixDay(now)
	var ahead []tracker.Fix
	for d := today; d <= today+int64(s.opts.DaysAhead); d++ {
		ahead = append(ahead, tracker.Fix{Time: time.Unix(d*86400, 0)})
	}
	if err := s.ensurePartitions(ctx, ahead); err != nil {
		return err
	}
	if s.opts.Retention <= 0 {
		return nil
	}
	_, err := s.DropPartitionsBefore(ctx, now.Add(-s.opts.Retention))
	return err
}

// DropPartitionsBefore drops the day partitions of fixes that end at or before t and returns
// their names. Their fixes are gone for good; latest_fixes, events and alerts stay.
func (s *Store) DropPartitionsBefore(ctx context.Context, t time.Time) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'fixes'::regclass ORDER BY c.relname`)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: list partitions: %w", err)
	}
	var dropped []string
	for _, name := range names {
		start, err := time.Parse("20060102", strings.TrimPrefix(name, "fixes_"))
		if err != nil || start.Add(day).After(t) {
			continue // not one of ours, or still within retention
		}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockPartitions); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize())
			return err
		})
		if err != nil {
			return dropped, fmt.Errorf("pgstore: drop %s: %w", name, err)
		}
		s.mu.Lock()
		delete(s.parts, unixDay(start))
		s.mu.Unlock()
		s.log.Info("fix partition dropped", "partition", name)
		dropped = append(dropped, name)
	}
	return dropped, nil
}
