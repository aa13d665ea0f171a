// Package notifier sends alert changes to webhooks. The store's outbox (Outbox) holds
// every change from the transaction that made it, so nothing is lost between a committed alert
// and its notification; the notifier routes changes into one delivery per interested hook and
// POSTs them, at least once and in order per alert, retrying with capped exponential backoff
// until the receiver takes them (2xx) or refuses them for good (4xx other than 408, 425, 429).
// Delivery state lives in the store, so a restart carries on where it stopped, and several
// servers on one PostgreSQL database never send the same delivery at the same time.
package notifier

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/tracker"
)

// Outbox is what the notifier needs of the store's outbox; storetest.Store documents each method.
type Outbox interface {
	Route(ctx context.Context, limit int, now time.Time, hooks func(tracker.AlertChange) []string) (int, error)
	ClaimDeliveries(ctx context.Context, hook, owner string, now time.Time, lease time.Duration, limit int) ([]tracker.Delivery, error)
	RecordAttempts(ctx context.Context, owner string, attempts []tracker.DeliveryAttempt) error
	OutboxBacklog(ctx context.Context) (unrouted int, pending map[string]int, err error)
	PruneOutbox(ctx context.Context, before time.Time) (int, error)
}

// Config configures a Notifier. Zero durations take the defaults named.
type Config struct {
	Outbox Outbox
	Hooks  []Hook
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a retry (default 1 s and 5 min): it
	// doubles with each failed attempt of a delivery, with jitter, and never gives up.
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often the outbox is checked for new changes and due retries (default 250 ms).
	Poll time.Duration
	// Batch is how many deliveries one hook sends at once, each for a different alert (default 16).
	Batch int
	// Retention is how long finished deliveries stay visible before they are pruned (default 7 days).
	Retention time.Duration
	// Owner names this server in delivery leases (default host name, process ID and a random part).
	Owner string
	// Client sends the requests (default: an http.Client that does not follow redirects).
	Client *http.Client
	// Source, when set, adds receivers to Hooks (those added from the screens); it is read
	// again every Refresh (default 5 s) and on Reload. Its hooks with a name of Hooks are
	// ignored. Hooks marked Guarded are sent through a client that connects to public
	// addresses only, or also private ones with AllowPrivate (see target.go).
	Source       func(ctx context.Context) ([]Hook, error)
	Refresh      time.Duration
	AllowPrivate bool
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// Notifier delivers the outbox to the configured hooks and those of its Source.
type Notifier struct {
	cfg     Config
	log     *slog.Logger
	m       *metrics
	lease   time.Duration
	guarded *http.Client
	reload  chan struct{}

	mu    sync.Mutex
	hooks []Hook           // the hooks changes are routed to now
	loops map[string]*loop // one per hook in hooks
}

// loop is one hook's delivery goroutine. Its hook is replaced when the receiver changes.
type loop struct {
	hook   atomic.Pointer[Hook]
	wake   chan struct{}
	cancel context.CancelFunc
}

// New checks the configuration and registers the metrics.
func New(cfg Config) (*Notifier, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("notifier: no outbox")
	}
	if err := checkHooks(cfg.Hooks); err != nil {
		return nil, fmt.Errorf("notifier: %w", err)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, 10*time.Second)
	def(&cfg.MinBackoff, time.Second)
	def(&cfg.MaxBackoff, 5*time.Minute)
	def(&cfg.Poll, 250*time.Millisecond)
	def(&cfg.Retention, 7*24*time.Hour)
	def(&cfg.Refresh, 5*time.Second)
	if cfg.Batch <= 0 {
		cfg.Batch = 16
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:8])
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			// A redirect is the receiver's configuration problem; following it would turn a POST
			// into a GET (301, 302) or send the alert somewhere nobody configured.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport:     &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: cfg.Batch, IdleConnTimeout: 90 * time.Second},
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer), loops: map[string]*loop{}, reload: make(chan struct{}, 1),
		// A lease outlives an attempt, so only a server that died mid-attempt loses one.
		lease: 2*cfg.Timeout + 10*time.Second,
		// No proxy: the guard must see the receiver's address, not the proxy's.
		guarded: &http.Client{
			CheckRedirect: cfg.Client.CheckRedirect,
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: cfg.Timeout, Control: guardedControl(cfg.AllowPrivate)}).DialContext,
				MaxIdleConnsPerHost: cfg.Batch, IdleConnTimeout: 90 * time.Second,
			},
		}}
	n.hooks = slices.Clone(cfg.Hooks)
	return n, nil
}

