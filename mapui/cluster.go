package mapui

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// cluster answers GET /api/v1/cluster: the nodes, their roles, the partitions each tracker
// owns and its consumers' lag, the partitions nobody owns and the fix stream.
func (s *Server) cluster(c *gin.Context) {
	st, err := s.cfg.Cluster(c.Request.Context())
	if err != nil {
		s.log.Warn("cluster status", "err", err)
		fail(c, http.StatusServiceUnavailable, "cluster_unavailable", "the cluster's state cannot be read from NATS now")
		return
	}
	c.JSON(http.StatusOK, st)
}
