package mapui

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// actor is the signed-in user as targeting sees them: their unit, read again as areaOf does.
// Roles a unit does not narrow act for the district.
func (s *Server) actor(c *gin.Context) (targeting.Actor, bool) {
	se := session(c)
	a := targeting.Actor{Username: se.Username, Unit: tracker.UnitDistrict}
	if !unitScoped[se.Role] {
		return a, true
	}
	u, err := s.cfg.Access.User(c.Request.Context(), se.Username)
	if err != nil {
		s.storeFail(c, err)
		return a, false
	}
	if u.Unit != "" {
		a.Unit = u.Unit
	}
	return a, true
}

// targetFail answers a refused or failed targeting action and audits the refusal.
func (s *Server) targetFail(c *gin.Context, action, object string, err error) {
	result := "error"
	if errors.Is(err, targeting.ErrInvalid) || errors.Is(err, targeting.ErrForbidden) || errors.Is(err, tracker.ErrNotFound) ||
		errors.Is(err, tracker.ErrTransition) || errors.Is(err, tracker.ErrStale) {
		result = "refused"
	}
	s.cfg.Access.Record(c.Request.Context(), session(c).Username, action, object, result, gin.H{"error": err.Error()})
	switch {
	case errors.Is(err, targeting.ErrInvalid):
		badRequest(c, strings.TrimPrefix(err.Error(), targeting.ErrInvalid.Error()+": "))
	case errors.Is(err, targeting.ErrForbidden):
		fail(c, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, tracker.ErrStale):
		fail(c, http.StatusConflict, "stale", err.Error())
	case errors.Is(err, tracker.ErrTransition):
		fail(c, http.StatusConflict, "invalid_transition", "not possible in the object's present status")
	default:
		s.storeFail(c, err)
	}
}

func (s *Server) issueTarget(c *gin.Context) {
	var r targeting.Request
	if !bindJSON(c, &r) {
		return
	}
	by, ok := s.actor(c)
	if !ok || !s.alertVisible(c, r.AlertID) {
		return
	}
	o, err := s.cfg.Targets.Issue(c.Request.Context(), by, r)
	if err != nil {
		s.targetFail(c, "target.issue", "target", err)
		return
	}
	c.JSON(http.StatusCreated, o)
}

// alertVisible answers 404 and returns false when the user's area does not show the alert id
// (0: none named).
func (s *Server) alertVisible(c *gin.Context, id int64) bool {
	if id <= 0 {
		return true
	}
	area, ok := s.scope(c)
	if !ok {
		return false
	}
	err := s.alertInArea(c.Request.Context(), area, id)
	switch {
	case errors.Is(err, tracker.ErrNotFound):
		// As for an alert that does not exist: the answer tells nothing of other ports' alerts.
		s.cfg.Access.Record(c.Request.Context(), session(c).Username, "target.issue", "alert:"+strconv.FormatInt(id, 10), "refused", gin.H{"error": "outside the unit's area"})
		badRequest(c, "alert "+strconv.FormatInt(id, 10)+" does not exist")
		return false
	case err != nil:
		s.storeFail(c, err)
		return false
	}
	return true
}

var targetStatuses = map[string]bool{"": true, tracker.TargetActive: true, tracker.TargetFired: true, tracker.TargetClosed: true,
	tracker.TargetCancelled: true, tracker.TargetExpired: true}

func (s *Server) listTargets(c *gin.Context) {
	q := tracker.TargetQuery{Status: c.Query("status"), VehicleID: c.Query("vehicle_id"), Plate: c.Query("plate"), Limit: 1000}
	if !targetStatuses[q.Status] {
		badRequest(c, "status must be active, fired, closed, cancelled or expired")
		return
	}
	if !s.optionalPeriod(c, &q.From, &q.To) || !limitParam(c, &q.Limit) {
		return
	}
	by, ok := s.actor(c)
	if !ok {
		return
	}
	os, err := s.cfg.Targets.Orders(c.Request.Context(), by, q)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"targets": os})
}

func (s *Server) getTarget(c *gin.Context) {
	by, ok := s.actor(c)
	if !ok {
		return
	}
	// A patrol the district sent to another port's order reads it too.
	o, err := s.cfg.Targets.OrderSentTo(c.Request.Context(), by, c.Param("id"))
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, o)
}

func (s *Server) cancelTarget(c *gin.Context) {
	var req struct {
		Reason string `json:"reason"`
	}
	if c.Request.ContentLength != 0 && !bindJSON(c, &req) {
		return
	}
	by, ok := s.actor(c)
	if !ok {
		return
	}
	o, err := s.cfg.Targets.Cancel(c.Request.Context(), by, c.Param("id"), strings.TrimSpace(req.Reason))
	if err != nil {
		s.targetFail(c, "target.cancel", "target:"+c.Param("id"), err)
		return
	}
	c.JSON(http.StatusOK, o)
}

