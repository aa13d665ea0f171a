package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/ingest/jt808"
	"github.com/borderwatch/borderwatch/sim"
)

// benchResult is what `borderwatch bench --json` prints.
type benchResult struct {
	FixesPerS       float64     `json:"fixes_per_s"`
	AckP50Ms        float64     `json:"ack_p50_ms"`
	AckP99Ms        float64     `json:"ack_p99_ms"`
	AlertP50Ms      float64     `json:"alert_p50_ms"`
	AlertP99Ms      float64     `json:"alert_p99_ms"`
	AlertsMeasured  int         `json:"alerts_measured"`
	Connections     int         `json:"connections"`
	RSSMB           float64     `json:"rss_mb"`
	RSSPerConnKB    float64     `json:"rss_per_idle_conn_kb"`
	CPUPercent      float64     `json:"cpu_percent"`
	Zones           int         `json:"zones"`
	Geofence        string      `json:"geofence"`
	SyncEveryCommit bool        `json:"sync_every_commit"`
	Steps           []benchStep `json:"steps"`
}

type benchStep struct {
	OfferedPerS float64 `json:"offered_per_s"`
	AckedPerS   float64 `json:"acked_per_s"`
	AckP50Ms    float64 `json:"ack_p50_ms"`
	AckP99Ms    float64 `json:"ack_p99_ms"`
	CPUPercent  float64 `json:"cpu_percent"`
	KeptUp      bool    `json:"kept_up"`
}

