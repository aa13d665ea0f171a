package osmand

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/borderwatch/borderwatch/tracker"
)

// serve runs a Server of cfg, with a recording sink, the registered devices and no log, on a
// loopback port until the test ends.
func serve(t *testing.T, cfg Config) (addr string, h *Handler) {
	t.Helper()
	cfg.Sink, cfg.Admission, cfg.Logger = &recordingSink{}, &tracker.Admission{Devices: registered}, slog.New(slog.DiscardHandler)
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String(), srv.Handler()
}

// TestRefusalSaysNothingOfOtherProtocols: probing ids must not tell an id registered for
// JT/T 808 or GT06 from one nobody registered.
func TestRefusalSaysNothingOfOtherProtocols(t *testing.T) {
	h, _ := newHandler(t, false, nil)
	answer := func(id string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/?lat=60.0&lon=30.0&id="+id, nil))
		return rec.Code, rec.Body.String()
	}
	unknownCode, unknown := answer("999")
	gt06Code, gt06 := answer("860470067873061")
	if unknownCode != 403 || gt06Code != 403 || unknown != gt06 {
		t.Errorf("unknown id: %d %q; GT06 id: %d %q; want the same 403", unknownCode, unknown, gt06Code, gt06)
	}
	for _, leak := range []string{"protocol ", "gt06", "jt808", "860470067873061"} {
		if strings.Contains(strings.ToLower(gt06), leak) {
			t.Errorf("403 %q mentions %q", gt06, leak)
		}
	}
}

// TestServeTLS: with a certificate the endpoint speaks HTTPS (HTTP/1.1 only, so a connection's
// requests stay in order for its rate bucket) and stores the fix; plain HTTP gets no fix in.
func TestServeTLS(t *testing.T) {
	// httptest's certificate for 127.0.0.1, and a client that trusts it.
	certSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer certSrv.Close()
	addr, _ := serve(t, Config{TLS: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certSrv.TLS.Certificates}})
	client := certSrv.Client()
	client.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	client.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"h2", "http/1.1"}

	resp, err := client.Get("https://" + addr + "/?id=353861053849681&lat=60.0&lon=30.0&timestamp=1700000000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" || resp.TLS == nil {
		t.Errorf("HTTPS: %d %s, TLS %v; want 200 over HTTP/1.1 and TLS", resp.StatusCode, resp.Proto, resp.TLS != nil)
	}
	resp, err = http.Get("http://" + addr + "/?id=353861053849681&lat=60.0&lon=30.0&timestamp=1700000001")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP to the TLS endpoint answered 200")
		}
	}
}
