package mapui

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/tracker"
)

var validUsername = regexp.MustCompile(`^[a-zA-Z0-9_.\-]{2,64}$`)

type userRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Role     string `json:"role"`
	Disabled *bool  `json:"disabled"`
}

func (s *Server) listUsers(c *gin.Context) {
	us, err := s.cfg.Store.Users(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"users": us})
}

func (s *Server) createUser(c *gin.Context) {
	var req userRequest
	if !bindJSON(c, &req) {
		return
	}
	if !validUsername.MatchString(req.Username) {
		badRequest(c, "username must be 2–64 letters, digits, '_', '.', '-'")
		return
	}
	if !validRole(req.Role) {
		badRequest(c, "role must be admin, command, patrol, investigator or auditor")
		return
	}
	if err := CheckPassword(req.Password); err != nil {
		badRequest(c, err.Error())
		return
	}
	h, err := HashPassword(req.Password)
	if err != nil {
		badRequest(c, err.Error())
		return
	}
	u := tracker.User{Username: req.Username, Role: req.Role, Hash: h, CreatedAt: time.Now().UTC()}
	if req.Disabled != nil {
		u.Disabled = *req.Disabled
	}
	if err := s.cfg.Store.CreateUser(c.Request.Context(), u); err != nil {
		s.storeFail(c, err)
		return
	}
	s.audited(c, "user.create", "user:"+u.Username, gin.H{"role": u.Role})
	c.JSON(http.StatusCreated, u)
}

// updateUser changes a role, a password or the disabled flag; either ends the user's sessions,
// so a demoted or disabled user loses access at once.
func (s *Server) updateUser(c *gin.Context) {
	name := c.Param("name")
	var req userRequest
	if !bindJSON(c, &req) {
		return
	}
	u, err := s.cfg.Store.User(c.Request.Context(), name)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	changed := []string{}
	if req.Role != "" && req.Role != u.Role {
		if !validRole(req.Role) {
			badRequest(c, "role must be admin, command, patrol, investigator or auditor")
			return
		}
		if name == session(c).Username {
			badRequest(c, "an administrator cannot change their own role")
			return
		}
		u.Role = req.Role
		changed = append(changed, "role")
	}
	if req.Password != "" {
		if err := CheckPassword(req.Password); err != nil {
			badRequest(c, err.Error())
			return
		}
		if u.Hash, err = HashPassword(req.Password); err != nil {
			badRequest(c, err.Error())
			return
		}
		changed = append(changed, "password")
	}
	if req.Disabled != nil && *req.Disabled != u.Disabled {
		if name == session(c).Username {
			badRequest(c, "an administrator cannot disable themselves")
			return
		}
		u.Disabled = *req.Disabled
		changed = append(changed, "disabled="+strconv.FormatBool(u.Disabled))
	}
	if err := s.cfg.Store.UpdateUser(c.Request.Context(), u); err != nil {
		s.storeFail(c, err)
		return
	}
	if len(changed) > 0 {
		if err := s.cfg.Store.DeleteUserSessions(c.Request.Context(), name); err != nil {
			s.storeFail(c, err)
			return
		}
	}
	s.audited(c, "user.update", "user:"+name, gin.H{"changed": changed})
	c.JSON(http.StatusOK, u)
}

func (s *Server) deleteUser(c *gin.Context) {
	name := c.Param("name")
	if name == session(c).Username {
		badRequest(c, "an administrator cannot delete themselves")
		return
	}
	if err := s.cfg.Store.DeleteUser(c.Request.Context(), name); err != nil {
		s.storeFail(c, err)
		return
	}
	s.audited(c, "user.delete", "user:"+name, nil)
	c.Status(http.StatusNoContent)
}

func (s *Server) audit(c *gin.Context) {
	var after int64
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			badRequest(c, "after must be a record sequence number")
			return
		}
		after = n
	}
	limit := 1000
	if !limitParam(c, &limit) {
		return
	}
	recs, err := s.cfg.Store.Audit(c.Request.Context(), after, limit)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"records": recs})
}

// auditVerify walks the whole chain and reports the first broken link.
func (s *Server) auditVerify(c *gin.Context) {
	n, broken, err := VerifyAudit(c.Request.Context(), s.cfg.Store)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"records": n, "ok": broken == 0, "first_broken_seq": broken})
}
