package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func testWebhooks(t *testing.T, s Store) {
	ctx := t.Context()
	if ws, err := s.Webhooks(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("Webhooks of a new store = %v, %v", ws, err)
	}
	feishu := tracker.WebhookReceiver{Name: "指挥中心", URL: "https://hooks.example.cn/alerts?x=1", Secret: "s3cret-s3cret-s3cret",
		MinSeverity: tracker.SeverityWarning, Types: []string{"detour", "sos"}, Ports: []string{"port-erenhot"}, Enabled: true,
		CreatedBy: "admin", CreatedAt: base}
	plain := tracker.WebhookReceiver{Name: "archive", URL: "http://10.1.2.3:8080/in", Enabled: false, CreatedBy: "admin", CreatedAt: base}
	for _, r := range []tracker.WebhookReceiver{feishu, plain} {
		if err := s.CreateWebhook(ctx, r); err != nil {
			t.Fatalf("CreateWebhook(%s): %v", r.Name, err)
		}
	}
	if err := s.CreateWebhook(ctx, tracker.WebhookReceiver{Name: "archive", URL: "http://other/"}); !errors.Is(err, tracker.ErrConflict) {
		t.Errorf("CreateWebhook of a taken name: %v, want ErrConflict", err)
	}
	ws, err := s.Webhooks(ctx)
	if err != nil || len(ws) != 2 {
		t.Fatalf("Webhooks = %v, %v", ws, err)
	}
	got := ws[1] // by name: archive, 指挥中心
	if ws[0].Name != "archive" || got.Name != feishu.Name || got.URL != feishu.URL || got.Secret != feishu.Secret ||
		got.MinSeverity != feishu.MinSeverity || !slices.Equal(got.Types, feishu.Types) || !slices.Equal(got.Ports, feishu.Ports) ||
		!got.Enabled || got.CreatedBy != "admin" || !got.CreatedAt.Equal(base) || !got.UpdatedAt.Equal(base) {
		t.Errorf("stored receiver = %+v, want %+v", got, feishu)
	}
	if ws[0].Enabled || ws[0].Types == nil || len(ws[0].Types) != 0 || len(ws[0].Ports) != 0 {
		t.Errorf("receiver without filters = %+v", ws[0])
	}

	later := base.Add(time.Hour)
	r, err := s.SetWebhookEnabled(ctx, feishu.Name, false, later)
	if err != nil || r.Enabled || !r.UpdatedAt.Equal(later) || !r.CreatedAt.Equal(base) || r.Secret != feishu.Secret {
		t.Errorf("SetWebhookEnabled(false) = %+v, %v", r, err)
	}
	if _, err := s.SetWebhookEnabled(ctx, "nobody", true, later); !errors.Is(err, tracker.ErrNotFound) {
		t.Errorf("SetWebhookEnabled of an unknown receiver: %v, want ErrNotFound", err)
	}
	if err := s.DeleteWebhook(ctx, "archive"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, "archive"); !errors.Is(err, tracker.ErrNotFound) {
		t.Errorf("DeleteWebhook twice: %v, want ErrNotFound", err)
	}
	if ws, err := s.Webhooks(ctx); err != nil || len(ws) != 1 || ws[0].Name != feishu.Name || ws[0].Enabled {
		t.Errorf("Webhooks after delete and disable = %+v, %v", ws, err)
	}
}