// benchCommand starts a server in a child process (embedded backends, the district plus
// synthetic zones, a temporary data directory) and drives it from this process over real
// JT/T 808 TCP connections, raising the offered rate until acknowledgements fall behind.
func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 8*time.Second, "length of each rate step")
	conns := fs.Int("connections", 2000, "terminal connections driving the load")
	idle := fs.Int("idle", 5000, "idle connections opened to measure memory per connection")
	zones := fs.Int("zones", 300, "synthetic polygon zones added to the district")
	start := fs.Int("start-rate", 20000, "first offered rate, fixes/s")
	maxRate := fs.Int("max-rate", 400000, "stop raising the rate here")
	syncCommits := fs.Bool("sync-commits", false, "fsync every group commit (survives power loss)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	say := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stdout, format+"\n", a...)
		}
	}
	srv, err := startBenchServer(ctx, *syncCommits, stderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	n, err := srv.importSynthetic(ctx, *zones)
	if err != nil {
		return err
	}
	res := benchResult{Zones: n, Geofence: envOr("BW_GEOFENCE", "embedded"), SyncEveryCommit: *syncCommits}
	say("server pid %d, %d zones, geofence %s", srv.cmd.Process.Pid, n, res.Geofence)

	best := benchStep{}
	phone := uint64(14000000000)
	for rate := *start; rate <= *maxRate; rate = rate * 3 / 2 {
		cpu0 := srv.cpuSeconds()
		t0 := time.Now()
		lr, err := sim.Load(ctx, sim.LoadConfig{Addr: srv.jt808, Terminals: *conns, RatePerSecond: rate, Duration: *duration, PhoneBase: phone})
		if err != nil {
			return err
		}
		phone += uint64(*conns)
		st := benchStep{OfferedPerS: float64(rate), AckedPerS: lr.AckedPerSecond, AckP50Ms: ms(lr.P50), AckP99Ms: ms(lr.P99),
			CPUPercent: 100 * (srv.cpuSeconds() - cpu0) / time.Since(t0).Seconds()}
		st.KeptUp = lr.AckedPerSecond >= 0.95*float64(rate) && lr.P99 < time.Second
		res.Steps = append(res.Steps, st)
		say("offered %7.0f/s  acked %7.0f/s  ack p50 %6.1f ms  p99 %7.1f ms  server CPU %4.0f%%  %s",
			st.OfferedPerS, st.AckedPerS, st.AckP50Ms, st.AckP99Ms, st.CPUPercent, map[bool]string{true: "kept up", false: "fell behind"}[st.KeptUp])
		if st.KeptUp && st.AckedPerS > best.AckedPerS {
			best = st
		}
		if !st.KeptUp {
			break
		}
		time.Sleep(time.Second) // let the server drain between steps
	}
	if best.AckedPerS == 0 && len(res.Steps) > 0 {
		best = res.Steps[0]
	}
	res.FixesPerS, res.AckP50Ms, res.AckP99Ms, res.CPUPercent, res.Connections = best.AckedPerS, best.AckP50Ms, best.AckP99Ms, best.CPUPercent, *conns

	// Fix-to-alert latency at half the sustained rate: probe vehicles cross the border far from
	// any port while the load runs, and the alert is awaited on the live WebSocket.
	half := max(int(best.AckedPerS/2), 1000)
	say("alert latency at %d fixes/s…", half)
	lats, err := srv.alertLatencies(ctx, half, *conns, phone, *duration)
	if err != nil {
		return err
	}
	phone += uint64(*conns)
	if len(lats) > 0 {
		slices.Sort(lats)
		res.AlertP50Ms, res.AlertP99Ms, res.AlertsMeasured = ms(lats[len(lats)/2]), ms(lats[len(lats)*99/100]), len(lats)
	}

	rssBefore := srv.rssKB()
	held, err := openIdle(ctx, srv.jt808, *idle, phone)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	rssAfter := srv.rssKB()
	for _, c := range held {
		c.Close()
	}
	res.RSSMB = float64(rssAfter) / 1024
	if len(held) > 0 {
		res.RSSPerConnKB = float64(rssAfter-rssBefore) / float64(len(held))
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	say("sustained %.0f fixes/s (every fix stored and acknowledged), ack p50 %.1f ms p99 %.1f ms", res.FixesPerS, res.AckP50Ms, res.AckP99Ms)
	say("fix → alert on the WebSocket at %d fixes/s: p50 %.1f ms p99 %.1f ms (%d alerts)", half, res.AlertP50Ms, res.AlertP99Ms, res.AlertsMeasured)
	say("server RSS %.0f MB; %.1f KB per idle connection (%d connections)", res.RSSMB, res.RSSPerConnKB, len(held))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type benchServer struct {
	cmd         *exec.Cmd
	dir         string
	http, jt808 string
	token       string
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startBenchServer(ctx context.Context, syncCommits bool, stderr io.Writer) (*benchServer, error) {
	dir, err := os.MkdirTemp("", "borderwatch-bench-")
	if err != nil {
		return nil, err
	}
	s := &benchServer{dir: dir}
	if s.http, err = freeAddr(); err != nil {
		return nil, err
	}
	if s.jt808, err = freeAddr(); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	const pw = "Bench-Passw0rd-1"
	s.cmd = exec.Command(exe, "serve")
	s.cmd.Env = append(os.Environ(), "BW_DATA_DIR="+dir, "BW_HTTP_ADDR="+s.http, "BW_JT808_ADDR="+s.jt808, "BW_GT06_ADDR=", "BW_OSMAND_ADDR=",
		"BW_ACCEPT_UNKNOWN_DEVICES=true", "BW_ADMIN_PASSWORD="+pw, "BW_LOG_LEVEL=warn", "BW_DATABASE_URL=", "BW_MAX_CONNS=20000",
		"BW_SYNC_COMMITS="+strconv.FormatBool(syncCommits))
	s.cmd.Stderr = stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + s.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("bench: the server did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": pw})
	resp, err := http.Post("http://"+s.http+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		s.stop()
		return nil, err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		s.stop()
		return nil, fmt.Errorf("bench: login failed (%d)", resp.StatusCode)
	}
	s.token = out.Token
	return s, nil
}

func (s *benchServer) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
		}
	}
	os.RemoveAll(s.dir)
}

// importSynthetic adds n square polygons scattered over the district and returns the zone count.
func (s *benchServer) importSynthetic(ctx context.Context, n int) (int, error) {
	feats := make([]map[string]any, 0, n)
	for i := range n {
		lat := 40.6 + float64(i%30)*0.16
		lon := 100.5 + float64(i/30)*1.7 + float64(i%7)*0.05
		d := 0.02
		feats = append(feats, map[string]any{"type": "Feature",
			"geometry":   map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat}}}},
			"properties": map[string]any{"id": fmt.Sprintf("synthetic-%d", i), "name": fmt.Sprintf("synthetic %d", i), "kind": "restricted"}})
	}
	body, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": feats})
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+s.http+"/api/v1/zones/import", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("bench: zone import answered %d", resp.StatusCode)
	}
	return n + len(district.Zones()), nil
}

// cpuSeconds is the server process's user+system CPU time.
func (s *benchServer) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func (s *benchServer) rssKB() int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// borderPoint finds where the district's border line crosses a meridian, far from any port.
func borderPoint(lon float64) (lat float64, ok bool) {
	b := district.Border()
	for i := 1; i < len(b); i++ {
		a, c := b[i-1], b[i]
		if (a[0]-lon)*(c[0]-lon) <= 0 && a[0] != c[0] {
			return a[1] + (c[1]-a[1])*(lon-a[0])/(c[0]-a[0]), true
		}
	}
	return 0, false
}

