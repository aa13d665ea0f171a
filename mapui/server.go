// Package mapui serves BorderWatch to people and systems: the HTTP API under /api/v1, the live
// WebSocket, the embedded web app, health and metrics.
package mapui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// Ingest is what the API needs of the pipeline.
type Ingest interface {
	// Emit commits events and alerts that do not come from a fix (gate reads).
	Emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error
	// StoreError is the last commit's error, nil when the store takes writes.
	StoreError() error
}

// GateHandler receives gate reads; the rules compare them with GPS and declarations. It
// returns the gate_read event and any alerts, which the server commits through Ingest.
type GateHandler interface {
	GateRead(ctx context.Context, g tracker.GateRead) (tracker.Event, []tracker.Alert)
}

// WeighingHandler receives weighbridge readings; the rules match each to its vehicle and
// declaration and compare it with the declared weight and the trip's other readings. It
// returns the reading as matched with its event and alerts, which the server commits.
type WeighingHandler interface {
	Weighing(ctx context.Context, w tracker.Weighing) (tracker.Weighing, tracker.Outcome)
}

// Config configures the Server.
type Config struct {
	Store Store
	// Access decides who may do what: logins, sessions, users and the audit log. It must be
	// over Store.
	Access *access.Service
	Ingest Ingest
	Gates  GateHandler // may be nil: gate reads are stored as events only
	// GateJudge, when set, judges gate reads instead of Gates and may fail (in a cluster the
	// vehicle's owner judges; tracker.ErrUnavailable when none answers: 503).
	GateJudge func(ctx context.Context, g tracker.GateRead) (tracker.Event, []tracker.Alert, error)
	// Weighings may be nil: readings are stored, matched to no vehicle, and raise nothing.
	Weighings WeighingHandler
	// WeighingCommit, when set, judges and stores readings instead (CommitWeighing over Weighings,
	// Store and Ingest) and may fail: in a cluster the vehicle's owner does it, and none
	// answering is tracker.ErrUnavailable (503, nothing stored).
	WeighingCommit func(ctx context.Context, w tracker.Weighing) (tracker.Weighing, []tracker.Alert, error)
	// EmergencyWindow is an emergency declaration's validity when it gives no valid_to (default 2 h).
	EmergencyWindow time.Duration
	// ScaleTolerancePct is the tolerance the drift report judges scales by (the rules'; default 1).
	ScaleTolerancePct float64
	Hub               *Hub
	Risk              Ranker // may be nil: no risk ranking
	// Targets runs targeting orders and dispatch; nil: no /targets, /assignments, /stats/hits.
	Targets  *targeting.Service
	Logger   *slog.Logger
	Gatherer prometheus.Gatherer
	// ZonesChanged is called after any zone edit with the whole new zone set, to update the
	// geofence engine.
	ZonesChanged func(ctx context.Context, zones []geofence.Zone) error
	// DeclarationsChanged is called after a declaration is created or cancelled, so the rules
	// see it at once.
	DeclarationsChanged func(ctx context.Context, d tracker.Declaration)
	// VehiclesChanged is called after a vehicle is created or updated.
	VehiclesChanged func(ctx context.Context, v tracker.Vehicle)
	// Now is the clock of the data: default periods, gate read times, risk windows. The demo
	// sets the simulator's. Sessions, the audit log and people's actions always use the wall
	// clock: a login must not expire in minutes because the data runs at 60×.
	Now func() time.Time
	// ClockSpeedup, above 0, says Now is a simulated clock running this many times real time
	// (the demo's); GET /api/v1/config tells the web app, which shows it.
	ClockSpeedup float64
	// Ready reports extra readiness problems (e.g. the geofence backend); nil is ready. Its
	// error is shown on the public /readyz: it names the part, never an address or a secret.
	Ready func(ctx context.Context) error
	// Warnings are what /readyz reports without failing: things an operator must see that
	// taking the server out of service would not mend (e.g. fixes lost to a damaged fix log).
	Warnings func() []string
	// MaxBodyBytes caps request bodies (default 8 MiB; zone imports may need more).
	MaxBodyBytes int64
	// TrustedProxies are the addresses and CIDRs whose X-Forwarded-For and X-Real-IP are
	// believed; from anyone else the client is the connection's address. Default none: a
	// forged header would otherwise give a client any address it likes (login throttling, audit).
	TrustedProxies []string
	// UnitBufferM is how far around its port's zones a command or patrol user of a port unit
	// sees (default 30 km).
	UnitBufferM float64
	// LiveRecheck is how often a live WebSocket re-reads its session (default 5 s), to close
	// when another server on the same store ended it; this server's own logouts and user
	// changes close it at once.
	LiveRecheck time.Duration
	// Cluster reports the cluster (GET /api/v1/cluster); nil when the server runs alone.
	Cluster func(ctx context.Context) (any, error)
	// Webhooks are the settings of /webhooks/receivers (receivers added from the screens).
	Webhooks WebhookSettings
}

