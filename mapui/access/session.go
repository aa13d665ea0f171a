package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/borderwatch/borderwatch/tracker"
)

// Credentials are what a person presents to log in; a second factor will join them here.
type Credentials struct {
	Username string
	Password string
}

// Errors of Login and Authenticate; their text is for the person logging in.
var (
	ErrBadCredentials = errors.New("wrong username or password")
	ErrInvalidToken   = errors.New("invalid or revoked token")
	ErrTokenExpired   = errors.New("token expired; log in again")
)

// ThrottledError refuses a login after too many failures of its user name or its address.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return "too many failed logins; try again later" }

// Login checks the credentials of a login from addr and opens a session. It returns the bearer
// token, which is stored only as its hash. Every attempt is audited: ok, denied or throttled.
func (s *Service) Login(ctx context.Context, cr Credentials, addr string) (token string, se tracker.Session, err error) {
	now := time.Now()
	if wait := s.throttle.blocked(cr.Username, addr, now); wait > 0 {
		s.Record(ctx, cr.Username, "login", "user:"+cr.Username, "throttled", nil)
		return "", tracker.Session{}, &ThrottledError{RetryAfter: wait}
	}
	u, err := s.store.User(ctx, cr.Username)
	if err != nil && !errors.Is(err, tracker.ErrNotFound) {
		return "", tracker.Session{}, err
	}
	hash := []byte(u.Hash)
	if err != nil || u.Disabled {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(cr.Password)) != nil || err != nil || u.Disabled {
		s.throttle.fail(cr.Username, addr, now)
		s.Record(ctx, cr.Username, "login", "user:"+cr.Username, "denied", nil)
		return "", tracker.Session{}, ErrBadCredentials
	}
	s.throttle.succeed(cr.Username)
	token, th := newToken()
	se = tracker.Session{TokenHash: th, Username: u.Username, Role: u.Role, CreatedAt: now.UTC(), ExpiresAt: now.Add(s.ttl).UTC(), LastSeen: now.UTC()}
	if err := s.store.CreateSession(ctx, se); err != nil {
		return "", tracker.Session{}, err
	}
	if err := s.Record(ctx, u.Username, "login", "user:"+u.Username, "ok", nil); err != nil {
		s.store.DeleteSession(context.WithoutCancel(ctx), th) // no session without its record
		return "", tracker.Session{}, err
	}
	return token, se, nil
}

// Authenticate returns the session of a bearer token: it must exist, not be expired, and have
// been used within the idle timeout. An expired session is deleted.
func (s *Service) Authenticate(ctx context.Context, token string) (tracker.Session, error) {
	th := hashToken(token)
	se, err := s.store.Session(ctx, th)
	if errors.Is(err, tracker.ErrNotFound) {
		return tracker.Session{}, ErrInvalidToken
	}
	if err != nil {
		return tracker.Session{}, err
	}
	now := time.Now()
	if now.After(se.ExpiresAt) || now.Sub(se.LastSeen) > s.idle {
		s.store.DeleteSession(ctx, th)
		return tracker.Session{}, ErrTokenExpired
	}
	// Touch at most once a minute: the idle clock needs no finer grain, and every write
	// competes with ingest for the store.
	if now.Sub(se.LastSeen) > time.Minute {
		s.store.TouchSession(ctx, th, now.UTC())
	}
	return se, nil
}

// Touch counts now as activity of the session, against the idle timeout.
func (s *Service) Touch(ctx context.Context, tokenHash string) error {
	return s.store.TouchSession(ctx, tokenHash, time.Now().UTC())
}

// Logout ends the session and audits it; a session already gone is no error.
func (s *Service) Logout(ctx context.Context, se tracker.Session) error {
	if err := s.store.DeleteSession(ctx, se.TokenHash); err != nil && !errors.Is(err, tracker.ErrNotFound) {
		return err
	}
	return s.Record(ctx, se.Username, "logout", "user:"+se.Username, "ok", nil)
}

func newToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = hex.EncodeToString(b)
	return token, hashToken(token)
}

// hashToken is what a session is stored under: the hex SHA-256 of the token. Changing it would
// end every session.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
