package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/borderwatch/borderwatch/cluster"
	"github.com/borderwatch/borderwatch/cluster/clustertest"
	"github.com/borderwatch/borderwatch/ingest/jt808"
)

// clusterNode is one BorderWatch process of a test cluster.
type clusterNode struct {
	cmd      *exec.Cmd
	name     string
	http, jt string
	env      []string
	t        *testing.T
	exited   chan struct{}
}

// testAuditKey is the audit key every node of the test cluster shares: one chain in one store.
const testAuditKey = "6b3a1f0e9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa9988"

func startClusterNode(t *testing.T, name, roles, natsURLs, dbURL string, env ...string) *clusterNode {
	t.Helper()
	httpAddr, _ := freeAddr()
	jtAddr := ""
	if strings.Contains(roles, "gateway") {
		jtAddr, _ = freeAddr()
	}
	n := &clusterNode{name: name, http: httpAddr, jt: jtAddr, t: t}
	n.env = append(os.Environ(), "BW_TEST_SERVE=1", "BW_DATA_DIR="+t.TempDir(), "BW_HTTP_ADDR="+httpAddr, "BW_JT808_ADDR="+jtAddr,
		"BW_GT06_ADDR=", "BW_JT600_ADDR=", "BW_OSMAND_ADDR=", "BW_ACCEPT_UNKNOWN_DEVICES=true", "BW_ADMIN_PASSWORD="+testPassword,
		"BW_REQUIRE_TOTP_ADMINS=false", "BW_LOG_LEVEL=warn", "BW_GEOFENCE=embedded", "BW_AUDIT_KEY="+testAuditKey,
		"BW_DATABASE_URL="+dbURL, "BW_NATS_URL="+natsURLs, "BW_ROLES="+roles, "BW_NODE_NAME="+name)
	n.env = append(n.env, env...)
	n.start()
	return n
}

