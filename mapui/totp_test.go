package mapui_test

import (
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
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

type totpSession struct {
	Token         string
	Recovery      []string `json:"recovery_codes"`
	EnrolRequired bool     `json:"totp_enrolment_required"`
}

// TestTOTPFlow: the investigator enrols a second factor, confirms it with a code computed from
// the secret, and from then on logs in only with a code (once each) or a recovery code (once).
func TestTOTPFlow(t *testing.T) {
	a := newAPI(t)
	tok := a.tokens[access.RoleInvestigator]
	a.req("POST", "/api/v1/me/totp/confirm", tok, map[string]string{"code": "123456"}, 400, nil)
	var en struct {
		Secret string
		URL    string `json:"otpauth_url"`
	}
	a.req("POST", "/api/v1/me/totp", tok, nil, 200, &en)
	if en.Secret == "" || !strings.HasPrefix(en.URL, "otpauth://totp/BorderWatch:investigator1?") {
		t.Fatalf("enrolment %+v", en)
	}
	if b := a.req("POST", "/api/v1/me/totp/confirm", tok, map[string]string{"code": "12345x"}, 400, nil); !strings.Contains(string(b), "invalid_code") {
		t.Errorf("confirm with a wrong code: %s", b)
	}
	now := time.Now()
	var conf totpSession
	a.req("POST", "/api/v1/me/totp/confirm", tok, map[string]string{"code": totpCode(t, en.Secret, now)}, 200, &conf)
	if len(conf.Recovery) != 10 || conf.Token == "" {
		t.Fatalf("confirmed: %+v", conf)
	}
	a.req("GET", "/api/v1/me", tok, nil, 401, nil)
	a.req("GET", "/api/v1/me", conf.Token, nil, 200, nil)
	if b := a.req("POST", "/api/v1/me/totp", conf.Token, nil, 400, nil); !strings.Contains(string(b), "already enabled") {
		t.Errorf("a second enrolment: %s", b)
	}
	if b := a.do("GET", "/api/v1/users", access.RoleAdmin, nil, 200); strings.Contains(string(b), en.Secret) {
		t.Error("the user list shows the secret")
	}

	cr := map[string]string{"username": "investigator1", "password": "Role-investigator-Pw1"}
	if b := a.req("POST", "/api/v1/login", "", cr, 401, nil); !strings.Contains(string(b), `"totp_required"`) {
		t.Errorf("login without the code: %s", b)
	}
	good := totpCode(t, en.Secret, now.Add(30*time.Second))
	cr["totp"] = string('0'+(good[0]-'0'+1)%10) + good[1:]
	if b := a.req("POST", "/api/v1/login", "", cr, 401, nil); !strings.Contains(string(b), `"unauthorized"`) {
		t.Errorf("login with a wrong code: %s", b)
	}
	cr["totp"] = good
	var s totpSession
	a.req("POST", "/api/v1/login", "", cr, 200, &s)
	a.req("GET", "/api/v1/vehicles", s.Token, nil, 200, nil)
	a.req("POST", "/api/v1/login", "", cr, 401, nil) // replayed
	cr["totp"] = conf.Recovery[0]
	a.req("POST", "/api/v1/login", "", cr, 200, nil)
	a.req("POST", "/api/v1/login", "", cr, 401, nil) // a recovery code twice

	b := a.do("GET", "/api/v1/audit", access.RoleAuditor, nil, 200)
	for _, want := range []string{`"action":"totp.enrol"`, `"action":"totp.confirm"`, `"action":"totp.recovery_used"`, `"second_factor":"totp"`, `"second_factor":"recovery"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the audit has no %s", want)
		}
	}
}

// TestTOTPRequiredForAdministrators: with the setting on, an administrator without a second
// factor reaches only /me, logout, the password change and the enrolment (403
// totp_enrolment_required elsewhere, the live socket included) until they confirm one.
func TestTOTPRequiredForAdministrators(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acc := access.New(st, access.Options{RequireTOTPAdmins: true})
	if _, err := acc.EnsureAdmin(t.Context(), adminPassword); err != nil {
		t.Fatal(err)
	}
	s := mapui.NewServer(mapui.Config{Store: st, Access: acc, Hub: mapui.NewHub(nil, nil), Logger: slog.New(slog.DiscardHandler)}, nil)
	a := &api{t: t, srv: httptest.NewServer(s.Handler()), store: st, tokens: map[string]string{}}
	t.Cleanup(a.srv.Close)
	var se totpSession
	a.req("POST", "/api/v1/login", "", map[string]string{"username": "admin", "password": adminPassword}, 200, &se)
	if !se.EnrolRequired {
		t.Error("the login does not say the second factor must be enrolled")
	}
	for _, path := range []string{"/api/v1/vehicles", "/api/v1/users", "/api/v1/alerts"} {
		if b := a.req("GET", path, se.Token, nil, 403, nil); !strings.Contains(string(b), "totp_enrolment_required") {
			t.Errorf("GET %s: %s", path, b)
		}
	}
	a.req("POST", "/api/v1/users", se.Token, map[string]string{"username": "x1", "password": "Patrol-Passw0rd", "role": "patrol"}, 403, nil)
	a.tokens["enrol"] = se.Token
	if resp, err := a.dialLive("enrol"); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("live with a session that must enrol: %v, %v", err, resp)
	}
	var me struct {
		EnrolRequired bool `json:"totp_enrolment_required"`
	}
	a.req("GET", "/api/v1/me", se.Token, nil, 200, &me)
	if !me.EnrolRequired {
		t.Error("GET /me does not say the second factor must be enrolled")
	}
	var en struct{ Secret string }
	a.req("POST", "/api/v1/me/totp", se.Token, nil, 200, &en)
	var conf totpSession
	a.req("POST", "/api/v1/me/totp/confirm", se.Token, map[string]string{"code": totpCode(t, en.Secret, time.Now())}, 200, &conf)
	if conf.EnrolRequired {
		t.Error("the session after confirming is still limited")
	}
	a.req("GET", "/api/v1/users", conf.Token, nil, 200, nil)
	a.req("POST", "/api/v1/logout", conf.Token, nil, 204, nil)
}
