// Package access decides who may do what: roles and their permissions, users and the password
// policy, sessions behind bearer tokens, login throttling, and the audit log with the check of
// its hash chain. It knows nothing of HTTP; mapui's handlers and live hub ask it.
package access

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Store is what access needs of a store: users, sessions and the append-only audit log.
type Store interface {
	CreateUser(ctx context.Context, u tracker.User) error
	UpdateUser(ctx context.Context, u tracker.User) error
	DeleteUser(ctx context.Context, username string) error
	User(ctx context.Context, username string) (tracker.User, error)
	Users(ctx context.Context) ([]tracker.User, error)

	CreateSession(ctx context.Context, s tracker.Session) error
	Session(ctx context.Context, tokenHash string) (tracker.Session, error)
	TouchSession(ctx context.Context, tokenHash string, at time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteUserSessions(ctx context.Context, username string) error

	// Login lockouts (tracker.LoginFailures), shared by the servers on one store.
	AddLoginFailure(ctx context.Context, username, addr string, at time.Time, window time.Duration) (tracker.LoginFailures, error)
	LoginFailures(ctx context.Context, username, addr string) (tracker.LoginFailures, error)
	ClearLoginFailures(ctx context.Context, username, addr string) error
	SweepLoginFailures(ctx context.Context, before time.Time) error

	// AppendAudit sets Seq and PrevHash, seals the record with key and stores it.
	AppendAudit(ctx context.Context, r tracker.AuditRecord, key *tracker.AuditKey) (tracker.AuditRecord, error)
	Audit(ctx context.Context, afterSeq int64, limit int) ([]tracker.AuditRecord, error)
	// AuditHead is the last record; the zero record when the log is empty.
	AuditHead(ctx context.Context) (tracker.AuditRecord, error)
}

// Options configure a Service; zero fields take the defaults.
type Options struct {
	TokenTTL    time.Duration // how long a session lasts at most; default 12 h
	IdleTimeout time.Duration // a session unused this long ends; default 30 min
	Logger      *slog.Logger
	// AuditKey seals the audit chain; it is kept outside the database. nil: a random key of
	// this Service alone, for tests (what it seals verifies only with this Service).
	AuditKey *tracker.AuditKey
	// AnchorFile is the append-only file the audit chain's heads are written to (AnchorAudit)
	// and checked against (VerifyAudit); "": no anchors.
	AnchorFile string
	// PasswordMaxAge is how long a password lasts; an older one logs in only to be changed.
	// Default 90 days; negative: passwords never expire.
	PasswordMaxAge time.Duration
	// RequireTOTPAdmins: the administrators (admin, security, auditor) must have a second
	// factor; one without it logs in only to enrol it (tracker.Session.TOTPEnrol).
	RequireTOTPAdmins bool
}

// Service is access control over one store. Sessions, throttling and the audit log use the wall
// clock, never the data's: a login must not expire in minutes because a replay runs at 60×.
type Service struct {
	store    Store
	ttl      time.Duration
	idle     time.Duration
	maxAge   time.Duration // of passwords; <= 0: no limit
	log      *slog.Logger
	records  *recordLimiter
	audit    auditing
	now      func() time.Time // the wall clock; tests set another
	watchers watchers
	// requireTOTP is Options.RequireTOTPAdmins; totpMu makes checking a code and storing that
	// it is used one step, so a code is good for one login on this server.
	requireTOTP bool
	totpMu      sync.Mutex
}

// New returns a Service over st.
func New(st Store, opt Options) *Service {
	if opt.TokenTTL == 0 {
		opt.TokenTTL = 12 * time.Hour
	}
	if opt.IdleTimeout == 0 {
		opt.IdleTimeout = 30 * time.Minute
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.PasswordMaxAge == 0 {
		opt.PasswordMaxAge = 90 * 24 * time.Hour
	}
	if opt.AuditKey == nil {
		opt.AuditKey = tracker.NewRandomAuditKey()
	}
	return &Service{store: st, ttl: opt.TokenTTL, idle: opt.IdleTimeout, maxAge: opt.PasswordMaxAge, log: opt.Logger, records: newRecordLimiter(),
		audit: auditing{key: opt.AuditKey, anchorFile: opt.AnchorFile}, now: time.Now, requireTOTP: opt.RequireTOTPAdmins}
}
