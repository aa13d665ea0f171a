package osmand

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/ratelimit"
	"github.com/borderwatch/borderwatch/tracker"
)

// DefaultMaxBodyBytes bounds a request body; a Traccar Client JSON location is under 1 KiB.
const DefaultMaxBodyBytes = 64 << 10

// Config configures a Handler and a Server.
type Config struct {
	Addr       string             // listen address for ListenAndServe, e.g. ":5055"
	TLS        *tls.Config        // certificate for HTTPS (Server); nil: plain HTTP
	Sink       tracker.Sink       // where fixes go; required
	Admission  *tracker.Admission // who may report; required
	Logger     *slog.Logger       // nil: slog.Default()
	Registerer prometheus.Registerer

	MaxBodyBytes int64            // 0: DefaultMaxBodyBytes
	Now          func() time.Time // server clock for Fix.ReceivedAt; nil: time.Now
	// Limits bounds the requests of one HTTP connection (served by Server) and the fixes of
	// one device; over them the answer is 429 with Retry-After, and sustained abuse also
	// closes the connection. nil: no limits.
	Limits *ratelimit.Limiter
}

// Handler receives OsmAnd / Traccar Client requests (GET or POST, any path).
//
// It answers 200 with an empty body once the fix is stored; 400 with a plain-text reason for
// a request without id, with a number it cannot parse or out of range, or a fix the pipeline
// refused (*tracker.RefusedError); 403 for a device admission refuses; 413 for a body over
// the limit; 429 with Retry-After over the rate limits; 503 when the fix could not be stored
// (the client keeps it and retries).
type Handler struct {
	cfg  Config
	log  *slog.Logger
	m    *metrics
	gate *ratelimit.Gate
}

// NewHandler checks cfg, fills in defaults and registers the metrics.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Sink == nil || cfg.Admission == nil {
		return nil, errors.New("osmand: Config needs a Sink and an Admission")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("osmand: metrics: %w", err)
	}
	log := cfg.Logger.With("protocol", tracker.ProtocolOsmAnd)
	gate, err := cfg.Limits.Gate(tracker.ProtocolOsmAnd, log, cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, log: log, m: m, gate: gate}, nil
}

// connBucketKey keys the context value of a connection's request bucket (Server's ConnContext).
type connBucketKey struct{}

// limited is a request over a rate limit: answered 429, and with the connection closed on
// sustained abuse.
type limited struct {
	retryAfter time.Duration
	close      bool
}

// overLimit reports whether a verdict refuses, and how the refusal is answered.
func overLimit(v ratelimit.Verdict, wait time.Duration) (limited, bool) {
	if v == ratelimit.Allow {
		return limited{}, false
	}
	return limited{retryAfter: wait, close: v == ratelimit.Close}, true
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, reason, msg, lim := h.serve(r)
	h.m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	if reason != "" {
		h.m.rejected.WithLabelValues(reason).Inc()
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(lim.retryAfter.Seconds())))))
		if lim.close {
			w.Header().Set("Connection", "close")
		}
	}
	if code == http.StatusOK {
		w.WriteHeader(code)
		return
	}
	if code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "GET, POST")
	}
	http.Error(w, msg, code)
}

// serve handles r and returns the status, the rejection reason for the metrics ("" when none,
// or counted by the gate) and the message for the client; lim says how to answer a 429.
func (h *Handler) serve(r *http.Request) (code int, reason, msg string, lim limited) {
	// Every request of the connection counts, junk included: it costs as much to read.
	if b, ok := r.Context().Value(connBucketKey{}).(*ratelimit.Bucket); ok {
		if lim, over := overLimit(h.gate.Frame(b, r.RemoteAddr, ""), h.gate.FrameWait(b)); over {
			return http.StatusTooManyRequests, "", "too many requests on this connection", lim
		}
	}
	code, reason, msg, lim = h.serveFix(r)
	return
}