// Configured are the hooks of the settings.
func (n *Notifier) Configured() []Hook { return slices.Clone(n.cfg.Hooks) }

// Reload makes the notifier read its Source again now, after a receiver was added, changed
// or removed on this server; other servers see the change within Refresh.
func (n *Notifier) Reload() {
	select {
	case n.reload <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. Attempts under way when it ends finish (within Timeout) and
// are recorded, so a graceful stop neither cuts a request nor leaves a lease behind.
func (n *Notifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	n.refresh(ctx, &wg)
	n.routeLoop(ctx, &wg)
	wg.Wait()
}

// refresh reads the Source and starts, updates and stops the delivery loops to match. A Source
// that fails keeps the hooks it gave last.
func (n *Notifier) refresh(ctx context.Context, wg *sync.WaitGroup) {
	want := slices.Clone(n.cfg.Hooks)
	if n.cfg.Source != nil {
		extra, err := n.cfg.Source(ctx)
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("webhooks: reading the receivers added from the screens", "err", err)
			}
			n.mu.Lock()
			want = slices.Clone(n.hooks)
			n.mu.Unlock()
		}
		for _, h := range extra {
			if slices.ContainsFunc(want, func(o Hook) bool { return o.Name == h.Name }) {
				n.log.Warn("webhooks: a receiver added from the screens has the name of another; ignored", "name", h.Name)
			} else if err := h.validate(); err != nil {
				n.log.Warn("webhooks: a receiver added from the screens is invalid; ignored", "name", h.Name, "err", err)
			} else {
				want = append(want, h)
			}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hooks = want
	keep := map[string]bool{}
	for i := range want {
		h := &want[i]
		keep[h.Name] = true
		if l, ok := n.loops[h.Name]; ok {
			l.hook.Store(h)
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		l := &loop{wake: make(chan struct{}, 1), cancel: cancel}
		l.hook.Store(h)
		n.loops[h.Name] = l
		wg.Go(func() { n.deliverLoop(lctx, l) })
	}
	for name, l := range n.loops {
		if !keep[name] {
			l.cancel()
			delete(n.loops, name)
		}
	}
}

// routeLoop routes new changes to the hooks, keeps the backlog gauges and prunes.
func (n *Notifier) routeLoop(ctx context.Context, wg *sync.WaitGroup) {
	t := time.NewTicker(n.cfg.Poll)
	defer t.Stop()
	var lastGauge, lastPrune time.Time
	lastRefresh := time.Now()
	routing := trouble{log: n.log, what: "webhook outbox: routing changes"}
	for {
		routed := 0
		for {
			k, err := n.cfg.Outbox.Route(ctx, 256, time.Now(), n.route)
			if ctx.Err() != nil {
				return
			}
			if routing.report(err); err != nil {
				break
			}
			if routed += k; k == 0 {
				break
			}
		}
		if routed > 0 {
			n.mu.Lock()
			for _, l := range n.loops {
				select {
				case l.wake <- struct{}{}:
				default:
				}
			}
			n.mu.Unlock()
		}
		now := time.Now()
		if now.Sub(lastRefresh) >= n.cfg.Refresh {
			lastRefresh = now
			n.refresh(ctx, wg)
		}
		if now.Sub(lastGauge) >= 5*time.Second {
			lastGauge = now
			n.updateBacklog(ctx)
		}
		if now.Sub(lastPrune) >= time.Hour {
			lastPrune = now
			if k, err := n.cfg.Outbox.PruneOutbox(ctx, now.Add(-n.cfg.Retention)); err != nil && ctx.Err() == nil {
				n.log.Warn("webhook outbox: pruning", "err", err)
			} else if k > 0 {
				n.log.Info("webhook outbox: pruned finished deliveries", "rows", k)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-n.reload:
			// Changes already routed were routed to the hooks of their time: a new receiver
			// gets the changes from now on, a removed one no new ones.
			lastRefresh = time.Now()
			n.refresh(ctx, wg)
		case <-t.C:
		}
	}
}

func (n *Notifier) route(c tracker.AlertChange) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var names []string
	for i := range n.hooks {
		if n.hooks[i].wants(c) {
			names = append(names, n.hooks[i].Name)
		}
	}
	return names
}

func (n *Notifier) updateBacklog(ctx context.Context) {
	unrouted, pending, err := n.cfg.Outbox.OutboxBacklog(ctx)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Warn("webhook outbox: backlog", "err", err)
		}
		return
	}
	n.m.unrouted.Set(float64(unrouted))
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, h := range n.hooks {
		n.m.backlog.WithLabelValues(h.Name).Set(float64(pending[h.Name]))
	}
	for name, k := range pending {
		if _, ok := n.loops[name]; !ok {
			// A hook no longer configured keeps its pending deliveries until one of that name is again.
			n.m.backlog.WithLabelValues(name).Set(float64(k))
		}
	}
}

// deliverLoop sends one hook's deliveries. A slow or dead receiver holds up only its own hook.
// After a round in which every attempt failed, the hook rests for a backoff that grows with the
// failed rounds, so a receiver that is down sees a trickle of probes, not every queued alert.
func (n *Notifier) deliverLoop(ctx context.Context, l *loop) {
	failedRounds := 0
	claiming := trouble{log: n.log.With("hook", l.hook.Load().Name), what: "webhook outbox: claiming deliveries"}
	for {
		h := l.hook.Load()
		wait := n.cfg.Poll
		ds, err := n.cfg.Outbox.ClaimDeliveries(ctx, h.Name, n.cfg.Owner, time.Now(), n.lease, n.cfg.Batch)
		if ctx.Err() != nil {
			return
		}
		claiming.report(err)
		switch {
		case err != nil:
		case len(ds) > 0:
			delivered := n.sendAll(ctx, h, ds)
			if delivered {
				failedRounds, wait = 0, 0
			} else {
				failedRounds++
				wait = backoff(n.cfg.MinBackoff, n.cfg.MaxBackoff, failedRounds)
			}
		}
		if wait == 0 && ctx.Err() == nil {
			continue
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-l.wake:
			// New deliveries wake an idle hook at once, but not one resting after failures.
			if failedRounds > 0 {
				select {
				case <-ctx.Done():
				case <-timer.C:
				}
			}
		case <-timer.C:
		}
		timer.Stop()
	}
}

// sendAll sends ds concurrently (each is a different alert's next change), records the
// outcomes and reports whether the receiver answered at all (anything but a retry).
func (n *Notifier) sendAll(ctx context.Context, h *Hook, ds []tracker.Delivery) bool {
	// Attempts under way finish on shutdown: ctx ending cuts no request short.
	sendCtx := context.WithoutCancel(ctx)
	attempts := make([]tracker.DeliveryAttempt, len(ds))
	var wg sync.WaitGroup
	for i := range ds {
		wg.Go(func() { attempts[i] = n.send(sendCtx, h, &ds[i]) })
	}
	wg.Wait()
	recCtx, cancel := context.WithTimeout(sendCtx, n.lease)
	defer cancel()
	if err := n.cfg.Outbox.RecordAttempts(recCtx, n.cfg.Owner, attempts); err != nil {
		// The leases run out and the deliveries are sent again: at least once, never lost.
		n.log.Error("webhook outbox: recording attempts", "hook", h.Name, "err", err)
	}
	answered := false
	for i, a := range attempts {
		n.m.deliveries.WithLabelValues(h.Name, resultOf(a.Status)).Inc()
		switch a.Status {
		case tracker.DeliveryDelivered:
			answered = true
			n.m.latency.WithLabelValues(h.Name).Observe(a.At.Sub(ds[i].Event.At).Seconds())
		case tracker.DeliveryFailed:
			answered = true
			n.log.Warn("webhook delivery refused; not retried", "hook", h.Name, "delivery", a.ID,
				"alert", ds[i].Event.Alert.ID, "change", ds[i].Event.Change, "status", a.Code, "err", a.Error)
		default:
			n.log.Debug("webhook delivery will be retried", "hook", h.Name, "delivery", a.ID, "attempt", ds[i].Attempts+1,
				"next", a.NextAt, "err", a.Error)
		}
	}
	return answered
}

// trouble logs a store error when polling starts failing and when it works again, not on every
// poll of a database outage.
type trouble struct {
	log    *slog.Logger
	what   string
	failed bool
}

func (t *trouble) report(err error) {
	switch {
	case err != nil && !t.failed:
		t.log.Warn(t.what+": failing; retrying quietly until it works", "err", err)
	case err == nil && t.failed:
		t.log.Info(t.what + ": works again")
	}
	t.failed = err != nil
}

func resultOf(status string) string {
	if status == tracker.DeliveryPending {
		return "retry"
	}
	return status
}

// Payload is the JSON body of every webhook request.
type Payload struct {
	ID       string        `json:"id"`       // the delivery: same on every attempt, unique per hook and change
	Type     string        `json:"type"`     // "alert." + the change: alert.opened, alert.updated, alert.acknowledged, alert.resolved
	Time     time.Time     `json:"time"`     // when the change was committed
	Sequence int64         `json:"sequence"` // orders one alert's changes
	Alert    tracker.Alert `json:"alert"`    // the alert right after the change
}

// Headers of every request. The signature is present when the hook has a secret.
const (
	HeaderDelivery  = "X-BorderWatch-Delivery"
	HeaderEvent     = "X-BorderWatch-Event"
	HeaderAttempt   = "X-BorderWatch-Attempt"
	HeaderSignature = "X-BorderWatch-Signature"
)

// Sign returns the signature header's value for body sent at t: "t=<unix seconds>,v1=<hex of
// HMAC-SHA256(secret, "<unix seconds>.<body>")>". The time in the signed text lets a receiver
// refuse replays of old requests.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// send makes one attempt and classifies its outcome.
func (n *Notifier) send(ctx context.Context, h *Hook, d *tracker.Delivery) tracker.DeliveryAttempt {
	a := tracker.DeliveryAttempt{ID: d.ID}
	typ := "alert." + d.Event.Change
	body, err := json.Marshal(Payload{ID: d.ID, Type: typ, Time: d.Event.At, Sequence: d.Event.Seq, Alert: d.Event.Alert})
	if err != nil { // an alert that does not encode (bad evidence JSON) never will
		a.Status, a.At, a.Error = tracker.DeliveryFailed, time.Now(), "encoding: "+err.Error()
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		a.Status, a.At, a.Error = tracker.DeliveryFailed, time.Now(), err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "BorderWatch-Webhook/1")
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderEvent, typ)
	req.Header.Set(HeaderAttempt, strconv.Itoa(d.Attempts+1))
	start := time.Now()
	if h.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(h.Secret, start, body))
	}
	client := n.cfg.Client
	if h.Guarded {
		client = n.guarded
	}
	resp, err := client.Do(req)
	a.At = time.Now()
	n.m.request.WithLabelValues(h.Name).Observe(a.At.Sub(start).Seconds())
	retryAfter := time.Duration(0)
	if err != nil {
		a.Error = err.Error()
	} else {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
		a.Code = resp.StatusCode
		if resp.StatusCode >= 300 {
			a.Error = resp.Status
			if len(snippet) > 0 {
				a.Error += ": " + string(bytes.ToValidUTF8(snippet, nil))
			}
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			retryAfter = time.Duration(s) * time.Second
		}
	}
	switch {
	case err == nil && a.Code >= 200 && a.Code < 300:
		a.Status = tracker.DeliveryDelivered
	case err == nil && !retryable(a.Code):
		a.Status = tracker.DeliveryFailed
	default:
		a.Status = tracker.DeliveryPending
		a.NextAt = a.At.Add(max(backoff(n.cfg.MinBackoff, n.cfg.MaxBackoff, d.Attempts+1), min(retryAfter, time.Hour)))
	}
	return a
}

