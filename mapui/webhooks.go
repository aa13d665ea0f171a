package mapui

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/tracker"
)

var deliveryStatuses = map[string]bool{"": true, tracker.DeliveryPending: true, tracker.DeliveryDelivered: true, tracker.DeliveryFailed: true}

// listDeliveries: GET /webhooks/deliveries?status=&hook=&alert_id=&limit=, newest first.
func (s *Server) listDeliveries(c *gin.Context) {
	q := tracker.DeliveryQuery{Hook: c.Query("hook"), Status: c.Query("status"), Limit: 100}
	if !deliveryStatuses[q.Status] {
		badRequest(c, "status must be pending, delivered or failed")
		return
	}
	if v := c.Query("alert_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			badRequest(c, "alert_id must be an alert ID")
			return
		}
		q.AlertID = id
	}
	if !limitParam(c, &q.Limit) {
		return
	}
	ds, err := s.cfg.Store.Deliveries(c.Request.Context(), q)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": ds})
}

// retryDelivery: POST /webhooks/deliveries/{id}/retry sends a failed delivery again, once the
// receiver that refused it has been fixed.
func (s *Server) retryDelivery(c *gin.Context) {
	id := c.Param("id")
	if err := s.cfg.Store.RetryDelivery(c.Request.Context(), id, time.Now()); err != nil {
		s.storeFail(c, err)
		return
	}
	if s.audited(c, "webhook.retry", "delivery:"+id, nil) {
		c.Status(http.StatusNoContent)
	}
}
