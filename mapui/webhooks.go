package mapui

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/notifier"
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

// WebhookSettings configure the webhook receivers added from the screens.
type WebhookSettings struct {
	// Configured are the receivers of the settings: listed read-only, and their names are taken.
	Configured []notifier.Hook
	// AllowPrivate lets receivers be on loopback and private addresses (never link-local).
	AllowPrivate bool
	// Changed is called after a receiver is added, enabled, disabled or removed (the
	// notifier's Reload); nil: the notifier notices within its refresh.
	Changed func()
}

// Limits of a receiver added from the screens.
const (
	maxReceiverName  = 64
	minSecret        = 16
	maxSecret        = 256
	maxReceiverTypes = 64
	maxReceiverPorts = 32
)

// receiverView is a receiver as the API shows it: never its secret, and of a URL only what
// does not look like a credential (receivers such as Feishu's and DingTalk's keep their token in
// the path or the query).
type receiverView struct {
	Name        string     `json:"name"`
	URL         string     `json:"url"`
	Signed      bool       `json:"signed"`
	SecretHint  string     `json:"secret_hint,omitempty"` // the secret's last 4 characters
	MinSeverity string     `json:"min_severity"`
	Types       []string   `json:"types"`
	Ports       []string   `json:"ports"`
	Enabled     bool       `json:"enabled"`
	Configured  bool       `json:"configured"` // from the settings; not changed here
	CreatedBy   string     `json:"created_by,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
}

func viewReceiver(r tracker.WebhookReceiver) receiverView {
	v := receiverView{Name: r.Name, URL: shownURL(r.URL), Signed: r.Secret != "", MinSeverity: r.MinSeverity,
		Types: r.Types, Ports: r.Ports, Enabled: r.Enabled, CreatedBy: r.CreatedBy, CreatedAt: &r.CreatedAt, UpdatedAt: &r.UpdatedAt}
	if len(r.Secret) >= minSecret {
		v.SecretHint = r.Secret[len(r.Secret)-4:]
	}
	if v.Types == nil {
		v.Types = []string{}
	}
	if v.Ports == nil {
		v.Ports = []string{}
	}
	return v
}

// shownURL is the URL without its query, each long path segment cut to its last 4 characters.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, p := range segs {
		if len(p) > 16 {
			segs[i] = "…" + p[len(p)-4:]
		}
	}
	out := u.Scheme + "://" + u.Host + strings.Join(segs, "/")
	if u.RawQuery != "" {
		out += "?…"
	}
	return out
}

// listReceivers: GET /webhooks/receivers, the configured receivers first, then those added
// from the screens by name.
func (s *Server) listReceivers(c *gin.Context) {
	rs, err := s.cfg.Store.Webhooks(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return
	}
	out := []receiverView{}
	for _, h := range s.cfg.Webhooks.Configured {
		u, _ := url.Parse(h.URL)
		out = append(out, receiverView{Name: h.Name, URL: u.Scheme + "://" + u.Host, Signed: h.Secret != "", MinSeverity: h.MinSeverity,
			Types: append([]string{}, h.Types...), Ports: []string{}, Enabled: true, Configured: true})
	}
	for _, r := range rs {
		out = append(out, viewReceiver(r))
	}
	c.JSON(http.StatusOK, gin.H{"receivers": out, "allow_private": s.cfg.Webhooks.AllowPrivate})
}

var alertTypeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// createReceiver: POST /webhooks/receivers {name, url, secret?, min_severity?, types?, ports?,
// enabled?}. Without a secret the server makes one; the answer carries it that once.
func (s *Server) createReceiver(c *gin.Context) {
	var req struct {
		Name        string   `json:"name"`
		URL         string   `json:"url"`
		Secret      string   `json:"secret"`
		MinSeverity string   `json:"min_severity"`
		Types       []string `json:"types"`
		Ports       []string `json:"ports"`
		Enabled     *bool    `json:"enabled"`
	}
	if !bindJSON(c, &req) {
		return
	}
	ctx := c.Request.Context()
	r := tracker.WebhookReceiver{Name: strings.TrimSpace(req.Name), URL: req.URL, Secret: req.Secret, MinSeverity: req.MinSeverity,
		Enabled: req.Enabled == nil || *req.Enabled, CreatedBy: actor(c).Username, CreatedAt: time.Now().UTC()}
	if msg := checkReceiverName(r.Name); msg != "" {
		badRequest(c, msg)
		return
	}
	if slices.ContainsFunc(s.cfg.Webhooks.Configured, func(h notifier.Hook) bool { return h.Name == r.Name }) {
		fail(c, http.StatusConflict, "conflict", "a receiver of the settings has this name")
		return
	}
	checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := notifier.CheckTarget(checkCtx, r.URL, s.cfg.Webhooks.AllowPrivate)
	cancel()
	if err != nil {
		badRequest(c, "url: "+err.Error())
		return
	}
	generated := r.Secret == ""
	if generated {
		r.Secret = rand.Text() + rand.Text()
	}
	switch {
	case len(r.Secret) < minSecret || len(r.Secret) > maxSecret:
		badRequest(c, fmt.Sprintf("secret must be %d to %d bytes", minSecret, maxSecret))
		return
	case strings.ContainsFunc(r.Secret, unicode.IsControl) || !utf8.ValidString(r.Secret):
		badRequest(c, "secret must be text without control characters")
		return
	case r.MinSeverity != "" && r.MinSeverity != tracker.SeverityInfo && r.MinSeverity != tracker.SeverityWarning && r.MinSeverity != tracker.SeverityCritical:
		badRequest(c, "min_severity must be info, warning or critical")
		return
	case len(req.Types) > maxReceiverTypes || len(req.Ports) > maxReceiverPorts:
		badRequest(c, fmt.Sprintf("at most %d types and %d ports", maxReceiverTypes, maxReceiverPorts))
		return
	}
	for _, t := range req.Types {
		if !alertTypeName.MatchString(t) {
			badRequest(c, "types must be alert types such as border_crossing_outside_port")
			return
		}
	}
	r.Types = slices.Compact(slices.Sorted(slices.Values(req.Types)))
	if len(req.Ports) > 0 {
		zones, err := s.cfg.Store.Zones(ctx)
		if err != nil {
			s.storeFail(c, err)
			return
		}
		for _, p := range req.Ports {
			if !slices.ContainsFunc(zones, func(z geofence.Zone) bool { return z.ID == p && z.Kind == geofence.KindPort }) {
				badRequest(c, "ports must be ids of port zones")
				return
			}
		}
		r.Ports = slices.Compact(slices.Sorted(slices.Values(req.Ports)))
	}
	if err := s.cfg.Store.CreateWebhook(ctx, r); err != nil {
		s.storeFail(c, err)
		return
	}
	u, _ := url.Parse(r.URL)
	if !s.audited(c, "webhook.create", "webhook:"+r.Name, gin.H{"host": u.Host, "min_severity": r.MinSeverity, "types": r.Types,
		"ports": r.Ports, "enabled": r.Enabled}) {
		return
	}
	s.webhooksChanged()
	out := gin.H{"receiver": viewReceiver(r)}
	if generated {
		out["secret"] = r.Secret
	}
	c.JSON(http.StatusCreated, out)
}

// checkReceiverName allows letters (Chinese too), digits, '-', '_' and '.': the name labels
// metrics and goes in URLs.
func checkReceiverName(name string) string {
	if name == "" || utf8.RuneCountInString(name) > maxReceiverName {
		return fmt.Sprintf("name must be 1 to %d characters", maxReceiverName)
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_.", r) {
			return "name may have letters, digits, '-', '_' and '.' only"
		}
	}
	return ""
}

// setReceiverEnabled: PATCH /webhooks/receivers/{name} {"enabled": bool}.
func (s *Server) setReceiverEnabled(c *gin.Context) {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if !bindJSON(c, &req) {
		return
	}
	if req.Enabled == nil {
		badRequest(c, "enabled (true or false) is required")
		return
	}
	r, err := s.cfg.Store.SetWebhookEnabled(c.Request.Context(), c.Param("name"), *req.Enabled, time.Now().UTC())
	if err != nil {
		s.storeFail(c, err)
		return
	}
	action := "webhook.disable"
	if r.Enabled {
		action = "webhook.enable"
	}
	if s.audited(c, action, "webhook:"+r.Name, nil) {
		s.webhooksChanged()
		c.JSON(http.StatusOK, gin.H{"receiver": viewReceiver(r)})
	}
}

// deleteReceiver: DELETE /webhooks/receivers/{name}. Its deliveries stay listed under its name.
func (s *Server) deleteReceiver(c *gin.Context) {
	name := c.Param("name")
	if err := s.cfg.Store.DeleteWebhook(c.Request.Context(), name); err != nil {
		s.storeFail(c, err)
		return
	}
	if s.audited(c, "webhook.delete", "webhook:"+name, nil) {
		s.webhooksChanged()
		c.Status(http.StatusNoContent)
	}
}

func (s *Server) webhooksChanged() {
	if s.cfg.Webhooks.Changed != nil {
		s.cfg.Webhooks.Changed()
	}
}
