package mapui

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/mapui/access"
)

type userRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Role     string `json:"role"`
	Disabled *bool  `json:"disabled"`
	Unit     string `json:"unit"`
	// DeviceID links a patrol to the device their tablet reports under; "" unlinks, absent keeps.
	DeviceID *string `json:"device_id"`
}

// accessFail answers a refusal of access's rules with 400, a change the role may not make
// with 403, and anything else as a store error.
func (s *Server) accessFail(c *gin.Context, err error) {
	var pe access.PolicyError
	var fe access.ForbiddenError
	switch {
	case errors.As(err, &pe):
		badRequest(c, pe.Error())
	case errors.As(err, &fe):
		fail(c, http.StatusForbidden, "forbidden", fe.Error())
	default:
		s.storeFail(c, err)
	}
}

func (s *Server) listUsers(c *gin.Context) {
	us, err := s.cfg.Access.Users(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if !s.audited(c, "users.list", "users", gin.H{"users": len(us)}) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"users": us})
}

func (s *Server) createUser(c *gin.Context) {
	var req userRequest
	if !bindJSON(c, &req) || !s.checkUnit(c, req.Unit) || !s.checkDevice(c, req.DeviceID) {
		return
	}
	nu := access.NewUser{Username: req.Username, Password: req.Password, Role: req.Role, Unit: req.Unit}
	if req.DeviceID != nil {
		nu.DeviceID = *req.DeviceID
	}
	if req.Disabled != nil {
		nu.Disabled = *req.Disabled
	}
	u, err := s.cfg.Access.CreateUser(c.Request.Context(), actor(c), nu)
	if err != nil {
		s.accessFail(c, err)
		return
	}
	c.JSON(http.StatusCreated, u)
}

func (s *Server) updateUser(c *gin.Context) {
	var req userRequest
	if !bindJSON(c, &req) || !s.checkUnit(c, req.Unit) || !s.checkDevice(c, req.DeviceID) {
		return
	}
	u, err := s.cfg.Access.UpdateUser(c.Request.Context(), actor(c), c.Param("name"),
		access.UserChange{Role: req.Role, Password: req.Password, Disabled: req.Disabled, Unit: req.Unit, DeviceID: req.DeviceID})
	if err != nil {
		s.accessFail(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (s *Server) deleteUser(c *gin.Context) {
	if err := s.cfg.Access.DeleteUser(c.Request.Context(), actor(c), c.Param("name")); err != nil {
		s.accessFail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// unlockUser forgets the user's failed logins from every address (security administrator).
func (s *Server) unlockUser(c *gin.Context) {
	if err := s.cfg.Access.Unlock(c.Request.Context(), actor(c), c.Param("name")); err != nil {
		s.accessFail(c, err)
		return
	}
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
	recs, err := s.cfg.Access.Audit(c.Request.Context(), after, limit)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if !s.audited(c, "audit.read", "audit", gin.H{"after": after, "records": len(recs)}) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"records": recs})
}

// auditVerify checks the whole chain and the anchors (access.AuditReport).
func (s *Server) auditVerify(c *gin.Context) {
	rep, err := s.cfg.Access.VerifyAudit(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if !s.audited(c, "audit.verify", "audit", gin.H{"records": rep.Records, "ok": rep.OK, "first_broken_seq": rep.FirstBroken}) {
		return
	}
	c.JSON(http.StatusOK, rep)
}