// Server is the HTTP side of BorderWatch.
type Server struct {
	cfg     Config
	log     *slog.Logger
	engine  *gin.Engine
	metrics *apiMetrics
}

type apiMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewServer builds the routes.
func NewServer(cfg Config, reg prometheus.Registerer) *Server {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UnitBufferM == 0 {
		cfg.UnitBufferM = defaultUnitBufferM
	}
	if cfg.EmergencyWindow == 0 {
		cfg.EmergencyWindow = 2 * time.Hour
	}
	if cfg.ScaleTolerancePct == 0 {
		cfg.ScaleTolerancePct = 1
	}
	if cfg.LiveRecheck == 0 {
		cfg.LiveRecheck = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.metrics = &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_http_api_requests_total", Help: "API requests by route and status."}, []string{"route", "code"}),
		latency:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bw_http_api_seconds", Help: "API latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(s.metrics.requests, s.metrics.latency)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	// gin trusts every proxy unless told otherwise.
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		s.log.Error("trusted proxies refused; trusting none", "err", err)
		e.SetTrustedProxies(nil)
	}
	e.Use(s.recoverer, secureHeaders, s.observe, s.limitBody, s.clientAddr)
	e.NoRoute(s.noRoute)
	e.NoMethod(func(c *gin.Context) { fail(c, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed") })
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	if cfg.Gatherer != nil {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{})))
	}
	api := e.Group("/api/v1")
	api.POST("/login", s.login)
	a := api.Group("", s.authenticate)
	a.POST("/logout", s.logout)
	a.GET("/me", s.me)
	a.POST("/me/password", s.changePassword)
	a.POST("/me/totp", s.enrolTOTP)
	a.POST("/me/totp/confirm", s.confirmTOTP)
	a.GET("/config", s.requirePerm(access.PermView), s.config)

	a.GET("/vehicles", s.requirePerm(access.PermView), s.listVehicles)
	a.POST("/vehicles", s.requirePerm(access.PermRegistry), s.createVehicle)
	a.GET("/vehicles/:id", s.requirePerm(access.PermView), s.getVehicle)
	a.PUT("/vehicles/:id", s.requirePerm(access.PermRegistry), s.updateVehicle)
	a.DELETE("/vehicles/:id", s.requirePerm(access.PermRegistry), s.deleteVehicle)
	a.GET("/vehicles/:id/track", s.requirePerm(access.PermTrack), s.track)

	a.GET("/devices", s.requirePerm(access.PermView), s.listDevices)
	a.POST("/devices", s.requirePerm(access.PermRegistry), s.createDevice)
	a.GET("/devices/:id", s.requirePerm(access.PermView), s.getDevice)
	a.PUT("/devices/:id", s.requirePerm(access.PermRegistry), s.updateDevice)
	a.DELETE("/devices/:id", s.requirePerm(access.PermRegistry), s.deleteDevice)
	a.POST("/devices/:id/reset-registration", s.requirePerm(access.PermRegistry), s.resetRegistration)

	a.GET("/positions", s.requirePerm(access.PermView), s.positions)
	a.GET("/search", s.requirePerm(access.PermSearch), s.search)

	a.GET("/zones", s.requirePerm(access.PermView), s.listZones)
	a.POST("/zones", s.requirePerm(access.PermZones), s.createZone)
	a.POST("/zones/import", s.requirePerm(access.PermZones), s.importZones)
	a.GET("/zones/:id", s.requirePerm(access.PermView), s.getZone)
	a.PUT("/zones/:id", s.requirePerm(access.PermZones), s.updateZone)
	a.DELETE("/zones/:id", s.requirePerm(access.PermZones), s.deleteZone)

	a.GET("/events", s.requirePerm(access.PermView), s.events)
	a.GET("/alerts", s.requirePerm(access.PermView), s.listAlerts)
	a.GET("/alerts/:id", s.requirePerm(access.PermView), s.getAlert)
	a.GET("/alerts/:id/photos/:sha", s.requirePerm(access.PermView), s.alertPhoto)
	a.GET("/alerts/:id/evidence", s.requirePerm(access.PermExport), s.alertEvidence)
	a.POST("/alerts/:id/ack", s.requirePerm(access.PermHandleAlerts), s.alertStatus(tracker.StatusAcknowledged))
	a.POST("/alerts/:id/resolve", s.requirePerm(access.PermHandleAlerts), s.alertStatus(tracker.StatusResolved))
	a.POST("/alerts/:id/confirm", s.requirePerm(access.PermHandleAlerts), s.confirmAlert)
	a.GET("/declarations", s.requirePerm(access.PermView), s.listDeclarations)
	a.POST("/declarations", s.requirePerm(access.PermDeclarations), s.createDeclaration)
	a.GET("/declarations/:id", s.requirePerm(access.PermView), s.getDeclaration)
	a.POST("/declarations/:id/cancel", s.requirePerm(access.PermDeclarations), s.cancelDeclaration)
	if cfg.Risk != nil {
		a.GET("/risk", s.requirePerm(access.PermView), s.risk)
	}
	a.POST("/gate-events", s.requirePerm(access.PermGate), s.gateEvent)
	a.POST("/weighings", s.requirePerm(access.PermWeighings), s.postWeighing)
	a.GET("/weighings", s.requirePerm(access.PermView), s.listWeighings)
	a.GET("/weighings/drift", s.requirePerm(access.PermView), s.scaleDrift)
	a.GET("/reports/daily", s.requirePerm(access.PermView), s.dailyReport)
	a.GET("/groups", s.requirePerm(access.PermTrack), s.groups)

	a.GET("/users", s.requirePerm(access.PermUsersRead), s.listUsers)
	a.POST("/users", s.requirePerm(access.PermUsers), s.createUser)
	a.PUT("/users/:name", s.requirePerm(access.PermUsers, access.PermRoles), s.updateUser)
	a.DELETE("/users/:name", s.requirePerm(access.PermUsers, access.PermRoles), s.deleteUser)
	a.POST("/users/:name/unlock", s.requirePerm(access.PermRoles), s.unlockUser)
	a.GET("/audit", s.requirePerm(access.PermAudit), s.audit)
	a.GET("/audit/verify", s.requirePerm(access.PermAudit), s.auditVerify)
	a.GET("/webhooks/deliveries", s.requirePerm(access.PermWebhooks), s.listDeliveries)
	a.POST("/webhooks/deliveries/:id/retry", s.requirePerm(access.PermWebhooks), s.retryDelivery)
	a.GET("/webhooks/receivers", s.requirePerm(access.PermWebhooks), s.listReceivers)
	a.POST("/webhooks/receivers", s.requirePerm(access.PermWebhooks), s.createReceiver)
	a.PATCH("/webhooks/receivers/:name", s.requirePerm(access.PermWebhooks), s.setReceiverEnabled)
	a.DELETE("/webhooks/receivers/:name", s.requirePerm(access.PermWebhooks), s.deleteReceiver)

	if cfg.Targets != nil {
		a.POST("/targets", s.requirePerm(access.PermTarget), s.issueTarget)
		a.GET("/targets", s.requirePerm(access.PermView), s.listTargets)
		a.GET("/targets/:id", s.requirePerm(access.PermView), s.getTarget)
		a.DELETE("/targets/:id", s.requirePerm(access.PermTarget), s.cancelTarget)
		a.POST("/targets/:id/photos", s.requirePerm(access.PermInspect), s.addPhoto)
		a.GET("/targets/:id/photos/:sha", s.requirePerm(access.PermView), s.getPhoto)
		a.POST("/targets/:id/result", s.requirePerm(access.PermInspect), s.reportTarget)
		a.POST("/targets/:id/takeover", s.requirePerm(access.PermTarget), s.takeOverTarget)
		a.GET("/patrols", s.requirePerm(access.PermDispatch), s.listPatrols)
		a.POST("/assignments", s.requirePerm(access.PermDispatch), s.assign)
		a.GET("/assignments", s.requirePerm(access.PermView), s.listAssignments)
		a.POST("/assignments/:id/accept", s.requirePerm(access.PermInspect), s.assignmentStep((*targeting.Service).Accept, "assignment.accept"))
		a.POST("/assignments/:id/arrive", s.requirePerm(access.PermInspect), s.assignmentStep((*targeting.Service).Arrive, "assignment.arrive"))
		a.GET("/stats/hits", s.requirePerm(access.PermView), s.hitStats)
	}
	if cfg.Cluster != nil {
		a.GET("/cluster", s.requirePerm(access.PermCluster), s.cluster)
	}

	if cfg.Hub != nil {
		cfg.Access.Watch(cfg.Hub)
		api.GET("/live", s.authenticate, s.requirePerm(access.PermView), s.live)
	}
	s.engine = e
	return s
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// apiError is the contract's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func fail(c *gin.Context, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	c.AbortWithStatusJSON(status, e)
}

