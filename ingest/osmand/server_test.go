package osmand

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// serve runs a Server of cfg on a loopback port until the test ends and returns its address.
func serve(t *testing.T, cfg Config) string {
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
	return ln.Addr().String()
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
	addr := serve(t, Config{TLS: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certSrv.TLS.Certificates}})
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

// TestSlowHeadersCutOff: a client that trickles its headers (slowloris) is disconnected once the
// header timeout has passed, however often it sends a byte.
func TestSlowHeadersCutOff(t *testing.T) {
	t.Parallel()
	const headerTimeout = 10 * time.Second // Serve's ReadHeaderTimeout
	conn, err := net.Dial("tcp", serve(t, Config{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, bufio.NewReader(conn))
		closed <- time.Since(start)
	}()
	conn.Write([]byte("GET /?id=353861053849681&lat=60.0&lon=30.0 HTTP/1.1\r\nHost: x\r\n"))
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(headerTimeout + 5*time.Second)
	for {
		select {
		case d := <-closed:
			if d < headerTimeout-time.Second || d > headerTimeout+3*time.Second {
				t.Errorf("connection closed after %v, want about %v", d, headerTimeout)
			}
			return
		case <-tick.C:
			conn.Write([]byte("X-Slow: 1\r\n"))
		case <-giveUp:
			t.Fatalf("still connected after %v of trickled headers", time.Since(start))
		}
	}
}
