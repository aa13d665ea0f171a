package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files and returns their
// paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "borderwatch test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// TestTLS: with BW_TLS_CERT and BW_TLS_KEY the web app, the API, the live socket and OsmAnd
// answer over TLS 1.2 or later only, and the web app sends HSTS; nothing is served in clear.
func TestTLS(t *testing.T) {
	certFile, keyFile, roots := selfSigned(t)
	cfg := config{
		HTTPAddr: "127.0.0.1:0", OsmAndAddr: "127.0.0.1:0", DataDir: t.TempDir(), Geofence: "embedded",
		AdminPassword: testPassword, LogLevel: "error", MaxConns: 100, IdleTimeout: time.Minute, AcceptUnknown: true,
		TLSCert: certFile, TLSKey: keyFile,
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, io.Discard)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	api, osm := a.httpLn.Addr().String(), a.osmandLn.Addr().String()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}

	resp, err := client.Get("https://" + api + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("web app over TLS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": testPassword})
	resp, err = client.Post("https://"+api+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if resp.StatusCode != 200 || login.Token == "" {
		t.Fatalf("login over TLS: %d", resp.StatusCode)
	}

	dialer := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: roots}, HandshakeTimeout: 5 * time.Second}
	ws, _, err := dialer.Dial("wss://"+api+"/api/v1/live?token="+login.Token, nil)
	if err != nil {
		t.Fatalf("live socket over TLS: %v", err)
	}
	defer ws.Close()
	subscribe(t, ws)
	resp, err = client.Get(fmt.Sprintf("https://%s/?id=tls-phone&lat=43.65&lon=111.97&timestamp=%d", osm, time.Now().Unix()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("OsmAnd over TLS: %d", resp.StatusCode)
	}
	awaitPosition(t, ws, "tls-phone")

	for _, addr := range []string{api, osm} {
		old := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
		if c, err := tls.Dial("tcp", addr, old); err == nil {
			c.Close()
			t.Errorf("%s: TLS 1.1 accepted", addr)
		}
		if resp, err := http.Get("http://" + addr + "/healthz?id=tls-phone&lat=43.65&lon=111.97"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Errorf("%s: answered 200 in clear", addr)
			}
		}
	}
}

// TestTLSNeedsCertAndKey: one of the two settings alone is a mistake, said at start.
func TestTLSNeedsCertAndKey(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	for _, files := range [][2]string{{certFile, ""}, {"", keyFile}} {
		cfg := config{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), AdminPassword: testPassword, TLSCert: files[0], TLSKey: files[1]}
		if a, err := newApp(context.Background(), cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "BW_TLS_CERT and BW_TLS_KEY") {
			if a != nil {
				a.close()
			}
			t.Errorf("cert %q key %q: %v, want an error naming both", files[0], files[1], err)
		}
	}
	if _, err := loadTLS(keyFile, certFile); err == nil {
		t.Error("certificate and key swapped: loaded")
	}
}

// TestSlowHeadersCutOff: a client that trickles its headers (slowloris) to the API or to OsmAnd
// is disconnected once the header timeout (10 s on both) has passed, however often it sends a
// byte.
func TestSlowHeadersCutOff(t *testing.T) {
	a := startApp(t, func(c *config) { c.JT808Addr, c.GT06Addr = "", "" })
	const osmandHeaderTimeout = 10 * time.Second // osmand.Server's
	for _, port := range []struct {
		name    string
		ln      net.Listener
		timeout time.Duration
	}{{"API", a.httpLn, apiTimeouts.Header}, {"OsmAnd", a.osmandLn, osmandHeaderTimeout}} {
		t.Run(port.name, func(t *testing.T) {
			t.Parallel()
			d := trickle(t, port.ln.Addr().String(), "GET /api/v1/vehicles HTTP/1.1\r\nHost: x\r\n", "X-Slow: 1\r\n", port.timeout+5*time.Second)
			if d < port.timeout-time.Second || d > port.timeout+3*time.Second {
				t.Errorf("connection closed after %v, want about %v", d, port.timeout)
			}
		})
	}
}

// trickle sends head, then more every half second, and returns when the server closed the
// connection; it fails the test if it is still open after giveUp.
func trickle(t *testing.T, addr, head, more string, giveUp time.Duration) time.Duration {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
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
	conn.Write([]byte(head))
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(giveUp)
	for {
		select {
		case d := <-closed:
			return d
		case <-tick.C:
			conn.Write([]byte(more))
		case <-deadline:
			t.Fatalf("still connected after %v of trickling", time.Since(start))
		}
	}
}

// TestLiveSocketOutlivesHTTPTimeouts: the read and write timeouts that cut off slow requests
// do not close the live WebSocket, which lasts as long as the screen is open. Short timeouts
// stand in for apiTimeouts' minutes.
func TestLiveSocketOutlivesHTTPTimeouts(t *testing.T) {
	a := startApp(t, func(c *config) { c.JT808Addr, c.GT06Addr, c.AcceptUnknown = "", "", true })
	short := httpTimeouts{Header: 500 * time.Millisecond, Read: time.Second, Write: time.Second, Idle: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(a.api.Handler(), nil, short)
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()

	// The timeouts are in force: a request body trickled for longer than Read is cut off.
	if d := trickle(t, addr, "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", " ", 5*time.Second); d > 2*short.Read {
		t.Errorf("trickled body cut off after %v, want about %v", d, short.Read)
	}

	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/live?token="+url.QueryEscape(a.token), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	subscribe(t, ws)
	time.Sleep(3 * short.Read)
	osm := "http://" + a.osmandLn.Addr().String()
	resp, err := http.Get(fmt.Sprintf("%s/?id=wall-phone&lat=43.65&lon=111.97&timestamp=%d", osm, time.Now().Unix()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	awaitPosition(t, ws, "wall-phone")
}

// subscribe asks the live socket for everything and waits for the acknowledgement.
func subscribe(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	if err := ws.WriteJSON(map[string]string{"type": "subscribe"}); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for the subscription's acknowledgement: %v", err)
		}
		if bytes.Contains(msg, []byte(`"subscribed"`)) {
			return
		}
	}
}

// awaitPosition reads the live socket until a position of vehicle arrives.
func awaitPosition(t *testing.T, ws *websocket.Conn, vehicle string) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("live socket while waiting for %s: %v", vehicle, err)
		}
		if bytes.Contains(msg, []byte(`"position"`)) && bytes.Contains(msg, []byte(`"`+vehicle+`"`)) {
			return
		}
	}
}
