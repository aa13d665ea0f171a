package mapui_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/notifier"
)

// TestWebhookDeliveries lists a refused delivery for the administrator only and sends it again.
func TestWebhookDeliveries(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	now := time.Now().UTC()
	b := &tracker.Batch{Alerts: []tracker.Alert{{Type: tracker.AlertDetour, Severity: tracker.SeverityWarning, VehicleID: "v1",
		Time: now, DedupKey: "detour:v1"}}}
	if err := a.store.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Route(ctx, 10, now, func(tracker.AlertChange) []string { return []string{"customs"} }); err != nil {
		t.Fatal(err)
	}
	ds, err := a.store.ClaimDeliveries(ctx, "customs", "test", now, time.Minute, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %d, %v", len(ds), err)
	}
	if err := a.store.RecordAttempts(ctx, "test", []tracker.DeliveryAttempt{{ID: ds[0].ID, Status: tracker.DeliveryFailed, At: now, Code: 404, Error: "404 Not Found"}}); err != nil {
		t.Fatal(err)
	}

	var got struct{ Deliveries []tracker.Delivery }
	a.req("GET", "/api/v1/webhooks/deliveries?status=failed", a.tokens[access.RoleAdmin], nil, 200, &got)
	if len(got.Deliveries) != 1 || got.Deliveries[0].ID != ds[0].ID || got.Deliveries[0].LastCode != 404 ||
		got.Deliveries[0].Event.Alert.ID != b.Alerts[0].ID || got.Deliveries[0].Event.Change != tracker.ChangeOpened {
		t.Fatalf("failed deliveries = %+v", got.Deliveries)
	}
	for _, role := range []string{access.RoleCommand, access.RolePatrol, access.RoleInvestigator, access.RoleAuditor} {
		a.do("GET", "/api/v1/webhooks/deliveries", role, nil, 403)
		a.do("POST", "/api/v1/webhooks/deliveries/"+ds[0].ID+"/retry", role, nil, 403)
	}
	a.do("GET", "/api/v1/webhooks/deliveries?status=lost", access.RoleAdmin, nil, 400)

	a.do("POST", "/api/v1/webhooks/deliveries/"+ds[0].ID+"/retry", access.RoleAdmin, nil, 204)
	a.req("GET", "/api/v1/webhooks/deliveries?status=pending&hook=customs&alert_id="+itoa(b.Alerts[0].ID), a.tokens[access.RoleAdmin], nil, 200, &got)
	if len(got.Deliveries) != 1 || got.Deliveries[0].ID != ds[0].ID {
		t.Fatalf("pending after the retry = %+v", got.Deliveries)
	}
	a.do("POST", "/api/v1/webhooks/deliveries/"+ds[0].ID+"/retry", access.RoleAdmin, nil, 404)

	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit", a.tokens[access.RoleAuditor], nil, 200, &audit)
	found := false
	for _, r := range audit.Records {
		found = found || r.Actor == "admin" && r.Action == "webhook.retry" && r.Object == "delivery:"+ds[0].ID
	}
	if !found {
		t.Error("the retry is not in the audit log")
	}
}

