package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt808"
)

// privatePostgres is a PostgreSQL cluster of the test's own, which it may stop and start at will
// without disturbing the machine's shared server.
type privatePostgres struct {
	t    *testing.T
	bin  string // directory of initdb, pg_ctl
	dir  string // data directory, also the socket directory
	port int
}

// newPrivatePostgres creates (initdb) a cluster owned by the postgres OS user, not yet started.
func newPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres OS user to run a private PostgreSQL")
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	// Not t.TempDir: its parent is root's and closed to the postgres user.
	root, err := os.MkdirTemp("", "bw-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chown(root, uid, gid); err != nil {
		t.Skipf("cannot hand a directory to the postgres user: %v", err)
	}
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	pg := &privatePostgres{t: t, bin: bin, dir: filepath.Join(root, "data"), port: port}
	pg.asPostgres("initdb", "-D", pg.dir, "-A", "trust", "-U", "postgres", "--no-sync")
	t.Cleanup(func() {
		// Whatever state the test left it in; an already stopped cluster only makes pg_ctl complain.
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", pg.dir, "-m", "immediate", "-w", "stop").Run()
	})
	return pg
}

func (pg *privatePostgres) asPostgres(tool string, args ...string) {
	pg.t.Helper()
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pg.bin, tool)}, args...)...)
	} else {
		cmd = exec.Command(filepath.Join(pg.bin, tool), args...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		pg.t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

func (pg *privatePostgres) start() {
	pg.t.Helper()
	pg.asPostgres("pg_ctl", "-D", pg.dir, "-l", filepath.Join(pg.dir, "log"), "-w",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", pg.port, pg.dir), "start")
}

// kill stops the server the hard way: connections drop, nothing is shut down cleanly.
func (pg *privatePostgres) kill() {
	pg.t.Helper()
	pg.asPostgres("pg_ctl", "-D", pg.dir, "-m", "immediate", "-w", "stop")
}

func (pg *privatePostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", pg.port)
}

// terminal is a JT/T 808 terminal that remembers which of its location reports were answered.
type terminal struct {
	t     *testing.T
	conn  net.Conn
	phone jt808.Phone
	mu    sync.Mutex
	acks  map[uint16]byte // serial of a 0x0200 → result of its 0x8001
}

func dialTerminal(t *testing.T, addr, phone string) *terminal {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ph, err := jt808.ParsePhone(phone, false)
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, conn: c, phone: ph, acks: map[uint16]byte{}}
	go func() {
		sc := jt808.NewScanner(c, 4096)
		for {
			raw, err := sc.Next()
			if err != nil {
				return
			}
			f, _, err := jt808.DecodeFrame(raw)
			if err != nil || f.Header.MsgID != jt808.MsgPlatformResponse || len(f.Body) < 5 ||
				binary.BigEndian.Uint16(f.Body[2:]) != jt808.MsgLocation {
				continue
			}
			tm.mu.Lock()
			tm.acks[binary.BigEndian.Uint16(f.Body)] = f.Body[4]
			tm.mu.Unlock()
		}
	}()
	return tm
}

// report sends a positioned 0x0200 with the given serial and device time.
func (tm *terminal) report(serial uint16, at time.Time, lat, lon float64) {
	tm.t.Helper()
	if err := tm.send(serial, at, lat, lon); err != nil {
		tm.t.Fatal(err)
	}
}

// send is report for a goroutine of its own, which must not end the test itself.
func (tm *terminal) send(serial uint16, at time.Time, lat, lon float64) error {
	h := jt808.Header{MsgID: jt808.MsgLocation, Phone: tm.phone, Serial: serial}
	body := jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned, Lat: lat, Lon: lon, Time: at})
	fr, err := jt808.AppendFrame(nil, &h, body)
	if err == nil {
		_, err = tm.conn.Write(fr)
	}
	return err
}

// ack returns the result the platform answered serial with, if it has.
func (tm *terminal) ack(serial uint16) (result byte, ok bool) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	result, ok = tm.acks[serial]
	return result, ok
}

