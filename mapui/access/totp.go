package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/borderwatch/borderwatch/tracker"
)

// The second factor is TOTP as RFC 6238 and every authenticator app has it: SHA-1, 6 digits,
// 30-second steps, one step of clock drift either way.
const (
	totpPeriod    = 30
	totpSkew      = 1
	totpIssuer    = "BorderWatch"
	recoveryCodes = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Errors of the second factor.
var (
	// ErrTOTPRequired: the password was right, and the user's second factor must come with it.
	ErrTOTPRequired = errors.New("a two-factor code is required")
	// ErrBadTOTP: the code given to confirm an enrolment is wrong, stale or used.
	ErrBadTOTP = errors.New("wrong or expired two-factor code")
)

// Enrolment is a second factor to add to an authenticator app; it stays pending until
// confirmed with a code.
type Enrolment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
}

// needsTOTPEnrolment reports whether u's role requires a second factor they have not confirmed.
func (s *Service) needsTOTPEnrolment(u tracker.User) bool {
	return s.requireTOTP && IsAdministrator(u.Role) && !u.TOTPConfirmed
}

// EnrolTOTP starts the enrolment of the session's user's second factor, replacing a pending
// one, and audits it. A confirmed factor is not replaced: whoever holds a session would then
// own the account's second factor.
func (s *Service) EnrolTOTP(ctx context.Context, se tracker.Session) (Enrolment, error) {
	u, err := s.store.User(ctx, se.Username)
	if err != nil {
		return Enrolment{}, err
	}
	if u.TOTPConfirmed {
		return Enrolment{}, PolicyError("two-factor login is already enabled")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Username, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrolment{}, err
	}
	u.TOTPSecret, u.TOTPLastStep, u.TOTPRecovery = key.Secret(), 0, nil
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return Enrolment{}, err
	}
	if err := s.Record(ctx, u.Username, "totp.enrol", "user:"+u.Username, "ok", nil); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: key.Secret(), OTPAuthURL: key.URL()}, nil
}

// ConfirmTOTP enables the pending second factor of the session's user with a code of it, and
// audits it. It returns the recovery codes, shown this once (only their hashes are kept). Like
// ChangePassword it ends every session of the user and opens a new one in place of se: sessions
// opened before the second factor have not shown it.
func (s *Service) ConfirmTOTP(ctx context.Context, se tracker.Session, code string) (recovery []string, token string, next tracker.Session, err error) {
	s.totpMu.Lock()
	defer s.totpMu.Unlock()
	u, err := s.store.User(ctx, se.Username)
	if err != nil {
		return nil, "", tracker.Session{}, err
	}
	if u.TOTPConfirmed {
		return nil, "", tracker.Session{}, PolicyError("two-factor login is already enabled")
	}
	if u.TOTPSecret == "" {
		return nil, "", tracker.Session{}, PolicyError("start the enrolment first: POST /api/v1/me/totp")
	}
	now := s.now()
	step, ok := matchTOTP(u, code, now)
	if !ok {
		s.Record(ctx, u.Username, "totp.confirm", "user:"+u.Username, "denied", nil)
		return nil, "", tracker.Session{}, ErrBadTOTP
	}
	recovery, hashes := newRecoveryCodes()
	u.TOTPConfirmed, u.TOTPLastStep, u.TOTPRecovery = true, step, hashes
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return nil, "", tracker.Session{}, err
	}
	if err := s.store.DeleteUserSessions(ctx, u.Username); err != nil {
		return nil, "", tracker.Session{}, err
	}
	s.userSessionsEnded(u.Username)
	if err := s.Record(ctx, u.Username, "totp.confirm", "user:"+u.Username, "ok", map[string]int{"recovery_codes": len(recovery)}); err != nil {
		return nil, "", tracker.Session{}, err
	}
	token, next, err = s.openSession(ctx, u, now)
	return recovery, token, next, err
}

// checkSecondFactor checks the code given at a login of u, who has a second factor: a TOTP code
// of a step later than the last used, or an unused recovery code. It stores what the code used
// up and returns how the user proved it: "totp" or "recovery"; "" when the code is wrong.
func (s *Service) checkSecondFactor(ctx context.Context, u tracker.User, code string, now time.Time) (string, error) {
	s.totpMu.Lock()
	defer s.totpMu.Unlock()
	// Read again under the lock: two logins with one code must not both pass.
	u, err := s.store.User(ctx, u.Username)
	if err != nil {
		return "", err
	}
	if step, ok := matchTOTP(u, code, now); ok {
		u.TOTPLastStep = step
		return "totp", s.store.UpdateUser(ctx, u)
	}
	h := hashRecoveryCode(code)
	i := slices.IndexFunc(u.TOTPRecovery, func(x string) bool { return subtle.ConstantTimeCompare([]byte(x), []byte(h)) == 1 })
	if i < 0 {
		return "", nil
	}
	u.TOTPRecovery = slices.Delete(u.TOTPRecovery, i, i+1)
	if len(u.TOTPRecovery) == 0 {
		u.TOTPRecovery = nil
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return "", err
	}
	return "recovery", s.Record(ctx, u.Username, "totp.recovery_used", "user:"+u.Username, "ok", map[string]int{"recovery_codes_left": len(u.TOTPRecovery)})
}

// matchTOTP returns the time step of u's secret whose code is code, within the allowed drift of
// now and later than the last step used.
func matchTOTP(u tracker.User, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 || u.TOTPSecret == "" {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		if step <= u.TOTPLastStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(u.TOTPSecret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// newRecoveryCodes returns fresh recovery codes (50 random bits each, as xxxxx-xxxxx) and their
// hashes.
func newRecoveryCodes() (codes, hashes []string) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for range recoveryCodes {
		b := make([]byte, 7)
		rand.Read(b)
		c := strings.ToLower(enc.EncodeToString(b)[:10])
		c = c[:5] + "-" + c[5:]
		codes = append(codes, c)
		hashes = append(hashes, hashRecoveryCode(c))
	}
	return codes, hashes
}

// hashRecoveryCode is what a recovery code is kept as: the hex SHA-256 of its normal form (no
// bcrypt needed: 50 random bits are not guessed from their hash, and the lockout counts tries).
func hashRecoveryCode(c string) string {
	c = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(c), "-", ""))
	h := sha256.Sum256([]byte(c))
	return hex.EncodeToString(h[:])
}