// addPhoto takes one photo as the multipart field "photo". Its name and claimed type are not
// used: the bytes say what it is and their SHA-256 names it.
func (s *Server) addPhoto(c *gin.Context) {
	object := "target:" + c.Param("id")
	// The multipart envelope adds little; a photo over the limit is refused before it is read whole.
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, targeting.MaxPhotoBytes+64<<10)
	f, _, err := c.Request.FormFile("photo")
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(c, http.StatusRequestEntityTooLarge, "too_large", "a photo may have at most 5 MiB")
			return
		}
		badRequest(c, "expected a multipart/form-data body with the file field photo")
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, targeting.MaxPhotoBytes+1))
	switch {
	case err != nil:
		badRequest(c, "the photo could not be read")
		return
	case len(data) > targeting.MaxPhotoBytes:
		fail(c, http.StatusRequestEntityTooLarge, "too_large", "a photo may have at most 5 MiB")
		return
	}
	by, ok := s.actor(c)
	if !ok {
		return
	}
	p, err := s.cfg.Targets.AddPhoto(c.Request.Context(), by, c.Param("id"), data)
	if err != nil {
		s.targetFail(c, "target.photo", object, err)
		return
	}
	c.JSON(http.StatusCreated, p)
}

func (s *Server) getPhoto(c *gin.Context) {
	by, ok := s.actor(c)
	if !ok {
		return
	}
	p, err := s.cfg.Targets.Photo(c.Request.Context(), by, c.Param("id"), c.Param("sha"))
	switch {
	case errors.Is(err, targeting.ErrInvalid):
		badRequest(c, "a photo is named by its SHA-256 in lower-case hex")
		return
	case err != nil:
		s.storeFail(c, err)
		return
	}
	c.Header("Cache-Control", "private, max-age=86400, immutable")
	c.Header("Content-Disposition", "inline")
	c.Data(http.StatusOK, p.ContentType, p.Data)
}

// reportTarget records the inspection's result; the order's alert is resolved with it.
func (s *Server) reportTarget(c *gin.Context) {
	var r targeting.Report
	if !bindJSON(c, &r) {
		return
	}
	by, ok := s.actor(c)
	if !ok {
		return
	}
	object := "target:" + c.Param("id")
	o, err := s.cfg.Targets.Report(c.Request.Context(), by, c.Param("id"), r)
	if err != nil {
		s.targetFail(c, "target.result", object, err)
		return
	}
	if o.AlertID != 0 {
		note := "inspection: nothing found"
		if r.Found {
			note = "inspection: found " + r.Category
		}
		a, err := s.cfg.Store.SetAlertStatus(c.Request.Context(), o.AlertID, tracker.StatusResolved, by.Username, note, s.cfg.Now().UTC())
		switch {
		case err == nil:
			if s.cfg.Hub != nil {
				s.cfg.Hub.Publish(nil, nil, []tracker.Alert{a})
			}
			if !s.audited(c, "alert.resolve", "alert:"+strconv.FormatInt(a.ID, 10), gin.H{"note": note, "order": o.ID}) {
				return
			}
		case !errors.Is(err, tracker.ErrTransition): // resolved already: nothing to do
			s.storeFail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, o)
}

func (s *Server) assign(c *gin.Context) {
	var r targeting.AssignRequest
	if !bindJSON(c, &r) {
		return
	}
	by, ok := s.actor(c)
	if !ok || !s.alertVisible(c, r.AlertID) {
		return
	}
	a, err := s.cfg.Targets.Assign(c.Request.Context(), by, r)
	if err != nil {
		s.targetFail(c, "assignment.create", "assignment", err)
		return
	}
	c.JSON(http.StatusCreated, a)
}

func (s *Server) listAssignments(c *gin.Context) {
	by, ok := s.actor(c)
	if !ok {
		return
	}
	as, err := s.cfg.Targets.Assignments(c.Request.Context(), by, c.Query("all") == "true")
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if as == nil {
		as = []targeting.AssignmentView{}
	}
	c.JSON(http.StatusOK, gin.H{"assignments": as})
}

// assignmentStep answers accept or arrive (step is the targeting.Service method).
func (s *Server) assignmentStep(step func(*targeting.Service, context.Context, targeting.Actor, string) (tracker.Assignment, error), action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		by, ok := s.actor(c)
		if !ok {
			return
		}
		a, err := step(s.cfg.Targets, c.Request.Context(), by, c.Param("id"))
		if err != nil {
			s.targetFail(c, action, "assignment:"+c.Param("id"), err)
			return
		}
		c.JSON(http.StatusOK, a)
	}
}

func (s *Server) hitStats(c *gin.Context) {
	var from, to = s.cfg.Now().UTC().AddDate(-1, 0, 0), s.cfg.Now().UTC().Add(time.Minute)
	if !s.optionalPeriod(c, &from, &to) {
		return
	}
	by, ok := s.actor(c)
	if !ok {
		return
	}
	st, err := s.cfg.Targets.Stats(c.Request.Context(), by, from, to)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"from": from, "to": to, "rows": st.Rows, "baseline": st.Baseline})
}