// alertLatencies runs load at rate while probe terminals cross the border outside every port,
// and measures from the crossing fix's send to its alert arriving on the live WebSocket.
func (s *benchServer) alertLatencies(ctx context.Context, rate, conns int, phone uint64, d time.Duration) ([]time.Duration, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+s.http+"/api/v1/live?token="+s.token, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: live WebSocket: %w", err)
	}
	defer ws.Close()
	ws.WriteJSON(map[string]any{"type": "subscribe", "min_severity": "critical"})
	got := make(chan string, 1024)
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				close(got)
				return
			}
			var m struct {
				Type  string
				Alert struct {
					VehicleID string `json:"vehicle_id"`
				}
				Messages []json.RawMessage
			}
			if json.Unmarshal(b, &m) != nil {
				continue
			}
			msgs := m.Messages
			if m.Type != "batch" {
				msgs = []json.RawMessage{b}
			}
			for _, raw := range msgs {
				var one struct {
					Type  string
					Alert struct {
						VehicleID string `json:"vehicle_id"`
					}
				}
				if json.Unmarshal(raw, &one) == nil && one.Type == "alert" {
					got <- one.Alert.VehicleID
				}
			}
		}
	}()
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	loadDone := make(chan struct{})
	go func() {
		sim.Load(loadCtx, sim.LoadConfig{Addr: s.jt808, Terminals: conns, RatePerSecond: rate, Duration: d + 5*time.Second, PhoneBase: phone})
		close(loadDone)
	}()
	time.Sleep(time.Second)
	lat, ok := borderPoint(104.0)
	if !ok {
		return nil, errors.New("bench: no border at 104°E")
	}
	var lats []time.Duration
	probes := 40
	for i := range probes {
		id := fmt.Sprint(19000000000 + uint64(i))
		t, err := probeCrossing(ctx, s.jt808, id, lat, 104.0+float64(i)*0.01, got)
		if err != nil {
			return lats, err
		}
		if t > 0 {
			lats = append(lats, t)
		}
		time.Sleep(d / time.Duration(probes))
	}
	cancel()
	<-loadDone
	return lats, nil
}

// probeCrossing sends a fix north of the border and one south of it; it returns the time from
// the second send to the vehicle's alert (0 if none arrived within 5 s).
func probeCrossing(ctx context.Context, addr, id string, borderLat, lon float64, alerts <-chan string) (time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ph, _ := jt808.ParsePhone(id, false)
	h := jt808.Header{MsgID: jt808.MsgLocation, Phone: ph}
	// Ten minutes between the two fixes: 6.6 km at 40 km/h, a plausible drive, not a GPS jump.
	at := time.Now().Add(-15 * time.Minute).Truncate(time.Second)
	sc := jt808.NewScanner(c, 4096)
	send := func(lat float64, t time.Time) error {
		h.Serial++
		body := jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned | jt808.StatusACC, Lat: lat, Lon: lon, SpeedKmh: 60, Time: t})
		fr, _ := jt808.AppendFrame(nil, &h, body)
		_, err := c.Write(fr)
		return err
	}
	if err := send(borderLat+0.03, at); err != nil {
		return 0, err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := sc.Next(); err != nil {
		return 0, fmt.Errorf("probe %s: no ack: %w", id, err)
	}
	sent := time.Now()
	if err := send(borderLat-0.03, at.Add(10*time.Minute)); err != nil {
		return 0, err
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case v, ok := <-alerts:
			if !ok {
				return 0, errors.New("bench: live WebSocket closed")
			}
			if v == id {
				return time.Since(sent), nil
			}
		case <-timeout:
			return 0, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// openIdle opens n terminal connections that each send one heartbeat and then stay silent.
func openIdle(ctx context.Context, addr string, n int, phone uint64) ([]net.Conn, error) {
	var out []net.Conn
	var d net.Dialer
	for i := range n {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return out, nil // the file limit: measure what opened
		}
		ph, _ := jt808.ParsePhone(fmt.Sprint(phone+uint64(i)), false)
		fr, _ := jt808.AppendFrame(nil, &jt808.Header{MsgID: jt808.MsgHeartbeat, Phone: ph}, nil)
		c.Write(fr)
		out = append(out, c)
	}
	return out, nil
}