// retryable reports whether a receiver's answer may change if asked again: server errors, and
// the client errors that say "later" (timeout, too early, too many requests). Any other client
// error (bad request, unauthorized, not found, gone…) will not change by resending the same
// request, so retrying it forever would only hide it; it is recorded as failed, counted, logged
// and listed, and RetryDelivery sends it again once the receiver is fixed. Redirects are not
// followed and count as refusals too.
func retryable(code int) bool {
	switch {
	case code >= 500:
		return true
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests:
		return true
	}
	return false
}

// backoff is the wait before attempt n+1: min·2^(n-1) capped at max, with "equal jitter" (half
// fixed, half random) so that deliveries failed together do not retry together.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := hi
	if n < 32 && lo<<(n-1) < hi && lo<<(n-1) > 0 {
		d = lo << (n - 1)
	}
	return d/2 + mrand.N(d/2+1)
}

type metrics struct {
	deliveries *prometheus.CounterVec
	backlog    *prometheus.GaugeVec
	unrouted   prometheus.Gauge
	request    *prometheus.HistogramVec
	latency    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: delivered, retry (will be sent again), failed (refused for good)."}, []string{"hook", "result"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bw_webhook_backlog",
			Help: "Deliveries waiting to be sent, by hook."}, []string{"hook"}),
		unrouted: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bw_webhook_outbox_unrouted",
			Help: "Alert changes in the outbox not yet turned into deliveries."}),
		request: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bw_webhook_request_seconds",
			Help: "Duration of one webhook request.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}, []string{"hook"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bw_webhook_delivery_latency_seconds",
			Help: "From an alert change's commit to its delivery, retries included.", Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 14)}, []string{"hook"}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.backlog, m.unrouted, m.request, m.latency)
	}
	return m
}
