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

// audited records an action of the signed-in user.
func (s *Server) audited(c *gin.Context, action, object string, detail any) {
	s.cfg.Access.Record(c.Request.Context(), session(c).Username, action, object, "ok", detail)
}
