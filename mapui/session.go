package mapui

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

const ctxSession = "bw.session"

func (s *Server) login(c *gin.Context) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
		TOTP     string `json:"totp"`
	}
	if !bindJSON(c, &req) {
		return
	}
	if req.Username == "" || req.Password == "" {
		badRequest(c, "username and password are required")
		return
	}
	token, se, err := s.cfg.Access.Login(c.Request.Context(), access.Credentials{Username: req.Username, Password: req.Password, TOTP: req.TOTP}, c.ClientIP())
	var throttled *access.ThrottledError
	var pe access.PolicyError
	switch {
	case errors.As(err, &pe):
		badRequest(c, pe.Error())
		return
	case errors.As(err, &throttled):
		tooManyAttempts(c, throttled)
		return
	case errors.Is(err, access.ErrBadCredentials):
		fail(c, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	case errors.Is(err, access.ErrTOTPRequired):
		fail(c, http.StatusUnauthorized, "totp_required", err.Error())
		return
	case err != nil:
		s.storeFail(c, err)
		return
	}
	s.sessionOpened(c, token, se)
}

// tooManyAttempts answers a throttled login or password change with 429 and Retry-After.
func tooManyAttempts(c *gin.Context, te *access.ThrottledError) {
	c.Header("Retry-After", strconv.Itoa(int(te.RetryAfter.Seconds())+1))
	fail(c, http.StatusTooManyRequests, "too_many_attempts", te.Error())
}

// sessionOpened answers a login or a password change with the new session.
func (s *Server) sessionOpened(c *gin.Context, token string, se tracker.Session) {
	c.JSON(http.StatusOK, gin.H{"token": token, "expires_at": se.ExpiresAt.Format(time.RFC3339), "username": se.Username, "role": se.Role,
		"must_change": se.MustChange, "totp_enrolment_required": se.TOTPEnrol})
}

// enrolTOTP starts the signed-in user's second factor: {"secret","otpauth_url"}, pending until
// confirmed.
func (s *Server) enrolTOTP(c *gin.Context) {
	en, err := s.cfg.Access.EnrolTOTP(c.Request.Context(), session(c))
	if err != nil {
		s.accessFail(c, err)
		return
	}
	c.JSON(http.StatusOK, en)
}

// confirmTOTP enables the pending second factor with a code of it: {"code"}. It answers with the
// recovery codes, shown this once, and a new session, as a login does; every session of the
// user, this one too, has ended.
func (s *Server) confirmTOTP(c *gin.Context) {
	var req struct {
		Code string `json:"code"`
	}
	if !bindJSON(c, &req) {
		return
	}
	recovery, token, se, err := s.cfg.Access.ConfirmTOTP(c.Request.Context(), session(c), req.Code)
	switch {
	case errors.Is(err, access.ErrBadTOTP):
		fail(c, http.StatusBadRequest, "invalid_code", err.Error())
	case err != nil:
		s.accessFail(c, err)
	default:
		c.JSON(http.StatusOK, gin.H{"recovery_codes": recovery, "token": token, "expires_at": se.ExpiresAt.Format(time.RFC3339), "username": se.Username,
			"role": se.Role, "must_change": se.MustChange, "totp_enrolment_required": se.TOTPEnrol})
	}
}

// changePassword sets the signed-in user's password: {"old","new"}. It answers with a new
// session, as a login does; every session of the user, this one too, has ended.
func (s *Server) changePassword(c *gin.Context) {
	var req struct {
		Old string `json:"old"`
		New string `json:"new"`
	}
	if !bindJSON(c, &req) {
		return
	}
	token, se, err := s.cfg.Access.ChangePassword(c.Request.Context(), session(c), req.Old, req.New)
	var throttled *access.ThrottledError
	switch {
	case errors.As(err, &throttled):
		tooManyAttempts(c, throttled)
	case errors.Is(err, access.ErrBadCredentials):
		fail(c, http.StatusForbidden, "wrong_password", "the old password is wrong")
	case err != nil:
		s.accessFail(c, err)
	default:
		s.sessionOpened(c, token, se)
	}
}

// bearer returns the request's token, or why it has none.
func bearer(c *gin.Context) (token, problem string) {
	if h := c.GetHeader("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok && strings.TrimSpace(t) != "" {
			return strings.TrimSpace(t), ""
		}
		return "", "missing bearer token"
	}
	switch t := c.Query("token"); {
	case t == "":
		return "", "missing bearer token"
	case !tokenInURLAllowed(c):
		return "", "a token in the URL is accepted only by track exports and the live socket; send it as Authorization: Bearer"
	default:
		return t, ""
	}
}