func (n *clusterNode) start() {
	t := n.t
	n.cmd = exec.Command(os.Args[0], "-test.run=^$")
	n.cmd.Env = n.env
	n.cmd.Stderr = os.Stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.exited = make(chan struct{})
	cmd := n.cmd
	go func() {
		cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-n.exited })
	deadline := time.Now().Add(90 * time.Second)
	for {
		if resp, err := http.Get("http://" + n.http + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-n.exited:
			t.Fatalf("node %s exited while starting", n.name)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not become ready", n.name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill9 kills the node as a power cut would.
func (n *clusterNode) kill9() {
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// clusterTerminal is a JT/T 808 terminal that sends its fixes one by one, each once the previous is
// acknowledged; without an answer within 3 s, or when its connection breaks, it reconnects
// (to the next gateway of its list, as a terminal given several addresses) and resends.
func clusterTerminal(ctx context.Context, id string, gateways []string, base time.Time, lat float64, fixes int, acked func(time.Time)) {
	ph, _ := jt808.ParsePhone(id, false)
	gw := 0
	var c net.Conn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for n := 0; n < fixes && ctx.Err() == nil; {
		if c == nil {
			var err error
			if c, err = net.DialTimeout("tcp", gateways[gw%len(gateways)], time.Second); err != nil {
				gw++
				time.Sleep(100 * time.Millisecond)
				continue
			}
		}
		at := base.Add(time.Duration(n) * 10 * time.Second)
		h := jt808.Header{MsgID: jt808.MsgLocation, Phone: ph, Serial: uint16(n)}
		body := jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned, Lat: lat, Lon: 109 + float64(n)/1000, Time: at})
		fr, _ := jt808.AppendFrame(nil, &h, body)
		ok := false
		if _, err := c.Write(fr); err == nil {
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			sc := jt808.NewScanner(c, 4096)
			for {
				raw, err := sc.Next()
				if err != nil {
					break
				}
				f, _, err := jt808.DecodeFrame(raw)
				if err == nil && f.Header.MsgID == jt808.MsgPlatformResponse && len(f.Body) >= 5 &&
					binary.BigEndian.Uint16(f.Body) == uint16(n) && f.Body[4] == jt808.ResultOK {
					ok = true
					break
				}
			}
		}
		if !ok {
			c.Close()
			c, gw = nil, gw+1
			continue
		}
		acked(at)
		n++
	}
}

// TestClusterKillNine runs three NATS servers and three BorderWatch processes on one
// PostgreSQL: A (all roles), B (gateway, tracker), C (tracker). Terminals stream to A and B;
// C is killed with SIGKILL mid-stream, then B (its terminals move to A). Every acknowledged fix
// must be stored exactly once, in each vehicle's time order; C restarted gets partitions back.
func TestClusterKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and server processes")
	}
	nats := clustertest.StartNATS(t, 3)
	dbURL := clustertest.PostgresURL(t)
	a := startClusterNode(t, "A", "gateway,tracker,api", nats.URLs(), dbURL)
	b := startClusterNode(t, "B", "gateway,tracker", nats.URLs(), dbURL)
	c := startClusterNode(t, "C", "tracker", nats.URLs(), dbURL)
	api := &testApp{t: t, base: "http://" + a.http}
	if code := api.call("GET", "/api/v1/cluster", "", nil, nil); code != 401 {
		t.Errorf("GET /api/v1/cluster without a session = %d, want 401", code)
	}
	api.token = api.login("admin", testPassword)
	waitPartitions(t, api, map[string]bool{"A": true, "B": true, "C": true})
	// A zone added on A reaches every tracker, C's among them, within a second: the terminals'
	// tracks cross it (in at the 10th fix, out at the 50th), each vehicle must enter and leave
	// it once, whichever tracker evaluated it and through both kills.
	zone := `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[109.0095,40.9],[109.0495,40.9],[109.0495,41.4],[109.0095,41.4],[109.0095,40.9]]]},` +
		`"properties":{"id":"cz-e2e","name":"e2e control zone","kind":"control_zone"}}`
	api.mustCall("POST", "/api/v1/zones", json.RawMessage(zone), nil, 201)
	// Gate reads posted on A are judged by the owners of their vehicles' partitions (A, B or C,
	// which learnt the plates from A's change notices) and answered in the same response.
	for i := range 6 {
		api.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": fmt.Sprintf("gate-%d", i), "plate": fmt.Sprintf("蒙K9000%d", i), "kind": "truck"}, nil, 201)
	}
	time.Sleep(time.Second)
	for i := range 6 {
		var out struct {
			Event struct {
				VehicleID string `json:"vehicle_id"`
			} `json:"event"`
			Hold *bool `json:"hold"`
		}
		api.mustCall("POST", "/api/v1/gate-events", map[string]any{"gate_zone_id": "cz-e2e", "plate": fmt.Sprintf("蒙K9000%d", i), "direction": "in"}, &out, 201)
		if want := fmt.Sprintf("gate-%d", i); out.Event.VehicleID != want || out.Hold == nil {
			t.Errorf("gate read of %s judged as %+v, want vehicle %s and a hold answer", want, out, want)
		}
	}

	const terminals, fixes = 30, 120
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var mu sync.Mutex
	acked := map[string][]time.Time{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i := range terminals {
		id := fmt.Sprint(13900000000 + i)
		gws := []string{a.jt, b.jt}
		if i%2 == 1 {
			gws = []string{b.jt, a.jt}
		}
		wg.Go(func() {
			clusterTerminal(ctx, id, gws, base, 41+float64(i)/100, fixes, func(at time.Time) {
				mu.Lock()
				acked[id] = append(acked[id], at)
				mu.Unlock()
			})
		})
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, ts := range acked {
			n += len(ts)
		}
		return n
	}
	for count() < terminals*fixes/4 {
		time.Sleep(20 * time.Millisecond)
	}
	c.kill9()
	killedC := time.Now()
	for count() < terminals*fixes/2 {
		time.Sleep(20 * time.Millisecond)
	}
	b.kill9()
	wg.Wait()
	t.Logf("C killed at %d acknowledged fixes, B later; %d acknowledged in all (%v after C's kill)", terminals*fixes/4, count(), time.Since(killedC).Round(time.Millisecond))
	if count() != terminals*fixes {
		t.Fatalf("%d fixes acknowledged, want %d: the terminals did not get through", count(), terminals*fixes)
	}
	checkClusterStore(t, dbURL, acked)

	c.start()
	waitPartitions(t, api, map[string]bool{"A": true, "C": true})
	checkClusterStore(t, dbURL, acked)
}

