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

// Credentials are what a person presents to log in.
type Credentials struct {
	Username string
	Password string
	// TOTP is the second factor's code, or one of the recovery codes; needed when the user has
	// a second factor.
	TOTP string
}

// Errors of Login and Authenticate; their text is for the person logging in.
var (
	ErrBadCredentials = errors.New("wrong username or password")
	ErrInvalidToken   = errors.New("invalid or revoked token")
	ErrTokenExpired   = errors.New("token expired; log in again")
)

// ThrottledError refuses a login after too many failures of its user name from its address,
// or of its address over all names.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return "too many failed logins; try again later" }

// Login checks the credentials of a login from addr and opens a session. It returns the bearer
// token, which is stored only as its hash. Every attempt is audited: ok, denied or throttled;
// refusals at most once a minute per address and result (recordLimiter). A user name over
// MaxUsernameLen is a PolicyError, refused before anything is read or written. A user with a
// second factor and no code in cr gets ErrTOTPRequired; a wrong code is a wrong password.
func (s *Service) Login(ctx context.Context, cr Credentials, addr string) (token string, se tracker.Session, err error) {
	if len(cr.Username) > MaxUsernameLen {
		return "", tracker.Session{}, PolicyError("username longer than 64 characters")
	}
	now := s.now()
	s.sweepLogins(ctx, now)
	wait, err := s.loginBlocked(ctx, cr.Username, addr, now)
	if err != nil {
		return "", tracker.Session{}, err
	}
	if wait > 0 {
		s.recordRefused(ctx, cr.Username, addr, "throttled", now)
		return "", tracker.Session{}, &ThrottledError{RetryAfter: wait}
	}
	u, err := s.store.User(ctx, cr.Username)
	if err != nil && !errors.Is(err, tracker.ErrNotFound) {
		return "", tracker.Session{}, err
	}
	hash := []byte(u.Hash)
	if err != nil || u.Disabled {
		hash = dummyHash()
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(cr.Password)) != nil || err != nil || u.Disabled {
		if err := s.loginFailed(ctx, cr.Username, addr, now); err != nil {
			return "", tracker.Session{}, err
		}
		s.recordRefused(ctx, cr.Username, addr, "denied", now)
		return "", tracker.Session{}, ErrBadCredentials
	}
	var factor string
	if u.TOTPConfirmed {
		if cr.TOTP == "" {
			s.recordRefused(ctx, cr.Username, addr, "totp_required", now)
			return "", tracker.Session{}, ErrTOTPRequired
		}
		if factor, err = s.checkSecondFactor(ctx, u, cr.TOTP, now); err != nil {
			return "", tracker.Session{}, err
		}
		if factor == "" {
			if err := s.loginFailed(ctx, cr.Username, addr, now); err != nil {
				return "", tracker.Session{}, err
			}
			s.recordRefused(ctx, cr.Username, addr, "denied", now)
			return "", tracker.Session{}, ErrBadCredentials
		}
	}
	if err := s.loginSucceeded(ctx, cr.Username, addr); err != nil {
		return "", tracker.Session{}, err
	}
	token, se, err = s.openSession(ctx, u, now)
	if err != nil {
		return "", tracker.Session{}, err
	}
	detail := map[string]any{}
	if se.MustChange {
		detail["password_change_required"] = true
	}
	if se.TOTPEnrol {
		detail["totp_enrolment_required"] = true
	}
	if factor != "" {
		detail["second_factor"] = factor
	}
	var recorded any // no detail rather than {}
	if len(detail) > 0 {
		recorded = detail
	}
	if err := s.Record(ctx, u.Username, "login", "user:"+u.Username, "ok", recorded); err != nil {
		s.store.DeleteSession(context.WithoutCancel(ctx), se.TokenHash) // no session without its record
		return "", tracker.Session{}, err
	}
	return token, se, nil
}

// mustChange reports whether u's password must be changed before anything else: it was given
// (generated on first start) or it is older than the maximum age.
func (s *Service) mustChange(u tracker.User, now time.Time) bool {
	return u.MustChange || s.maxAge > 0 && now.Sub(u.PasswordChangedAt) > s.maxAge
}

// openSession opens a session of u and returns its token; a session of a user whose password
// must be changed may only change it (tracker.Session.MustChange), one of an administrator
// without the second factor required of them only enrol it (tracker.Session.TOTPEnrol).
func (s *Service) openSession(ctx context.Context, u tracker.User, now time.Time) (string, tracker.Session, error) {
	token, th := newToken()
	se := tracker.Session{TokenHash: th, Username: u.Username, Role: u.Role, CreatedAt: now.UTC(), ExpiresAt: now.Add(s.ttl).UTC(), LastSeen: now.UTC(),
		MustChange: s.mustChange(u, now), TOTPEnrol: s.needsTOTPEnrolment(u)}
	if err := s.store.CreateSession(ctx, se); err != nil {
		return "", tracker.Session{}, err
	}
	return token, se, nil
}

// recordRefused audits a refused login, unless the address's refusals of this result were
// audited less than a minute ago; the record then counts those it stands for.
func (s *Service) recordRefused(ctx context.Context, username, addr, result string, now time.Time) {
	ok, unrecorded := s.records.allow(addr, result, now)
	if !ok {
		return
	}
	var detail any
	if unrecorded > 0 {
		detail = map[string]int{"unrecorded": unrecorded}
	}
	s.Record(ctx, username, "login", "user:"+username, result, detail)
}

// Authenticate returns the session of a bearer token: it must exist, not be expired, and have
// been used within the idle timeout. An expired session is deleted.
func (s *Service) Authenticate(ctx context.Context, token string) (tracker.Session, error) {
	return s.CheckSession(ctx, hashToken(token))
}

// CheckSession is Authenticate by the token's hash, for what holds a session open (a live
// WebSocket re-checks it): a session ended by another server on the same store is seen here.
// It counts as activity against the idle timeout.
func (s *Service) CheckSession(ctx context.Context, tokenHash string) (tracker.Session, error) {
	se, err := s.store.Session(ctx, tokenHash)
	if errors.Is(err, tracker.ErrNotFound) {
		return tracker.Session{}, ErrInvalidToken
	}
	if err != nil {
		return tracker.Session{}, err
	}
	now := s.now()
	if now.After(se.ExpiresAt) || now.Sub(se.LastSeen) > s.idle {
		s.store.DeleteSession(ctx, tokenHash)
		return tracker.Session{}, ErrTokenExpired
	}
	// Touch at most once a minute: the idle clock needs no finer grain, and every write
	// competes with ingest for the store.
	if now.Sub(se.LastSeen) > time.Minute {
		s.store.TouchSession(ctx, tokenHash, now.UTC())
	}
	return se, nil
}

// Logout ends the session and audits it; a session already gone is no error.
func (s *Service) Logout(ctx context.Context, se tracker.Session) error {
	if err := s.store.DeleteSession(ctx, se.TokenHash); err != nil && !errors.Is(err, tracker.ErrNotFound) {
		return err
	}
	s.sessionEnded(se.TokenHash)
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
