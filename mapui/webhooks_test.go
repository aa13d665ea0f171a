package mapui_test

import (
	"context"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
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