// waitAcked waits until every serial is answered with result 0.
func (tm *terminal) waitAcked(serials []uint16, within time.Duration) {
	tm.t.Helper()
	deadline := time.Now().Add(within)
	for {
		missing := 0
		for _, s := range serials {
			if r, ok := tm.ack(s); !ok || r != jt808.ResultOK {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%d of %d reports not acknowledged within %v", missing, len(serials), within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getStatus does a GET and returns the status code and body.
func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue sums the samples of a metric on /metrics whose line contains every filter.
func metricValue(t *testing.T, a *testApp, name string, filters ...string) float64 {
	t.Helper()
	code, body := getStatus(t, a.base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	var sum float64
lines:
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		for _, f := range filters {
			if !strings.Contains(line, f) {
				continue lines
			}
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// TestPostgresOutage runs the server on a PostgreSQL of its own, which is down when the server
// starts and goes away again during ingest: the server must wait for it, refuse to acknowledge
// what it cannot store, say so on /readyz, and store the terminal's resent reports once the
// database is back, losing nothing it acknowledged, marking none late, and keeping the zone
// events of the outage.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := newPrivatePostgres(t)

	// The database comes up only after the server has begun waiting for it.
	started := make(chan struct{})
	go func() {
		defer close(started)
		time.Sleep(1500 * time.Millisecond)
		pg.start()
	}()
	a := startApp(t, func(c *config) { c.DatabaseURL = pg.url() })
	<-started
	if code, body := getStatus(t, a.base+"/readyz"); code != 200 {
		t.Fatalf("/readyz after a late database start: %d %s", code, body)
	}

	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "truck-9", "plate": "蒙K00009", "kind": "truck"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "13800000009", "protocol": "jt808", "vehicle_id": "truck-9"}, nil, 201)
	// The truck drives through this yard (reports 25..30) while the database is down.
	a.mustCall("POST", "/api/v1/zones", outageYard, nil, 201)
	tm := dialTerminal(t, a.jt808Ln.Addr().String(), "13800000009")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(serial uint16) time.Time { return base.Add(time.Duration(serial) * 10 * time.Second) }
	send := func(s uint16) { tm.report(s, at(s), 41.5+float64(s)/1000, 109.5+float64(s)/1000) }

	// Before the outage: every report is stored and acknowledged.
	const before, during = 20, 15
	var first []uint16
	for s := uint16(1); s <= before; s++ {
		send(s)
		first = append(first, s)
	}
	tm.waitAcked(first, 10*time.Second)

	// The database goes away; the terminal keeps reporting on its open connection.
	pg.kill()
	errsBefore := metricValue(t, a, "bw_store_commit_errors_total")
	framesBefore := metricValue(t, a, "bw_frames_total", `msg_id="0x0200"`)
	var outage []uint16
	for s := uint16(before + 1); s <= before+during; s++ {
		send(s)
		outage = append(outage, s)
		time.Sleep(50 * time.Millisecond)
	}
	// Wait until the server has read and tried to store every one of them.
	deadline := time.Now().Add(20 * time.Second)
	for metricValue(t, a, "bw_frames_total", `msg_id="0x0200"`) < framesBefore+during ||
		metricValue(t, a, "bw_store_commit_errors_total") == errsBefore {
		if time.Now().After(deadline) {
			t.Fatal("the server did not process the reports sent during the outage")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a late (wrong) acknowledgement would arrive by now
	for _, s := range outage {
		if r, ok := tm.ack(s); ok && r == jt808.ResultOK {
			t.Errorf("report %d acknowledged while the database was down", s)
		}
	}
	code, body := getStatus(t, a.base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("/readyz during the outage: %d %s, want 503 naming the store", code, body)
	}
	if code, _ := getStatus(t, a.base+"/healthz"); code != 200 {
		t.Errorf("/healthz during the outage: %d, want 200 (the process is alive)", code)
	}
	commitErrors := metricValue(t, a, "bw_store_commit_errors_total") - errsBefore

	// The database is back; the terminal resends what was not acknowledged, as terminals do,
	// until it is.
	pg.start()
	resends := tm.resendUntilAcked(outage, send, "the database came back")
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, body := getStatus(t, a.base+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after recovery: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Every acknowledged report is stored, once, and none of the resent ones is taken for late:
	// the pipeline kept what it had evaluated and recognised the resends.
	stored := map[int64]int{}
	late := 0
	for _, f := range a.track("truck-9", base.Add(-time.Minute).Format(time.RFC3339)) {
		stored[f.Time.Unix()]++
		if f.Late {
			late++
			t.Errorf("fix at %v stored marked late", f.Time)
		}
	}
	// The yard's enter and exit, computed while the database was down, are stored once.
	yard := checkOutageYardEvents(t, a, at(before+1), at(before+during))
	lost := 0
	for s := uint16(1); s <= before+during; s++ {
		switch stored[at(s).Unix()] {
		case 1:
		case 0:
			lost++
			t.Errorf("acknowledged report %d (%v) not stored", s, at(s))
		default:
			t.Errorf("report %d stored %d times", s, stored[at(s).Unix()])
		}
	}
	if len(stored) != before+during {
		t.Errorf("stored %d distinct fixes, want %d", len(stored), before+during)
	}
	t.Logf("outage: %d reports sent while PostgreSQL was down, 0 acknowledged, %d failed commit attempts; "+
		"after recovery %d resends, all %d acknowledged; %d fixes stored, %d acknowledged lost, %d marked late; yard events %q",
		during, int(commitErrors), resends, during, len(stored), lost, late, yard)
}

// outageYard lies on TestPostgresOutage's track at reports 25..30.
var outageYard = map[string]any{
	"type":       "Feature",
	"properties": map[string]any{"id": "yard-outage", "name": "Outage yard", "kind": "yard"},
	"geometry": map[string]any{"type": "Polygon", "coordinates": [][][]float64{{
		{109.5245, 41.5245}, {109.5305, 41.5245}, {109.5305, 41.5305}, {109.5245, 41.5305}, {109.5245, 41.5245}}}},
}

// checkOutageYardEvents checks that truck-9's enter and exit of yard-outage, computed while the
// store or the geofence backend was unreachable, are stored once each, in [from, to] and not
// late; it returns the event types found.
func checkOutageYardEvents(t *testing.T, a *testApp, from, to time.Time) []string {
	t.Helper()
	var evs struct {
		Events []struct {
			Type   string
			ZoneID string `json:"zone_id"`
			Time   time.Time
			Late   bool
		}
	}
	a.mustCall("GET", "/api/v1/events?vehicle_id=truck-9", nil, &evs, 200)
	var yard []string
	for _, e := range evs.Events {
		if e.ZoneID != "yard-outage" {
			continue
		}
		yard = append(yard, e.Type)
		if e.Time.Before(from) || e.Time.After(to) || e.Late {
			t.Errorf("%s of the yard at %v (late %v), want within the outage, not late", e.Type, e.Time, e.Late)
		}
	}
	if !slices.Equal(yard, []string{"zone_enter", "zone_exit"}) {
		t.Errorf("yard events %q, want one zone_enter and one zone_exit", yard)
	}
	return yard
}

// resendUntilAcked resends the reports of serials not yet acknowledged, every 300 ms, as
// terminals do, until all are; it fails the test after 30 s and returns how many it resent.
func (tm *terminal) resendUntilAcked(serials []uint16, send func(uint16), after string) int {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	resends := 0
	for {
		var unacked []uint16
		for _, s := range serials {
			if r, ok := tm.ack(s); !ok || r != jt808.ResultOK {
				unacked = append(unacked, s)
			}
		}
		if len(unacked) == 0 {
			return resends
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%d reports still not acknowledged 30 s after %s", len(unacked), after)
		}
		for _, s := range unacked {
			send(s)
			resends++
		}
		time.Sleep(300 * time.Millisecond)
	}
}
