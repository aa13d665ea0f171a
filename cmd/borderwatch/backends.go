package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/borderwatch/borderwatch/tracker/pgstore"
)

// openPostgres connects to PostgreSQL, retrying with backoff for up to two minutes while it is
// unreachable, and logging each failure so an operator sees why the server waits.
func openPostgres(ctx context.Context, cfg config, log *slog.Logger) (store, error) {
	wait := time.Second
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := pgstore.Open(ctx, cfg.DatabaseURL, pgstore.Options{Writers: cfg.PGWriters})
		if err == nil {
			return st, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("PostgreSQL unreachable: %w", err)
		}
		log.Warn("PostgreSQL unreachable, retrying", "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait = min(2*wait, 15*time.Second)
	}
}