// tokenInURLAllowed reports whether the request may carry its token as ?token=: browsers cannot
// set headers on a WebSocket or a download link. Anywhere else a URL's token would end up in
// proxy logs, histories and bookmarks for nothing.
func tokenInURLAllowed(c *gin.Context) bool {
	switch c.FullPath() {
	case "/api/v1/live":
		return true
	case "/api/v1/vehicles/:id/track":
		_, export := exporters[c.Query("format")]
		return export
	}
	return false
}

// authenticate lets a request with a valid bearer token through, with its session.
func (s *Server) authenticate(c *gin.Context) {
	token, problem := bearer(c)
	if token == "" {
		fail(c, http.StatusUnauthorized, "unauthorized", problem)
		return
	}
	se, err := s.cfg.Access.Authenticate(c.Request.Context(), token)
	switch {
	case errors.Is(err, access.ErrInvalidToken):
		fail(c, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	case errors.Is(err, access.ErrTokenExpired):
		fail(c, http.StatusUnauthorized, "token_expired", err.Error())
		return
	case err != nil:
		s.storeFail(c, err)
		return
	}
	if se.MustChange && !passwordChangeRoutes[c.Request.Method+" "+c.FullPath()] {
		fail(c, http.StatusForbidden, "password_change_required", "change your password first: POST /api/v1/me/password")
		return
	}
	if se.TOTPEnrol && !totpEnrolmentRoutes[c.Request.Method+" "+c.FullPath()] {
		fail(c, http.StatusForbidden, "totp_enrolment_required", "your role requires two-factor login: enrol it first (POST /api/v1/me/totp)")
		return
	}
	c.Set(ctxSession, se)
	c.Next()
}

// passwordChangeRoutes are all a session that must change its password may call.
var passwordChangeRoutes = map[string]bool{
	"POST /api/v1/me/password": true,
	"GET /api/v1/me":           true,
	"POST /api/v1/logout":      true,
}

// totpEnrolmentRoutes are all a session that must enrol a second factor may call.
var totpEnrolmentRoutes = map[string]bool{
	"POST /api/v1/me/totp":         true,
	"POST /api/v1/me/totp/confirm": true,
	"POST /api/v1/me/password":     true,
	"GET /api/v1/me":               true,
	"POST /api/v1/logout":          true,
}

func session(c *gin.Context) tracker.Session {
	v, _ := c.Get(ctxSession)
	se, _ := v.(tracker.Session)
	return se
}

// actor is the signed-in user as access's user administration sees them.
func actor(c *gin.Context) access.Actor {
	se := session(c)
	return access.Actor{Username: se.Username, Role: se.Role}
}

// requirePerm lets a request through when the session's role has any of perms; access then
// decides the finer rules (whose account an administrator may change).
func (s *Server) requirePerm(perms ...access.Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		se := session(c)
		if !slices.ContainsFunc(perms, func(p access.Permission) bool { return access.Allowed(se.Role, p) }) {
			fail(c, http.StatusForbidden, "forbidden", "role "+se.Role+" may not do this")
			return
		}
		c.Next()
	}
}

func (s *Server) logout(c *gin.Context) {
	if err := s.cfg.Access.Logout(c.Request.Context(), session(c)); err != nil {
		s.storeFail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	se := session(c)
	u, err := s.cfg.Access.User(c.Request.Context(), se.Username)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"username": se.Username, "role": se.Role, "permissions": access.Permissions(se.Role), "expires_at": se.ExpiresAt.Format(time.RFC3339),
		"must_change": se.MustChange, "totp": u.TOTPConfirmed, "totp_enrolment_required": se.TOTPEnrol, "unit": u.Unit})
}

// record writes an action of the signed-in user to the audit log, with the client's address.
func (s *Server) record(c *gin.Context, action, object string, detail any) error {
	return s.cfg.Access.Record(c.Request.Context(), session(c).Username, action, object, "ok", detail)
}

// audited records an action of the signed-in user; when the audit log cannot take the record it
// answers 500 audit_failed and returns false, and the caller answers nothing more. A read is
// audited before it answers, so an unaudited read returns nothing; a change once stored, after
// the server's state (rules, hub) has followed it.
func (s *Server) audited(c *gin.Context, action, object string, detail any) bool {
	if err := s.record(c, action, object, detail); err != nil {
		s.storeFail(c, err)
		return false
	}
	return true
}

// clientAddr puts the client's address, as gin sees it (forwarded headers count only from
// trusted proxies), on the request's context: access.Record writes it on every record.
func (s *Server) clientAddr(c *gin.Context) {
	c.Request = c.Request.WithContext(access.WithClientAddr(c.Request.Context(), c.ClientIP()))
	c.Next()
}