func badRequest(c *gin.Context, msg string) { fail(c, http.StatusBadRequest, "bad_request", msg) }

// storeFail maps store errors to statuses.
func (s *Server) storeFail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, access.ErrAuditFailed):
		fail(c, http.StatusInternalServerError, "audit_failed", access.ErrAuditFailed.Error())
	case errors.Is(err, tracker.ErrNotFound):
		fail(c, http.StatusNotFound, "not_found", "no such object")
	case errors.Is(err, tracker.ErrConflict):
		fail(c, http.StatusConflict, "conflict", "an object with this id already exists")
	case errors.Is(err, tracker.ErrTransition):
		fail(c, http.StatusConflict, "invalid_transition", err.Error())
	case errors.Is(err, tracker.ErrStale):
		fail(c, http.StatusConflict, "stale", err.Error())
	case errors.Is(err, tracker.ErrUnavailable):
		fail(c, http.StatusServiceUnavailable, "unavailable", err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		fail(c, http.StatusServiceUnavailable, "unavailable", "request cancelled or timed out")
	default:
		s.log.Error("store error", "path", c.FullPath(), "err", err)
		fail(c, http.StatusInternalServerError, "internal", "store error")
	}
}

func (s *Server) noRoute(c *gin.Context) {
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		fail(c, http.StatusNotFound, "not_found", "no such API call")
		return
	}
	s.serveWebApp(c)
}

