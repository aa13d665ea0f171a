package access_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// totpCode is the code of secret at t, as an authenticator app computes it.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// otherCode is a wrong code: c with its first digit changed.
func otherCode(c string) string {
	return string('0'+(c[0]-'0'+1)%10) + c[1:]
}

// enrolTOTP gives admin a confirmed second factor at now and returns its secret and recovery codes.
func enrolTOTP(t *testing.T, svc *access.Service, now time.Time) (secret string, recovery []string) {
	t.Helper()
	_, se, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	en, err := svc.EnrolTOTP(t.Context(), se)
	if err != nil {
		t.Fatal(err)
	}
	recovery, _, _, err = svc.ConfirmTOTP(t.Context(), se, totpCode(t, en.Secret, now))
	if err != nil {
		t.Fatal(err)
	}
	return en.Secret, recovery
}

func TestTOTPEnrolment(t *testing.T) {
	svc, st := newService(t)
	now := time.Now()
	access.SetClock(svc, func() time.Time { return now })
	token, se, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	en, err := svc.EnrolTOTP(t.Context(), se)
	if err != nil {
		t.Fatal(err)
	}
	if en.Secret == "" || en.OTPAuthURL == "" {
		t.Fatalf("enrolment %+v", en)
	}
	if _, _, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.1"); err != nil {
		t.Fatalf("login while the enrolment is pending: %v, want no second factor asked", err)
	}
	if _, _, _, err := svc.ConfirmTOTP(t.Context(), se, otherCode(totpCode(t, en.Secret, now))); !errors.Is(err, access.ErrBadTOTP) {
		t.Fatalf("confirm with a wrong code: %v, want ErrBadTOTP", err)
	}
	recovery, token2, se2, err := svc.ConfirmTOTP(t.Context(), se, totpCode(t, en.Secret, now))
	if err != nil {
		t.Fatal(err)
	}
	if len(recovery) != 10 || token2 == "" || se2.TOTPEnrol {
		t.Fatalf("confirmed: %d recovery codes, token %q, session %+v", len(recovery), token2, se2)
	}
	if _, err := svc.Authenticate(t.Context(), token); !errors.Is(err, access.ErrInvalidToken) {
		t.Errorf("the session from before the second factor: %v, want ended", err)
	}
	u, err := st.User(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if !u.TOTPConfirmed || len(u.TOTPRecovery) != 10 || slices.Contains(u.TOTPRecovery, recovery[0]) {
		t.Errorf("stored user %+v: want confirmed with 10 hashed recovery codes", u)
	}
	if _, err := svc.EnrolTOTP(t.Context(), se2); err == nil {
		t.Error("a confirmed second factor was replaced by a new enrolment")
	}
	want := []string{"admin login user:admin ok", "admin totp.enrol user:admin ok", "admin login user:admin ok", "admin totp.confirm user:admin denied", "admin totp.confirm user:admin ok"}
	if got := audited(t, svc); !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}

// TestTOTPLogin: a user with a second factor needs its code; a wrong code counts as a wrong
// password; a code is good once (replay refused); the codes of the next step and the one before
// are accepted (clock drift), not those further away.
func TestTOTPLogin(t *testing.T) {
	svc, _ := newService(t)
	now := time.Now()
	access.SetClock(svc, func() time.Time { return now })
	secret, _ := enrolTOTP(t, svc, now)
	now = now.Add(30 * time.Second)
	cr := access.Credentials{Username: "admin", Password: adminPassword}
	if _, _, err := svc.Login(t.Context(), cr, "10.0.0.1"); !errors.Is(err, access.ErrTOTPRequired) {
		t.Fatalf("login without the code: %v, want ErrTOTPRequired", err)
	}
	wrong := cr
	wrong.TOTP = totpCode(t, secret, now.Add(-5*time.Minute))
	if _, _, err := svc.Login(t.Context(), wrong, "10.0.0.1"); !errors.Is(err, access.ErrBadCredentials) {
		t.Fatalf("login with a stale code: %v, want ErrBadCredentials", err)
	}
	cr.TOTP = totpCode(t, secret, now)
	if _, _, err := svc.Login(t.Context(), cr, "10.0.0.1"); err != nil {
		t.Fatalf("login with the code: %v", err)
	}
	if _, _, err := svc.Login(t.Context(), cr, "10.0.0.2"); !errors.Is(err, access.ErrBadCredentials) {
		t.Fatalf("the same code replayed: %v, want ErrBadCredentials", err)
	}
	cr.TOTP = totpCode(t, secret, now.Add(30*time.Second))
	if _, _, err := svc.Login(t.Context(), cr, "10.0.0.1"); err != nil {
		t.Fatalf("login with the next step's code (drift): %v", err)
	}
	cr.TOTP = totpCode(t, secret, now)
	if _, _, err := svc.Login(t.Context(), cr, "10.0.0.1"); !errors.Is(err, access.ErrBadCredentials) {
		t.Fatalf("an earlier step's code after a later one: %v, want ErrBadCredentials", err)
	}
	recs, _ := svc.Audit(t.Context(), 0, 0)
	var second int
	for _, r := range recs {
		if r.Action == "login" && r.Result == "ok" && string(r.Detail) == `{"second_factor":"totp"}` {
			second++
		}
	}
	if second != 2 {
		t.Errorf("%d logins audited with the second factor, want 2", second)
	}
}