func (h *Handler) serveFix(r *http.Request) (code int, reason, msg string, lim limited) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, "", "only GET and POST", lim
	}
	now := h.cfg.Now()
	fix, err := h.decode(r, now)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", mbe.Limit), lim
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest, "malformed", err.Error(), lim
	case err != nil:
		return http.StatusBadRequest, "malformed", "reading body: " + err.Error(), lim
	}
	dev, err := h.cfg.Admission.Admit(r.Context(), tracker.ProtocolOsmAnd, fix.DeviceID)
	switch {
	case errors.Is(err, tracker.ErrUnknownDevice), errors.Is(err, tracker.ErrWrongProtocol):
		// One answer for both: whether an id is registered for another protocol is not the
		// client's business (it would map the fleet's JT/T 808 and GT06 ids).
		h.log.Info("device refused", "id", fix.DeviceID, "err", err)
		return http.StatusForbidden, "unknown_device", "device not registered for OsmAnd", lim
	case err != nil:
		h.log.Warn("admission failed", "id", fix.DeviceID, "err", err)
		return http.StatusServiceUnavailable, "", "device registry unavailable", lim
	}
	fix.DeviceID, fix.VehicleID = dev.ID, dev.VehicleID
	if d := h.gate.Acquire(dev.ID); d != nil {
		v, wait := h.gate.Fixes(d, 1, r.RemoteAddr), h.gate.FixWait(d, 1)
		h.gate.Release(d)
		if lim, over := overLimit(v, wait); over {
			return http.StatusTooManyRequests, "", fmt.Sprintf("device %q over its rate limit", dev.ID), lim
		}
	}
	err = h.cfg.Sink.Submit(r.Context(), []tracker.Fix{fix})
	var refused *tracker.RefusedError
	switch {
	case err == nil:
		return http.StatusOK, "", "", lim
	case errors.As(err, &refused):
		return http.StatusBadRequest, "refused", err.Error(), lim
	default:
		h.log.Warn("submit failed", "id", fix.DeviceID, "err", err)
		return http.StatusServiceUnavailable, "", "not stored, retry later", lim
	}
}

func (h *Handler) decode(r *http.Request, now time.Time) (tracker.Fix, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		return tracker.Fix{}, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		return DecodeJSON(body, now)
	}
	v := r.URL.Query()
	if len(body) > 0 {
		// Form posts and clients that put the query string in the body.
		bv, err := url.ParseQuery(string(body))
		if err != nil {
			return tracker.Fix{}, badf("body: %v", err)
		}
		for k, vs := range bv {
			v[k] = append(v[k], vs...)
		}
	}
	return DecodeQuery(v, now)
}

// Server serves a Handler over HTTP.
type Server struct {
	cfg Config
	h   *Handler
}

// NewServer returns a server of NewHandler(cfg).
func NewServer(cfg Config) (*Server, error) {
	h, err := NewHandler(cfg)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, h: h}, nil
}

// Handler returns the server's handler, to mount elsewhere.
func (s *Server) Handler() *Handler { return s.h }

// ListenAndServe listens on cfg.Addr and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("osmand: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTP (HTTPS with cfg.TLS) on ln until ctx is cancelled, then shuts down
// gracefully (requests in flight finish, for up to 10 seconds) and returns nil.
//
// A client has ReadHeaderTimeout to send a request's headers, however slowly it trickles them
// (slowloris), and ReadTimeout for the whole request.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLS != nil {
		tc := s.cfg.TLS.Clone()
		tc.NextProtos = []string{"http/1.1"} // no HTTP/2: see ConnContext
		ln = tls.NewListener(ln, tc)
	}
	srv := &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.h.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		// A connection's requests are served one after another (HTTP/1.1 only), so its bucket
		// needs no lock.
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connBucketKey{}, new(ratelimit.Bucket))
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.h.log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("osmand: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-errc
	return nil
}
