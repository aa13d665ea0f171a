package mapui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/borderwatch/borderwatch/tracker"
)

const ctxSession = "bw.session"

// dummyHash makes a login for an unknown user cost as much as for a known one.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.MinCost)

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
	now := time.Now()
	addr := c.ClientIP()
	if wait := s.throttle.blocked(req.Username, addr, now); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.record(c, req.Username, "login", "user:"+req.Username, "throttled", nil)
		fail(c, http.StatusTooManyRequests, "too_many_attempts", "too many failed logins; try again later")
		return
	}
	u, err := s.cfg.Store.User(c.Request.Context(), req.Username)
	if err != nil && !errors.Is(err, tracker.ErrNotFound) {
		s.storeFail(c, err)
		return
	}
	hash := []byte(u.Hash)
	if err != nil || u.Disabled {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(req.Password)) != nil || err != nil || u.Disabled {
		s.throttle.fail(req.Username, addr, now)
		s.record(c, req.Username, "login", "user:"+req.Username, "denied", nil)
		fail(c, http.StatusUnauthorized, "unauthorized", errBadCredentials.Error())
		return
	}
	s.throttle.succeed(req.Username)
	token, th := newToken()
	se := tracker.Session{TokenHash: th, Username: u.Username, Role: u.Role, CreatedAt: now.UTC(), ExpiresAt: now.Add(s.cfg.TokenTTL).UTC(), LastSeen: now.UTC()}
	if err := s.cfg.Store.CreateSession(c.Request.Context(), se); err != nil {
		s.storeFail(c, err)
		return
	}
	s.record(c, u.Username, "login", "user:"+u.Username, "ok", nil)
	c.JSON(http.StatusOK, gin.H{"token": token, "expires_at": se.ExpiresAt.Format(time.RFC3339), "username": u.Username, "role": u.Role})
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

// authenticate checks the bearer token: it must exist, not be expired, and have been used
// within the idle timeout.
func (s *Server) authenticate(c *gin.Context) {
	token := bearer(c)
	if token == "" {
		fail(c, http.StatusUnauthorized, "unauthorized", "missing bearer token")
		return
	}
	th := hashToken(token)
	se, err := s.cfg.Store.Session(c.Request.Context(), th)
	if errors.Is(err, tracker.ErrNotFound) {
		fail(c, http.StatusUnauthorized, "unauthorized", "invalid or revoked token")
		return
	}
	if err != nil {
		s.storeFail(c, err)
		return
	}
	now := time.Now()
	if now.After(se.ExpiresAt) || now.Sub(se.LastSeen) > s.cfg.IdleTimeout {
		s.cfg.Store.DeleteSession(c.Request.Context(), th)
		fail(c, http.StatusUnauthorized, "token_expired", "token expired; log in again")
		return
	}
	// Touch at most once a minute: the idle clock needs no finer grain, and every write
	// competes with ingest for the store.
	if now.Sub(se.LastSeen) > time.Minute {
		s.cfg.Store.TouchSession(c.Request.Context(), th, now.UTC())
	}
	c.Set(ctxSession, se)
	c.Next()
}

func session(c *gin.Context) tracker.Session {
	v, _ := c.Get(ctxSession)
	se, _ := v.(tracker.Session)
	return se
}

func (s *Server) requirePerm(p Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		se := session(c)
		if !Allowed(se.Role, p) {
			fail(c, http.StatusForbidden, "forbidden", "role "+se.Role+" may not do this")
			return
		}
		c.Next()
	}
}

func (s *Server) logout(c *gin.Context) {
	se := session(c)
	if err := s.cfg.Store.DeleteSession(c.Request.Context(), se.TokenHash); err != nil && !errors.Is(err, tracker.ErrNotFound) {
		s.storeFail(c, err)
		return
	}
	s.record(c, se.Username, "logout", "user:"+se.Username, "ok", nil)
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	se := session(c)
	perms := []Permission{}
	for _, p := range rolePermissions[se.Role] {
		perms = append(perms, p)
	}
	c.JSON(http.StatusOK, gin.H{"username": se.Username, "role": se.Role, "permissions": perms, "expires_at": se.ExpiresAt.Format(time.RFC3339)})
}

// record appends to the audit log. A failure to audit is logged loudly but does not undo the
// action that has already happened.
func (s *Server) record(c *gin.Context, actor, action, object, result string, detail any) {
	var raw json.RawMessage
	if detail != nil {
		raw, _ = json.Marshal(detail)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
	defer cancel()
	if _, err := s.cfg.Store.AppendAudit(ctx, tracker.AuditRecord{Time: time.Now().UTC(), Actor: actor, Action: action, Object: object, Result: result, Detail: raw}); err != nil {
		s.log.Error("audit append failed", "action", action, "object", object, "err", err)
	}
}

// audited records an action of the signed-in user.
func (s *Server) audited(c *gin.Context, action, object string, detail any) {
	s.record(c, session(c).Username, action, object, "ok", detail)
}
