package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
)

const userCols = `username, role, hash, created_at, disabled, must_change, password_changed_at, unit, totp_secret, totp_confirmed, totp_last_step, totp_recovery, device_id`

func scanUser(r pgx.CollectableRow) (tracker.User, error) {
	var u tracker.User
	err := r.Scan(&u.Username, &u.Role, &u.Hash, &u.CreatedAt, &u.Disabled, &u.MustChange, &u.PasswordChangedAt, &u.Unit, &u.TOTPSecret, &u.TOTPConfirmed, &u.TOTPLastStep, &u.TOTPRecovery, &u.DeviceID)
	if len(u.TOTPRecovery) == 0 {
		u.TOTPRecovery = nil
	}
	u.CreatedAt, u.PasswordChangedAt = u.CreatedAt.UTC(), u.PasswordChangedAt.UTC()
	return u, err
}

// CreateUser adds u; an existing username, in any case, is tracker.ErrConflict. A zero
// PasswordChangedAt is the creation time.
func (s *Store) CreateUser(ctx context.Context, u tracker.User) error {
	created := orNow(u.CreatedAt)
	changed := u.PasswordChangedAt
	if changed.IsZero() {
		changed = created
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce(nullif($8, ''), 'district'), $9, $10, $11, $12, $13)`,
		u.Username, u.Role, u.Hash, created, u.Disabled, u.MustChange, changed, u.Unit, u.TOTPSecret, u.TOTPConfirmed, u.TOTPLastStep, recoveryArray(u.TOTPRecovery), u.DeviceID)
	return pgErr(err)
}

// UpdateUser replaces role, hash, the flags, the password time, the unit ("" keeps it), the
// second factor and the device.
func (s *Store) UpdateUser(ctx context.Context, u tracker.User) error {
	return notFound(s.pool.Exec(ctx, `UPDATE users SET role = $2, hash = $3, disabled = $4, must_change = $5, password_changed_at = $6,
		unit = coalesce(nullif($7, ''), unit), totp_secret = $8, totp_confirmed = $9, totp_last_step = $10, totp_recovery = $11,
		device_id = $12 WHERE lower(username) = lower($1)`, u.Username, u.Role, u.Hash, u.Disabled, u.MustChange, u.PasswordChangedAt, u.Unit,
		u.TOTPSecret, u.TOTPConfirmed, u.TOTPLastStep, recoveryArray(u.TOTPRecovery), u.DeviceID))
}

// recoveryArray is the recovery codes' hashes as the column takes them: never NULL.
func recoveryArray(h []string) []string {
	if h == nil {
		return []string{}
	}
	return h
}

// DeleteUser removes a user, whatever the case of username.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	return notFound(s.pool.Exec(ctx, `DELETE FROM users WHERE lower(username) = lower($1)`, username))
}

// User returns one user, whatever the case of username.
func (s *Store) User(ctx context.Context, username string) (tracker.User, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+userCols+` FROM users WHERE lower(username) = lower($1)`, username)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	return u, pgErr(err)
}

// Users returns every user by username.
func (s *Store) Users(ctx context.Context) ([]tracker.User, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	return pgx.CollectRows(rows, scanUser)
}

// CreateSession stores a session; an existing token hash is tracker.ErrConflict.
func (s *Store) CreateSession(ctx context.Context, se tracker.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (token_hash, username, role, created_at, expires_at, last_seen, must_change, totp_enrol)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, se.TokenHash, se.Username, se.Role, orNow(se.CreatedAt), se.ExpiresAt, orNow(se.LastSeen), se.MustChange, se.TOTPEnrol)
	return pgErr(err)
}

// Session returns the session of a token hash, expired or not.
func (s *Store) Session(ctx context.Context, tokenHash string) (tracker.Session, error) {
	var se tracker.Session
	err := s.pool.QueryRow(ctx, `SELECT token_hash, username, role, created_at, expires_at, last_seen, must_change, totp_enrol FROM sessions WHERE token_hash = $1`,
		tokenHash).Scan(&se.TokenHash, &se.Username, &se.Role, &se.CreatedAt, &se.ExpiresAt, &se.LastSeen, &se.MustChange, &se.TOTPEnrol)
	if err != nil {
		return tracker.Session{}, pgErr(err)
	}
	se.CreatedAt, se.ExpiresAt, se.LastSeen = se.CreatedAt.UTC(), se.ExpiresAt.UTC(), se.LastSeen.UTC()
	return se, nil
}

// TouchSession records that a session was used at at.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, at time.Time) error {
	return notFound(s.pool.Exec(ctx, `UPDATE sessions SET last_seen = $2 WHERE token_hash = $1`, tokenHash, at))
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return notFound(s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash))
}

// DeleteUserSessions ends every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, username string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE username = $1`, username)
	return err
}