// TestWebhookReceivers adds, lists, disables and removes receivers as the administrator, with
// the attacks: other roles, targets on this machine or the metadata service, other schemes,
// header injection, huge or short secrets; the secret never comes back after creation.
func TestWebhookReceivers(t *testing.T) {
	changed := 0
	a := newAPI(t, func(c *mapui.Config) {
		c.Webhooks = mapui.WebhookSettings{Configured: []notifier.Hook{{Name: "customs", URL: "https://hooks.example.cn/bot/token0123456789abcdef", Secret: "x"}},
			Changed: func() { changed++ }}
	})
	const path = "/api/v1/webhooks/receivers"
	ok := map[string]any{"name": "指挥中心-1", "url": "https://203.0.113.7/open-apis/bot/v2/hook/0123456789abcdef0123?k=v",
		"min_severity": "warning", "types": []string{"sos", "detour", "sos"}, "ports": []string{"port-erenhot"}}
	for _, role := range []string{access.RoleCommand, access.RolePatrol, access.RoleInvestigator, access.RoleAuditor, access.RoleSecurity} {
		a.do("GET", path, role, nil, 403)
		a.do("POST", path, role, ok, 403)
		a.do("PATCH", path+"/x", role, map[string]any{"enabled": false}, 403)
		a.do("DELETE", path+"/x", role, nil, 403)
	}
	a.do("POST", path, "", ok, 401)

	var created struct {
		Receiver struct {
			Name, URL       string
			SecretHint      string `json:"secret_hint"`
			Signed, Enabled bool
			Types, Ports    []string
		}
		Secret string
	}
	a.req("POST", path, a.tokens[access.RoleAdmin], ok, 201, &created)
	if len(created.Secret) < 16 || !created.Receiver.Signed || !created.Receiver.Enabled || created.Receiver.SecretHint != created.Secret[len(created.Secret)-4:] ||
		strings.Join(created.Receiver.Types, ",") != "detour,sos" || created.Receiver.Ports[0] != "port-erenhot" {
		t.Fatalf("created = %+v", created)
	}
	if created.Receiver.URL != "https://203.0.113.7/open-apis/bot/v2/hook/…0123?…" {
		t.Errorf("shown URL %q: want the token path segment and the query hidden", created.Receiver.URL)
	}
	given := "a-secret-the-admin-chose-1234567"
	body := a.do("POST", path, access.RoleAdmin, map[string]any{"name": "archive", "url": "http://203.0.113.8:8080/in", "secret": given, "enabled": false}, 201)
	if strings.Contains(string(body), given) {
		t.Errorf("the answer repeats a secret the admin gave: %s", body)
	}
	list := a.do("GET", path, access.RoleAdmin, nil, 200)
	for _, secret := range []string{given, created.Secret, "token0123456789abcdef", "0123456789abcdef0123"} {
		if strings.Contains(string(list), secret) {
			t.Errorf("the list shows %q: %s", secret, list)
		}
	}
	var got struct {
		Receivers []struct {
			Name       string
			Enabled    bool
			Configured bool
		}
	}
	json.Unmarshal(list, &got)
	if len(got.Receivers) != 3 || got.Receivers[0].Name != "customs" || !got.Receivers[0].Configured ||
		got.Receivers[1].Name != "archive" || got.Receivers[1].Enabled || got.Receivers[2].Name != "指挥中心-1" {
		t.Errorf("receivers = %+v", got.Receivers)
	}

	with := func(k string, v any) map[string]any {
		m := map[string]any{"name": "bad", "url": "https://203.0.113.9/"}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		what string
		body any
		want int
	}{
		{"loopback", with("url", "http://127.0.0.1:5432/"), 400},
		{"localhost", with("url", "http://localhost:9091/metrics"), 400},
		{"IPv6 loopback", with("url", "http://[::1]/"), 400},
		{"metadata", with("url", "http://169.254.169.254/latest/meta-data/"), 400},
		{"private", with("url", "http://10.0.0.5/"), 400},
		{"unspecified", with("url", "http://0.0.0.0:8080/"), 400},
		{"file", with("url", "file:///etc/passwd"), 400},
		{"gopher", with("url", "gopher://203.0.113.9/_SET"), 400},
		{"ftp", with("url", "ftp://203.0.113.9/"), 400},
		{"credentials in the URL", with("url", "https://u:p@203.0.113.9/"), 400},
		{"CRLF in the URL", with("url", "https://203.0.113.9/\r\nX-Evil: 1"), 400},
		{"CRLF in the name", with("name", "bad\r\nX-Evil: 1"), 400},
		{"name with a slash", with("name", "a/b"), 400},
		{"long name", with("name", strings.Repeat("名", 65)), 400},
		{"empty name", with("name", " "), 400},
		{"huge secret", with("secret", strings.Repeat("s", 1<<20)), 400},
		{"short secret", with("secret", "short"), 400},
		{"secret with CRLF", with("secret", "0123456789abcdef\r\nX-Evil: 1"), 400},
		{"severity", with("min_severity", "urgent"), 400},
		{"type", with("types", []string{"Detour; DROP TABLE"}), 400},
		{"port", with("ports", []string{"corridor-ganqimaodu-yard3"}), 400},
		{"too many types", with("types", make([]string, 65)), 400},
		{"unknown field", with("headers", map[string]string{"X-Evil": "1"}), 400},
		{"not JSON", "{", 400},
		{"the name of a configured receiver", with("name", "customs"), 409},
		{"a taken name", with("name", "archive"), 409},
	} {
		t.Run(tc.what, func(t *testing.T) { a.do("POST", path, access.RoleAdmin, tc.body, tc.want) })
	}

	var en struct{ Receiver struct{ Enabled bool } }
	a.req("PATCH", path+"/archive", a.tokens[access.RoleAdmin], map[string]any{"enabled": true}, 200, &en)
	if !en.Receiver.Enabled {
		t.Error("PATCH enabled=true left it disabled")
	}
	a.do("PATCH", path+"/archive", access.RoleAdmin, map[string]any{}, 400)
	a.do("PATCH", path+"/nobody", access.RoleAdmin, map[string]any{"enabled": false}, 404)
	a.do("DELETE", path+"/archive", access.RoleAdmin, nil, 204)
	a.do("DELETE", path+"/archive", access.RoleAdmin, nil, 404)
	if changed != 4 {
		t.Errorf("Changed called %d times, want 4 (2 creations, 1 enable, 1 delete)", changed)
	}

	var audit struct{ Records []tracker.AuditRecord }
	raw := a.req("GET", "/api/v1/audit", a.tokens[access.RoleAuditor], nil, 200, &audit)
	if strings.Contains(string(raw), given) || strings.Contains(string(raw), created.Secret) {
		t.Error("the audit log holds a secret")
	}
	var actions []string
	for _, r := range audit.Records {
		if strings.HasPrefix(r.Action, "webhook.") {
			actions = append(actions, r.Action+" "+r.Object)
		}
	}
	slices.Sort(actions)
	want := []string{"webhook.create webhook:archive", "webhook.create webhook:指挥中心-1", "webhook.delete webhook:archive", "webhook.enable webhook:archive"}
	if !slices.Equal(actions, want) {
		t.Errorf("audited %q, want %q", actions, want)
	}
}

// TestWebhookReceiversPrivateAllowed: with private targets allowed, loopback and the intranet
// may be receivers; the metadata service still may not.
func TestWebhookReceiversPrivateAllowed(t *testing.T) {
	a := newAPI(t, func(c *mapui.Config) { c.Webhooks.AllowPrivate = true })
	const path = "/api/v1/webhooks/receivers"
	a.do("POST", path, access.RoleAdmin, map[string]any{"name": "local", "url": "http://127.0.0.1:9000/in"}, 201)
	a.do("POST", path, access.RoleAdmin, map[string]any{"name": "intranet", "url": "http://10.20.30.40/in"}, 201)
	a.do("POST", path, access.RoleAdmin, map[string]any{"name": "metadata", "url": "http://169.254.169.254/"}, 400)
	a.do("POST", path, access.RoleAdmin, map[string]any{"name": "v6-link-local", "url": "http://[fe80::1]/"}, 400)
}
