package mapui

import (
	"errors"
	"net/http"
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
	}
	if !bindJSON(c, &req) {
		return
	}
	if req.Username == "" || req.Password == "" {
		badRequest(c, "username and password are required")
		return
	}
	token, se, err := s.cfg.Access.Login(c.Request.Context(), access.Credentials{Username: req.Username, Password: req.Password}, c.ClientIP())
	var throttled *access.ThrottledError
	switch {
	case errors.As(err, &throttled):
		c.Header("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		fail(c, http.StatusTooManyRequests, "too_many_attempts", err.Error())
		return
	case errors.Is(err, access.ErrBadCredentials):
		fail(c, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	case err != nil:
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"token": token, "expires_at": se.ExpiresAt.Format(time.RFC3339), "username": se.Username, "role": se.Role})
}

func bearer(c *gin.Context) string {
	if h := c.GetHeader("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	// Browsers cannot set headers on a WebSocket or a download link.
	if c.FullPath() == "/api/v1/live" || c.Query("format") != "" {
		return c.Query("token")
	}
	return ""
}

// authenticate lets a request with a valid bearer token through, with its session.
func (s *Server) authenticate(c *gin.Context) {
	token := bearer(c)
	if token == "" {
		fail(c, http.StatusUnauthorized, "unauthorized", "missing bearer token")
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
	c.Set(ctxSession, se)
	c.Next()
}

func session(c *gin.Context) tracker.Session {
	v, _ := c.Get(ctxSession)
	se, _ := v.(tracker.Session)
	return se
}

func (s *Server) requirePerm(p access.Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		se := session(c)
		if !access.Allowed(se.Role, p) {
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
	c.JSON(http.StatusOK, gin.H{"username": se.Username, "role": se.Role, "permissions": access.Permissions(se.Role), "expires_at": se.ExpiresAt.Format(time.RFC3339)})
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