// AddLoginFailure counts a failed login of username from addr at at, in the window that began
// with the first failure; once window has passed since then, the count starts again. One
// statement, so servers counting the same key together lose no failure.
func (s *Store) AddLoginFailure(ctx context.Context, username, addr string, at time.Time, window time.Duration) (tracker.LoginFailures, error) {
	f := tracker.LoginFailures{Username: username, Addr: addr}
	err := s.pool.QueryRow(ctx, `INSERT INTO login_lockouts AS l (username, addr, failures, since) VALUES ($1, $2, 1, $3)
		ON CONFLICT (username, addr) DO UPDATE SET
			failures = CASE WHEN l.since <= $4 THEN 1 ELSE l.failures + 1 END,
			since = CASE WHEN l.since <= $4 THEN excluded.since ELSE l.since END
		RETURNING failures, since`, username, addr, at, at.Add(-window)).Scan(&f.Count, &f.Since)
	f.Since = f.Since.UTC()
	return f, err
}

// LoginFailures returns the failures of username from addr; a zero count when there are none.
func (s *Store) LoginFailures(ctx context.Context, username, addr string) (tracker.LoginFailures, error) {
	f := tracker.LoginFailures{Username: username, Addr: addr}
	err := s.pool.QueryRow(ctx, `SELECT failures, since FROM login_lockouts WHERE username = $1 AND addr = $2`, username, addr).Scan(&f.Count, &f.Since)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, nil
	}
	f.Since = f.Since.UTC()
	return f, err
}

// ClearLoginFailures forgets the failures of username from addr; addr "": from every address.
func (s *Store) ClearLoginFailures(ctx context.Context, username, addr string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_lockouts WHERE username = $1 AND ($2 = '' OR addr = $2)`, username, addr)
	return err
}

// SweepLoginFailures forgets the windows that began before before.
func (s *Store) SweepLoginFailures(ctx context.Context, before time.Time) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_lockouts WHERE since < $1`, before)
	return err
}

// AppendAudit seals r with key and chains it onto the log. The table lock makes appends take
// turns, so the chain never forks; readers are not blocked.
func (s *Store) AppendAudit(ctx context.Context, r tracker.AuditRecord, key *tracker.AuditKey) (tracker.AuditRecord, error) {
	if key == nil {
		return tracker.AuditRecord{}, tracker.ErrNoAuditKey
	}
	// The record is sealed as it will read back: time to the microsecond PostgreSQL keeps.
	r.Time = orNow(r.Time).UTC().Truncate(time.Microsecond)
	if len(r.Detail) > 0 && !json.Valid(r.Detail) {
		return tracker.AuditRecord{}, fmt.Errorf("pgstore: audit detail is not JSON")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE audit IN EXCLUSIVE MODE"); err != nil {
			return err
		}
		r.Seq, r.PrevHash = 1, ""
		err := tx.QueryRow(ctx, "SELECT seq + 1, hash FROM audit ORDER BY seq DESC LIMIT 1").Scan(&r.Seq, &r.PrevHash)
		if err != nil && err != pgx.ErrNoRows {
			return err
		}
		r = key.Seal(r)
		_, err = tx.Exec(ctx, `INSERT INTO audit (seq, time, actor, action, object, result, detail, addr, alg, key_id, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			r.Seq, r.Time, r.Actor, r.Action, r.Object, r.Result, rawOrNil(r.Detail), r.Addr, r.Alg, r.KeyID, r.PrevHash, r.Hash)
		return err
	})
	if err != nil {
		return tracker.AuditRecord{}, fmt.Errorf("pgstore: audit: %w", err)
	}
	return r, nil
}

const auditColumns = `seq, time, actor, action, object, result, detail, addr, alg, key_id, prev_hash, hash`

// Audit returns up to limit records after afterSeq in Seq order (limit <= 0: all).
func (s *Store) Audit(ctx context.Context, afterSeq int64, limit int) ([]tracker.AuditRecord, error) {
	var lim any
	if limit > 0 {
		lim = limit
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, lim)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (tracker.AuditRecord, error) { return scanAudit(row) })
	if err != nil {
		return nil, fmt.Errorf("pgstore: audit: %w", err)
	}
	return out, nil
}

// AuditHead returns the last record of the audit log; the zero record when the log is empty.
func (s *Store) AuditHead(ctx context.Context) (tracker.AuditRecord, error) {
	r, err := scanAudit(s.pool.QueryRow(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq DESC LIMIT 1`))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return tracker.AuditRecord{}, nil
	case err != nil:
		return tracker.AuditRecord{}, fmt.Errorf("pgstore: audit: %w", err)
	}
	return r, nil
}

func scanAudit(row pgx.Row) (tracker.AuditRecord, error) {
	var r tracker.AuditRecord
	var detail []byte
	err := row.Scan(&r.Seq, &r.Time, &r.Actor, &r.Action, &r.Object, &r.Result, &detail, &r.Addr, &r.Alg, &r.KeyID, &r.PrevHash, &r.Hash)
	r.Time = r.Time.UTC()
	if len(detail) > 0 {
		r.Detail = json.RawMessage(detail)
	}
	return r, err
}
