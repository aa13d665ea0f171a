package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// CreateUser adds a user; a name that differs from another only in case is tracker.ErrConflict.
// A zero PasswordChangedAt is the creation time.
func (s *Store) CreateUser(ctx context.Context, u tracker.User) error {
	c := created(u.CreatedAt)
	changed := c
	if !u.PasswordChangedAt.IsZero() {
		changed = us(u.PasswordChangedAt)
	}
	return s.exec(ctx, `INSERT INTO users(username, role, hash, disabled, created_us, must_change, password_changed_us, unit,
		totp_secret, totp_confirmed, totp_last_step, totp_recovery, device_id) VALUES(?,?,?,?,?,?,?,coalesce(nullif(?, ''), 'district'),?,?,?,?,?)`,
		u.Username, u.Role, u.Hash, u.Disabled, c, u.MustChange, changed, u.Unit, u.TOTPSecret, u.TOTPConfirmed, u.TOTPLastStep, strings.Join(u.TOTPRecovery, "\n"), u.DeviceID)
}

// UpdateUser changes a user's role, password hash, flags, password time, unit ("" keeps it),
// second factor and device.
func (s *Store) UpdateUser(ctx context.Context, u tracker.User) error {
	return s.execOne(ctx, `UPDATE users SET role = ?, hash = ?, disabled = ?, must_change = ?, password_changed_us = ?, unit = coalesce(nullif(?, ''), unit),
		totp_secret = ?, totp_confirmed = ?, totp_last_step = ?, totp_recovery = ?, device_id = ? WHERE lower(username) = lower(?)`,
		u.Role, u.Hash, u.Disabled, u.MustChange, us(u.PasswordChangedAt), u.Unit, u.TOTPSecret, u.TOTPConfirmed, u.TOTPLastStep, strings.Join(u.TOTPRecovery, "\n"), u.DeviceID, u.Username)
}

// DeleteUser removes a user and their sessions.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	u, err := s.User(ctx, username)
	if err != nil {
		return err
	}
	if err := s.DeleteUserSessions(ctx, u.Username); err != nil {
		return err
	}
	return s.execOne(ctx, `DELETE FROM users WHERE username = ?`, u.Username)
}

const userColumns = `username, role, hash, disabled, created_us, must_change, password_changed_us, unit, totp_secret, totp_confirmed, totp_last_step, totp_recovery, device_id`

func scanUser(r rowScanner) (tracker.User, error) {
	var u tracker.User
	var c, changed int64
	var recovery string
	err := r.Scan(&u.Username, &u.Role, &u.Hash, &u.Disabled, &c, &u.MustChange, &changed, &u.Unit, &u.TOTPSecret, &u.TOTPConfirmed, &u.TOTPLastStep, &recovery, &u.DeviceID)
	u.CreatedAt, u.PasswordChangedAt = fromUS(c), fromUS(changed)
	if recovery != "" {
		u.TOTPRecovery = strings.Split(recovery, "\n")
	}
	return u, err
}

// User returns one user, whatever the case of username.
func (s *Store) User(ctx context.Context, username string) (tracker.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE lower(username) = lower(?)`, username))
	return u, notFound(err)
}

// Users lists every user.
func (s *Store) Users(ctx context.Context) ([]tracker.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se tracker.Session) error {
	return s.exec(ctx, `INSERT INTO sessions(token_hash, username, role, created_us, expires_us, seen_us, must_change, totp_enrol) VALUES(?,?,?,?,?,?,?,?)`,
		se.TokenHash, se.Username, se.Role, us(se.CreatedAt), us(se.ExpiresAt), us(se.LastSeen), se.MustChange, se.TOTPEnrol)
}

// Session returns a session by its token's hash.
func (s *Store) Session(ctx context.Context, tokenHash string) (tracker.Session, error) {
	var se tracker.Session
	var c, e, seen int64
	err := s.r.QueryRowContext(ctx, `SELECT token_hash, username, role, created_us, expires_us, seen_us, must_change, totp_enrol FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&se.TokenHash, &se.Username, &se.Role, &c, &e, &seen, &se.MustChange, &se.TOTPEnrol)
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

// AddLoginFailure counts a failed login of username from addr at at, in the window that began
// with the first failure; once window has passed since then, the count starts again.
func (s *Store) AddLoginFailure(ctx context.Context, username, addr string, at time.Time, window time.Duration) (tracker.LoginFailures, error) {
	f := tracker.LoginFailures{Username: username, Addr: addr}
	var since int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO login_lockouts(username, addr, failures, since_us) VALUES(?,?,1,?)
		ON CONFLICT(username, addr) DO UPDATE SET
			failures = CASE WHEN since_us <= ? THEN 1 ELSE failures + 1 END,
			since_us = CASE WHEN since_us <= ? THEN excluded.since_us ELSE since_us END
		RETURNING failures, since_us`, username, addr, us(at), us(at.Add(-window)), us(at.Add(-window))).Scan(&f.Count, &since)
	f.Since = fromUS(since)
	return f, err
}

// LoginFailures returns the failures of username from addr; a zero count when there are none.
func (s *Store) LoginFailures(ctx context.Context, username, addr string) (tracker.LoginFailures, error) {
	f := tracker.LoginFailures{Username: username, Addr: addr}
	var since int64
	err := s.r.QueryRowContext(ctx, `SELECT failures, since_us FROM login_lockouts WHERE username = ? AND addr = ?`, username, addr).Scan(&f.Count, &since)
	if isNoRows(err) {
		return f, nil
	}
	f.Since = fromUS(since)
	return f, err
}

// ClearLoginFailures forgets the failures of username from addr; addr "": from every address.
func (s *Store) ClearLoginFailures(ctx context.Context, username, addr string) error {
	if addr == "" {
		return s.exec(ctx, `DELETE FROM login_lockouts WHERE username = ?`, username)
	}
	return s.exec(ctx, `DELETE FROM login_lockouts WHERE username = ? AND addr = ?`, username, addr)
}

// SweepLoginFailures forgets the windows that began before before.
func (s *Store) SweepLoginFailures(ctx context.Context, before time.Time) error {
	return s.exec(ctx, `DELETE FROM login_lockouts WHERE since_us < ?`, us(before))
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
