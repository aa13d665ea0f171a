package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/borderwatch/borderwatch/tracker"
)

const receiverCols = `name, url, secret, min_severity, types, ports, enabled, created_by, created_at, updated_at`

// CreateWebhook stores a new webhook receiver; a taken name is tracker.ErrConflict.
func (s *Store) CreateWebhook(ctx context.Context, r tracker.WebhookReceiver) error {
	at := orNow(r.CreatedAt)
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_receivers(`+receiverCols+`) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$9)`,
		r.Name, r.URL, r.Secret, r.MinSeverity, orEmpty(r.Types), orEmpty(r.Ports), r.Enabled, r.CreatedBy, at)
	return pgErr(err)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func scanReceiver(r pgx.CollectableRow) (tracker.WebhookReceiver, error) {
	var w tracker.WebhookReceiver
	err := r.Scan(&w.Name, &w.URL, &w.Secret, &w.MinSeverity, &w.Types, &w.Ports, &w.Enabled, &w.CreatedBy, &w.CreatedAt, &w.UpdatedAt)
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return w, err
}

// Webhooks lists the webhook receivers by name.
func (s *Store) Webhooks(ctx context.Context) ([]tracker.WebhookReceiver, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+receiverCols+` FROM webhook_receivers ORDER BY name`)
	ws, err := pgx.CollectRows(rows, scanReceiver)
	return ws, pgErr(err)
}

// SetWebhookEnabled enables or disables a receiver and returns it.
func (s *Store) SetWebhookEnabled(ctx context.Context, name string, enabled bool, at time.Time) (tracker.WebhookReceiver, error) {
	rows, _ := s.pool.Query(ctx, `UPDATE webhook_receivers SET enabled = $1, updated_at = $2 WHERE name = $3 RETURNING `+receiverCols,
		enabled, orNow(at), name)
	w, err := pgx.CollectExactlyOneRow(rows, scanReceiver)
	return w, pgErr(err)
}

// DeleteWebhook removes a receiver; its deliveries stay in the outbox under its name.
func (s *Store) DeleteWebhook(ctx context.Context, name string) error {
	return notFound(s.pool.Exec(ctx, `DELETE FROM webhook_receivers WHERE name = $1`, name))
}
