package osmand

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/ingest/ratelimit"
)

// limitedServer serves over a real socket under limits on a stopped clock: no bucket refills
// during the test, so what is admitted depends only on what was sent.
func limitedServer(t *testing.T, cfg ratelimit.Config) (string, *Handler) {
	t.Helper()
	cfg.Clock = func() time.Duration { return time.Hour }
	l, err := ratelimit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, h := serve(t, Config{Registerer: prometheus.NewRegistry(), Limits: l})
	return "http://" + addr, h
}

func get(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestDeviceOverItsLimitGets429(t *testing.T) {
	base, h := limitedServer(t, ratelimit.Config{DeviceFixes: ratelimit.Limit{Rate: 1, Burst: 3}})
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // a connection per fix
	fix := base + "/?id=48241179&lat=43.65&lon=111.97&timestamp=1772333970"
	for i := range 3 {
		if resp := get(t, c, fix); resp.StatusCode != http.StatusOK {
			t.Fatalf("fix %d within the burst: %s", i, resp.Status)
		}
	}
	resp := get(t, c, fix)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("fix over the limit: %s, Retry-After %q; want 429, 2 (4 drawn of 3 at 1/s)", resp.Status, resp.Header.Get("Retry-After"))
	}
	if resp := get(t, c, base+"/?id=353861053849681&lat=43.65&lon=111.97"); resp.StatusCode != http.StatusOK {
		t.Errorf("another device: %s", resp.Status)
	}
	if got := value(h.m.rejected.WithLabelValues(ratelimit.ReasonRateLimited)); got != 1 {
		t.Errorf("rate_limited rejections: %v, want 1", got)
	}
}

func TestConnectionOverItsLimitGets429ThenClosed(t *testing.T) {
	const burst = 5
	base, h := limitedServer(t, ratelimit.Config{ConnFrames: ratelimit.Limit{Rate: 1, Burst: burst}})
	c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	// Junk costs the connection as much as a fix.
	for i := range burst {
		if resp := get(t, c, base+"/?junk"); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("request %d within the burst: %s", i, resp.Status)
		}
	}
	for i := range burst {
		resp := get(t, c, base+"/?id=48241179&lat=43.65&lon=111.97")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Close {
			t.Fatalf("request %d over the limit: %s, Retry-After %q, close %v", i, resp.Status, resp.Header.Get("Retry-After"), resp.Close)
		}
	}
	if resp := get(t, c, base+"/?id=48241179"); resp.StatusCode != http.StatusTooManyRequests || !resp.Close {
		t.Errorf("a second burst over the limit: %s, close %v; want 429 closing the connection", resp.Status, resp.Close)
	}
	// A new connection starts with a full bucket.
	if resp := get(t, c, base+"/?id=48241179&lat=43.65&lon=111.97"); resp.StatusCode != http.StatusOK {
		t.Errorf("on a new connection: %s", resp.Status)
	}
	if got := value(h.m.rejected.WithLabelValues(ratelimit.ReasonRateLimited)); got != burst+1 {
		t.Errorf("rate_limited rejections: %v, want %d", got, burst+1)
	}
}
