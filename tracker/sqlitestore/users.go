package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// CreateUser adds a user.
func (s *Store) CreateUser(ctx context.Context, u tracker.User) error {
	return s.exec(ctx, `INSERT INTO users(username, role, hash, disabled, created_us) VALUES(?,?,?,?,?)`, u.Username, u.Role, u.Hash, u.Disabled, created(u.CreatedAt))
}

// UpdateUser changes a user's role, password hash and disabled flag.
func (s *Store) UpdateUser(ctx context.Context, u tracker.User) error {
	return s.execOne(ctx, `UPDATE users SET role = ?, hash = ?, disabled = ? WHERE username = ?`, u.Role, u.Hash, u.Disabled, u.Username)
}

// DeleteUser removes a user and their sessions.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	if err := s.DeleteUserSessions(ctx, username); err != nil {
		return err
	}
	return s.execOne(ctx, `DELETE FROM users WHERE username = ?`, username)
}

func scanUser(r rowScanner) (tracker.User, error) {
	var u tracker.User
	var c int64
	err := r.Scan(&u.Username, &u.Role, &u.Hash, &u.Disabled, &c)
	u.CreatedAt = fromUS(c)
	return u, err
}

// User returns one user.
func (s *Store) User(ctx context.Context, username string) (tracker.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT username, role, hash, disabled, created_us FROM users WHERE username = ?`, username))
	return u, notFound(err)
}

// Users lists every user.
func (s *Store) Users(ctx context.Context) ([]tracker.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT username, role, hash, disabled, created_us FROM users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se tracker.Session) error {
	return s.exec(ctx, `INSERT INTO sessions(token_hash, username, role, created_us, expires_us, seen_us) VALUES(?,?,?,?,?,?)`,
		se.TokenHash, se.Username, se.Role, us(se.CreatedAt), us(se.ExpiresAt), us(se.LastSeen))
}

// Session returns a session by its token's hash.
func (s *Store) Session(ctx context.Context, tokenHash string) (tracker.Session, error) {
	var se tracker.Session
	var c, e, seen int64
	err := s.r.QueryRowContext(ctx, `SELECT token_hash, username, role, created_us, expires_us, seen_us FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&se.TokenHash, &se.Username, &se.Role, &c, &e, &seen)
	se.CreatedAt, se.ExpiresAt, se.LastSeen = fromUS(c), fromUS(e), fromUS(seen)
	return se, notFound(err)
}

// TouchSession records activity for the idle timeout.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, at time.Time) error {
	return s.execOne(ctx, `UPDATE sessions SET seen_us = ? WHERE token_hash = ?`, us(at), tokenHash)
}

// DeleteSession revokes one token.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.execOne(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
}

// DeleteUserSessions revokes every token of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, username string) error {
	return s.exec(ctx, `DELETE FROM sessions WHERE username = ?`, username)
}

// AppendAudit seals r with key, chained to the last record, and stores it.
func (s *Store) AppendAudit(ctx context.Context, r tracker.AuditRecord, key *tracker.AuditKey) (tracker.AuditRecord, error) {
	if key == nil {
		return r, tracker.ErrNoAuditKey
	}
	if len(r.Detail) > 0 && !json.Valid(r.Detail) {
		return r, fmt.Errorf("audit detail is not JSON")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return r, err
	}
	defer tx.Rollback()
	var seq int64
	var prev string
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !isNoRows(err) {
		return r, err
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC().Truncate(time.Microsecond)
	r.Seq, r.PrevHash = seq+1, prev
	r = key.Seal(r)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit(seq, time_us, actor, action, object, result, detail, addr, alg, key_id, prev_hash, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.Seq, us(r.Time), r.Actor, r.Action, r.Object, r.Result, string(r.Detail), r.Addr, r.Alg, r.KeyID, r.PrevHash, r.Hash); err != nil {
		return r, err
	}
	return r, tx.Commit()
}

const auditColumns = `seq, time_us, actor, action, object, result, detail, addr, alg, key_id, prev_hash, hash`

// Audit returns records after afterSeq in order.
func (s *Store) Audit(ctx context.Context, afterSeq int64, limit int) ([]tracker.AuditRecord, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAudit)
}

// AuditHead returns the last record of the audit log; the zero record when the log is empty.
func (s *Store) AuditHead(ctx context.Context) (tracker.AuditRecord, error) {
	r, err := scanAudit(s.r.QueryRowContext(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq DESC LIMIT 1`))
	if isNoRows(err) {
		return tracker.AuditRecord{}, nil
	}
	return r, err
}

func scanAudit(r rowScanner) (tracker.AuditRecord, error) {
	var a tracker.AuditRecord
	var t int64
	var detail string
	err := r.Scan(&a.Seq, &t, &a.Actor, &a.Action, &a.Object, &a.Result, &detail, &a.Addr, &a.Alg, &a.KeyID, &a.PrevHash, &a.Hash)
	a.Time = fromUS(t)
	if detail != "" {
		a.Detail = json.RawMessage(detail)
	}
	return a, err
}