// TestTOTPWrongCodesLockOut: guessing codes with the right password locks the name out like
// guessing passwords.
func TestTOTPWrongCodesLockOut(t *testing.T) {
	svc, _ := newService(t)
	now := time.Now()
	access.SetClock(svc, func() time.Time { return now })
	secret, _ := enrolTOTP(t, svc, now)
	now = now.Add(30 * time.Second)
	for i := range 5 {
		cr := access.Credentials{Username: "admin", Password: adminPassword, TOTP: otherCode(totpCode(t, secret, now))}
		if _, _, err := svc.Login(t.Context(), cr, "10.0.0.1"); !errors.Is(err, access.ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	_, _, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword, TOTP: totpCode(t, secret, now)}, "10.0.0.1")
	var te *access.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("the right code after five wrong ones: %v, want throttled", err)
	}
}

// TestTOTPRecoveryCode: a recovery code stands in for the code once, and is audited.
func TestTOTPRecoveryCode(t *testing.T) {
	svc, st := newService(t)
	now := time.Now()
	access.SetClock(svc, func() time.Time { return now })
	_, recovery := enrolTOTP(t, svc, now)
	cr := access.Credentials{Username: "admin", Password: adminPassword, TOTP: recovery[3]}
	if _, _, err := svc.Login(t.Context(), cr, "10.0.0.1"); err != nil {
		t.Fatalf("login with a recovery code: %v", err)
	}
	if _, _, err := svc.Login(t.Context(), cr, "10.0.0.1"); !errors.Is(err, access.ErrBadCredentials) {
		t.Fatalf("the recovery code again: %v, want ErrBadCredentials", err)
	}
	if u, _ := st.User(t.Context(), "admin"); len(u.TOTPRecovery) != 9 {
		t.Errorf("%d recovery codes left, want 9", len(u.TOTPRecovery))
	}
	got := audited(t, svc)
	if !slices.Contains(got, "admin totp.recovery_used user:admin ok") {
		t.Errorf("audit %q has no recovery_used", got)
	}
}

// TestTOTPRequiredForAdministrators: with RequireTOTPAdmins an administrator without a second
// factor gets a session that may only enrol it; other roles are not asked; once enrolled, the
// administrator's sessions are whole.
func TestTOTPRequiredForAdministrators(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := access.New(st, access.Options{AuditKey: auditKey, RequireTOTPAdmins: true})
	if _, err := svc.EnsureAdmin(t.Context(), adminPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(t.Context(), admin, access.NewUser{Username: "pat1", Password: "Patrol-Passw0rd", Role: access.RolePatrol}); err != nil {
		t.Fatal(err)
	}
	_, se, err := svc.Login(t.Context(), access.Credentials{Username: "pat1", Password: "Patrol-Passw0rd"}, "10.0.0.1")
	if err != nil || se.TOTPEnrol {
		t.Fatalf("patrol login: %+v, %v; want a whole session", se, err)
	}
	now := time.Now()
	access.SetClock(svc, func() time.Time { return now })
	_, se, err = svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.1")
	if err != nil || !se.TOTPEnrol {
		t.Fatalf("admin login without a second factor: %+v, %v; want a session limited to enrolment", se, err)
	}
	en, err := svc.EnrolTOTP(t.Context(), se)
	if err != nil {
		t.Fatal(err)
	}
	_, _, se, err = svc.ConfirmTOTP(t.Context(), se, totpCode(t, en.Secret, now))
	if err != nil || se.TOTPEnrol {
		t.Fatalf("after confirming: %+v, %v; want a whole session", se, err)
	}
	recs, _ := svc.Audit(t.Context(), 0, 0)
	if !slices.ContainsFunc(recs, func(r tracker.AuditRecord) bool {
		return r.Action == "login" && string(r.Detail) == `{"totp_enrolment_required":true}`
	}) {
		t.Error("the limited login is not audited as such")
	}
}

// TestTOTPConcurrentReplay: one code sent by several logins at once opens one session.
func TestTOTPConcurrentReplay(t *testing.T) {
	svc, _ := newService(t)
	now := time.Now()
	access.SetClock(svc, func() time.Time { return now })
	secret, _ := enrolTOTP(t, svc, now)
	cr := access.Credentials{Username: "admin", Password: adminPassword, TOTP: totpCode(t, secret, now.Add(30*time.Second))}
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			_, _, err := svc.Login(t.Context(), cr, "10.0.1."+string(rune('1'+i)))
			errs <- err
		}()
	}
	var ok int
	for range 4 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case !errors.Is(err, access.ErrBadCredentials):
			t.Error(err)
		}
	}
	if ok != 1 {
		t.Errorf("%d logins with one code succeeded, want 1", ok)
	}
}
