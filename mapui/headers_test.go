package mapui_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// dsn is what a store's error could carry: the database's address, user, name and password.
const dsn = "postgres://bw:s3cret-pw@db.customs.internal:5432/borderwatch"

// brokenStore is a store whose database does not answer.
type brokenStore struct{ *sqlitestore.Store }

func (brokenStore) Ping(context.Context) error {
	return errors.New("failed to connect to " + dsn + ": dial tcp 10.20.30.40:5432: connection refused")
}

// failingIngest is a pipeline whose commits fail.
type failingIngest struct{}

func (failingIngest) Emit(context.Context, []tracker.Event, []tracker.Alert) error { return nil }
func (failingIngest) StoreError() error {
	return errors.New("commit: write to " + dsn + " failed")
}

// testServer is a server over a fresh store, built with mutate's changes to its config.
func testServer(t *testing.T, mutate func(*mapui.Config)) *mapui.Server {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := prometheus.NewRegistry()
	cfg := mapui.Config{Store: st, Access: access.New(st, access.Options{}), Hub: mapui.NewHub(nil, reg), Gatherer: reg, Logger: slog.New(slog.DiscardHandler)}
	if mutate != nil {
		mutate(&cfg)
	}
	return mapui.NewServer(cfg, reg)
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestSecurityHeaders: every answer, page or data, forbids framing and MIME sniffing and sends
// no Referer; the web app's policy allows no inline script or style and nothing from elsewhere;
// API answers may load nothing; HSTS comes over TLS only.
func TestSecurityHeaders(t *testing.T) {
	s := testServer(t, nil)
	plain := httptest.NewServer(s.Handler())
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(s.Handler())
	defer tlsSrv.Close()

	for _, srv := range []*httptest.Server{plain, tlsSrv} {
		for _, path := range []string{"/", "/wall", "/app.js", "/api/v1/vehicles", "/api/v1/none", "/healthz", "/readyz", "/metrics"} {
			resp, _ := get(t, srv.Client(), srv.URL+path)
			h := resp.Header
			where := srv.URL[:5] + " " + path
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s: X-Content-Type-Options %q, Referrer-Policy %q, X-Frame-Options %q", where, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"), h.Get("X-Frame-Options"))
			}
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-") {
				t.Errorf("%s: Content-Security-Policy %q", where, csp)
			}
			page := !strings.HasPrefix(path, "/api/") && path != "/healthz" && path != "/readyz" && path != "/metrics"
			if page {
				host := strings.TrimPrefix(srv.URL, srv.URL[:strings.Index(srv.URL, "//")+2])
				for _, d := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self';", "img-src 'self' data: blob:", "worker-src 'self' blob:",
					"object-src 'none'", "base-uri 'none'", "connect-src 'self' ws://" + host + " wss://" + host} {
					if !strings.Contains(csp, d) {
						t.Errorf("%s: Content-Security-Policy %q lacks %q", where, csp, d)
					}
				}
			} else if !strings.HasPrefix(csp, "default-src 'none'") {
				t.Errorf("%s: Content-Security-Policy %q, want default-src 'none' for data", where, csp)
			}
			hsts := h.Get("Strict-Transport-Security")
			if (srv == tlsSrv) != (hsts != "") || (hsts != "" && !strings.HasPrefix(hsts, "max-age=31536000")) {
				t.Errorf("%s: Strict-Transport-Security %q", where, hsts)
			}
		}
	}
	// A Host header that could smuggle a directive into the policy is left out of it.
	req, _ := http.NewRequest("GET", plain.URL+"/", nil)
	req.Host = "evil.example; script-src *"
	resp, err := plain.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "evil") || strings.Contains(csp, "*") {
		t.Errorf("policy for a forged Host: %q", csp)
	}
}

// TestTokenOnlyInExportAndLiveURLs: a token in the URL (which proxies, histories and Referer
// headers keep) is refused with a reason everywhere but on track exports and the live socket,
// which browsers cannot give an Authorization header.
func TestTokenOnlyInExportAndLiveURLs(t *testing.T) {
	a := newAPI(t)
	token := a.tokens[access.RoleInvestigator]
	for _, path := range []string{
		"/api/v1/vehicles",
		"/api/v1/vehicles?format=csv", // any format= used to let the token in
		"/api/v1/me",
		"/api/v1/positions",
		"/api/v1/vehicles/v1/track",
		"/api/v1/vehicles/v1/track?format=json",
		"/api/v1/vehicles/v1/track?format=columns",
		"/api/v1/vehicles/v1/track?format=xls",
	} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		b := a.req("GET", path+sep+"token="+token, "", nil, http.StatusUnauthorized, nil)
		if !strings.Contains(string(b), "Authorization") {
			t.Errorf("%s: %s, want the reason", path, b)
		}
	}
	// An unknown vehicle's track is a 404 now: the export needs a registered one.
	a.do("POST", "/api/v1/vehicles", access.RoleAdmin, map[string]string{"id": "v1", "kind": "truck"}, 201)
	for _, format := range []string{"csv", "gpx", "kml", "geojson"} {
		a.req("GET", "/api/v1/vehicles/v1/track?format="+format+"&token="+token, "", nil, http.StatusOK, nil)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.srv.URL, "http")+"/api/v1/live?token="+token, nil)
	if err != nil {
		t.Fatalf("live socket with ?token=: %v (%v)", err, resp)
	}
	ws.Close()
}

// TestReadyzRevealsNoConnectionStrings: /readyz is public, so a failing store is named but its
// address, user and password stay in the log.
func TestReadyzRevealsNoConnectionStrings(t *testing.T) {
	s := testServer(t, func(c *mapui.Config) {
		c.Store = brokenStore{c.Store.(*sqlitestore.Store)}
		c.Ingest = failingIngest{}
	})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, body := get(t, srv.Client(), srv.URL+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "store: not answering") || !strings.Contains(body, "store: writes failing") {
		t.Errorf("/readyz: %d %s, want 503 naming the store", resp.StatusCode, body)
	}
	_, metrics := get(t, srv.Client(), srv.URL+"/metrics")
	for _, secret := range []string{"s3cret", "db.customs.internal", "10.20.30.40", "postgres://"} {
		if strings.Contains(body, secret) || strings.Contains(metrics, secret) {
			t.Errorf("/readyz or /metrics reveal %q: %s", secret, body)
		}
	}
}
