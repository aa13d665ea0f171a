package sqlitestore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

const receiverCols = `name, url, secret, min_severity, types, ports, enabled, created_by, created_us, updated_us`

// CreateWebhook stores a new webhook receiver; a taken name is tracker.ErrConflict.
func (s *Store) CreateWebhook(ctx context.Context, r tracker.WebhookReceiver) error {
	types, err := json.Marshal(orEmpty(r.Types))
	if err != nil {
		return err
	}
	ports, err := json.Marshal(orEmpty(r.Ports))
	if err != nil {
		return err
	}
	at := created(r.CreatedAt)
	return s.exec(ctx, `INSERT INTO webhook_receivers(`+receiverCols+`) VALUES(?,?,?,?,?,?,?,?,?,?)`,
		r.Name, r.URL, r.Secret, r.MinSeverity, string(types), string(ports), r.Enabled, r.CreatedBy, at, at)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func scanReceiver(r rowScanner) (tracker.WebhookReceiver, error) {
	var w tracker.WebhookReceiver
	var types, ports string
	var createdUS, updatedUS int64
	if err := r.Scan(&w.Name, &w.URL, &w.Secret, &w.MinSeverity, &types, &ports, &w.Enabled, &w.CreatedBy, &createdUS, &updatedUS); err != nil {
		return w, notFound(err)
	}
	w.CreatedAt, w.UpdatedAt = fromUS(createdUS), fromUS(updatedUS)
	if err := json.Unmarshal([]byte(types), &w.Types); err != nil {
		return w, err
	}
	return w, json.Unmarshal([]byte(ports), &w.Ports)
}

// Webhooks lists the webhook receivers by name.
func (s *Store) Webhooks(ctx context.Context) ([]tracker.WebhookReceiver, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+receiverCols+` FROM webhook_receivers ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanReceiver)
}

// SetWebhookEnabled enables or disables a receiver and returns it.
func (s *Store) SetWebhookEnabled(ctx context.Context, name string, enabled bool, at time.Time) (tracker.WebhookReceiver, error) {
	return scanReceiver(s.w.QueryRowContext(ctx, `UPDATE webhook_receivers SET enabled = ?, updated_us = ? WHERE name = ? RETURNING `+receiverCols,
		enabled, created(at), name))
}

// DeleteWebhook removes a receiver; its deliveries stay in the outbox under its name.
func (s *Store) DeleteWebhook(ctx context.Context, name string) error {
	return s.execOne(ctx, `DELETE FROM webhook_receivers WHERE name = ?`, name)
}