func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "path", c.Request.URL.Path, "panic", r)
			fail(c, http.StatusInternalServerError, "internal", "internal error")
		}
	}()
	c.Next()
}

func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	s.metrics.requests.WithLabelValues(route, strconv.Itoa(c.Writer.Status())).Inc()
	s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
}

func (s *Server) limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes)
	}
	c.Next()
}

// bindJSON decodes the body strictly: unknown fields are errors, so a typo is not ignored.
func bindJSON(c *gin.Context, dst any) bool {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(c, http.StatusRequestEntityTooLarge, "too_large", "request body too large")
			return false
		}
		badRequest(c, "reading the body: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		badRequest(c, "invalid JSON body: "+strings.TrimPrefix(err.Error(), "json: "))
		return false
	}
	if hasNUL(body) {
		badRequest(c, `text must not contain NUL (\u0000)`)
		return false
	}
	return true
}

// hasNUL reports whether a string of the JSON document body, a key or a value, holds NUL: the
// PostgreSQL store's text cannot, and an officer's note with one failed its request with a 500
// (the embedded store kept it). Only JSON's \u0000 escape makes one: a raw NUL is not JSON.
func hasNUL(body []byte) bool {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := tok.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	// The answer is public: it names what is wrong, the log says why. A store's error can
	// carry its address, user and database name.
	var problems []string
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Warn("not ready: store", "err", err)
		problems = append(problems, "store: not answering")
	}
	if s.cfg.Ingest != nil {
		if err := s.cfg.Ingest.StoreError(); err != nil {
			s.log.Warn("not ready: store writes failing", "err", err)
			problems = append(problems, "store: writes failing")
		}
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			problems = append(problems, err.Error())
		}
	}
	body := gin.H{"status": "ready"}
	if s.cfg.Warnings != nil {
		if w := s.cfg.Warnings(); len(w) > 0 {
			body["warnings"] = w
		}
	}
	if len(problems) > 0 {
		body["status"], body["problems"] = "not ready", problems
		c.JSON(http.StatusServiceUnavailable, body)
		return
	}
	c.JSON(http.StatusOK, body)
}

func (s *Server) config(c *gin.Context) {
	speedup := s.cfg.ClockSpeedup
	if speedup <= 0 {
		speedup = 1
	}
	c.JSON(http.StatusOK, gin.H{"timezone": "Asia/Shanghai", "server_time": s.cfg.Now().UTC(),
		"simulated_clock": s.cfg.ClockSpeedup > 0, "clock_speedup": speedup})
}

// parseTime accepts RFC 3339 (the contract) and Unix seconds.
func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, errors.New("not an RFC 3339 time")
}

// period reads from and to; a missing from is def before to, a missing to is now.
func (s *Server) period(c *gin.Context, def, max time.Duration) (from, to time.Time, ok bool) {
	to = s.cfg.Now().UTC()
	var err error
	if v := c.Query("to"); v != "" {
		if to, err = parseTime(v); err != nil {
			badRequest(c, "to: "+err.Error())
			return
		}
	}
	from = to.Add(-def)
	if v := c.Query("from"); v != "" {
		if from, err = parseTime(v); err != nil {
			badRequest(c, "from: "+err.Error())
			return
		}
	}
	if !from.Before(to) {
		badRequest(c, "from must be before to")
		return
	}
	if max > 0 && to.Sub(from) > max {
		badRequest(c, "period longer than "+max.String())
		return
	}
	return from, to, true
}