// waitPartitions waits until every partition is served, each node of want serving some and
// no other: taken over, not only leased (a lease comes seconds before the take-over ends, and
// the callers go on to gate reads the owners must answer).
func waitPartitions(t *testing.T, api *testApp, want map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var st struct {
			Nodes []struct {
				Node  string `json:"node"`
				Ready []int  `json:"ready"`
			} `json:"nodes"`
			Partitions int `json:"partitions"`
		}
		// 503: the status could not be read from NATS in time (a busy machine); asked again.
		if code := api.call("GET", "/api/v1/cluster", api.token, nil, &st); code != http.StatusOK && code != http.StatusServiceUnavailable {
			t.Fatalf("GET /api/v1/cluster = %d, want 200 (or 503 for a while)", code)
		}
		serving := map[string]bool{}
		ready := map[int]bool{}
		for _, n := range st.Nodes {
			for _, p := range n.Ready {
				ready[p] = true
				serving[n.Node] = true
			}
		}
		ok := len(ready) == st.Partitions && len(serving) == len(want)
		for n := range want {
			ok = ok && serving[n]
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("partitions not served by %v: %+v", want, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkClusterStore checks that each acknowledged fix is stored once, in time order, none late.
func checkClusterStore(t *testing.T, dbURL string, acked map[string][]time.Time) {
	t.Helper()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for id, times := range acked {
		want := map[int64]bool{}
		for _, at := range times {
			want[at.Unix()] = true
		}
		var stored []time.Time
		deadline := time.Now().Add(60 * time.Second)
		for {
			stored = stored[:0]
			rows, err := db.Query(ctx, `SELECT device_time FROM fixes WHERE device_id = $1 ORDER BY id`, id)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var ts time.Time
				rows.Scan(&ts)
				stored = append(stored, ts)
			}
			rows.Close()
			if len(stored) >= len(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		seen := map[int64]bool{}
		for i, ts := range stored {
			if seen[ts.Unix()] {
				t.Errorf("%s: fix of %v stored twice", id, ts)
			}
			seen[ts.Unix()] = true
			if i > 0 && !ts.After(stored[i-1]) {
				t.Errorf("%s: stored out of order: %v after %v", id, ts, stored[i-1])
			}
		}
		for at := range want {
			if !seen[at] {
				t.Errorf("%s: acknowledged fix of %v not stored", id, time.Unix(at, 0).UTC())
			}
		}
	}
	for id := range acked {
		var enters, exits int
		if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE type = 'zone_enter'), count(*) FILTER (WHERE type = 'zone_exit')
			FROM events WHERE zone_id = 'cz-e2e' AND vehicle_id IN (SELECT vehicle_id FROM latest_fixes WHERE device_id = $1)`, id).Scan(&enters, &exits); err != nil {
			t.Fatal(err)
		}
		if enters != 1 || exits != 1 {
			var evs []string
			rows, err := db.Query(ctx, `SELECT type || ' ' || time::text || ' fix ' || fix_id::text FROM events
				WHERE zone_id = 'cz-e2e' AND vehicle_id IN (SELECT vehicle_id FROM latest_fixes WHERE device_id = $1) ORDER BY id`, id)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var e string
				rows.Scan(&e)
				evs = append(evs, e)
			}
			rows.Close()
			t.Errorf("%s: %d zone_enter and %d zone_exit events, want one each: %v", id, enters, exits, evs)
		}
	}
	var gates int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'gate_read' AND vehicle_id LIKE 'gate-%'`).Scan(&gates); err != nil {
		t.Fatal(err)
	}
	if gates != 6 {
		t.Errorf("%d gate reads stored, want 6 (one each)", gates)
	}
	var late int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM fixes WHERE late`).Scan(&late); err != nil {
		t.Fatal(err)
	}
	if late > 0 {
		t.Errorf("%d fixes stored as late although every terminal sent in order", late)
	}
}

// TestClusterSettingsRefused: a cluster on the embedded store, or with roles or URLs that do not
// parse, does not start, and says why.
func TestClusterSettingsRefused(t *testing.T) {
	for _, c := range []struct {
		db, nats, roles, want string
	}{
		{"", "nats://127.0.0.1:4222", "", "PostgreSQL"},
		{"sqlite:/tmp/x.db", "nats://127.0.0.1:4222", "", "PostgreSQL"},
		{"postgres://127.0.0.1/x", "http://127.0.0.1:4222", "", "nats://"},
		{"postgres://127.0.0.1/x", "nats://127.0.0.1:4222", "gateway,root", `"root"`},
	} {
		cfg := config{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: c.db, NATSURL: c.nats, Roles: c.roles}
		_, err := newApp(context.Background(), cfg, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want one naming %s", c, err, c.want)
		}
	}
}

// TestClusterOsmAndAckMeansStored: in a cluster, OsmAnd's HTTP 200 means JetStream holds the
// fix (no tracker runs here, so nothing else could have taken it), and with NATS gone the
// client gets 503, not 200, and resends.
func TestClusterOsmAndAckMeansStored(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and a server process")
	}
	nats := clustertest.StartNATS(t, 3)
	dbURL := clustertest.PostgresURL(t)
	osm, _ := freeAddr()
	startClusterNode(t, "G", "gateway", nats.URLs(), dbURL, "BW_OSMAND_ADDR="+osm)
	client := &http.Client{Timeout: 60 * time.Second}
	send := func(at time.Time) int {
		resp, err := client.Post(fmt.Sprintf("http://%s/?id=osm-e2e&lat=41.5&lon=109.5&timestamp=%d", osm, at.Unix()), "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	if code := send(at); code != 200 {
		t.Fatalf("OsmAnd fix answered %d, want 200", code)
	}
	nc, err := natsgo.Connect(nats.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oc, err := js.OrderedConsumer(ctx, "BW_FIXES", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := oc.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("no fix in the stream after OsmAnd's 200: %v", err)
	}
	fixes, err := cluster.DecodeFixes(m.Data())
	if err != nil || len(fixes) != 1 || !fixes[0].Time.Equal(at) || !strings.Contains(fixes[0].DeviceID, "osm-e2e") {
		t.Fatalf("stream holds %s, want the fix of %v (err %v)", m.Data(), at, err)
	}
	nc.Close()
	for i := range 3 {
		nats.Kill(i)
	}
	if code := send(at.Add(10 * time.Second)); code != http.StatusServiceUnavailable {
		t.Errorf("OsmAnd fix with NATS gone answered %d, want 503", code)
	}
}
