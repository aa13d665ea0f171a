package notifier

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/pgstore"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
	"github.com/borderwatch/borderwatch/tracker/storetest"
)

// store is what the tests need of a real store.
type store = storetest.Store

func openSQLite(t testing.TB, path string) store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	p      Payload
}

// receiver records requests and answers each with what answer returns.
type receiver struct {
	mu     sync.Mutex
	got    []received
	answer func(r received) int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	got := received{header: r.Header.Clone(), body: body}
	json.Unmarshal(body, &got.p)
	rc.mu.Lock()
	rc.got = append(rc.got, got)
	answer := rc.answer
	rc.mu.Unlock()
	code := http.StatusNoContent
	if answer != nil {
		code = answer(got)
	}
	w.WriteHeader(code)
	if code >= 300 {
		fmt.Fprintf(w, "answer %d", code)
	}
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func (rc *receiver) setAnswer(f func(received) int) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// start runs a notifier until the test ends or stop is called; stop waits for it to finish.
func start(t testing.TB, ob Outbox, hooks ...Hook) (n *Notifier, stop func()) {
	t.Helper()
	return startWith(t, Config{Outbox: ob, Hooks: hooks, Timeout: 5 * time.Second})
}

// startWith is start with settings of the test's own; backoff and polling are always fast.
func startWith(t testing.TB, cfg Config) (n *Notifier, stop func()) {
	t.Helper()
	cfg.MinBackoff, cfg.MaxBackoff, cfg.Poll, cfg.Batch = 5*time.Millisecond, 40*time.Millisecond, 10*time.Millisecond, 4
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return n, stop
}

// waitFor polls until cond holds. The ceiling only turns a hang into a readable failure.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func raise(t testing.TB, s store, veh, key string) int64 {
	t.Helper()
	now := time.Now().UTC()
	b := &tracker.Batch{Alerts: []tracker.Alert{{Type: tracker.AlertDetour, Severity: tracker.SeverityWarning, VehicleID: veh,
		Time: now, UpdatedAt: now, Lat: 43.65, Lon: 111.97, Message: "off corridor", DedupKey: key, Active: true,
		Evidence: json.RawMessage(`{"max_off_m":812}`)}}}
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b.Alerts[0].ID
}

func ack(t testing.TB, s store, id int64) {
	t.Helper()
	if _, err := s.SetAlertStatus(context.Background(), id, tracker.StatusAcknowledged, "officer1", "on my way", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func deliveries(t testing.TB, ob store, q tracker.DeliveryQuery) []tracker.Delivery {
	t.Helper()
	ds, err := ob.Deliveries(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func count(t testing.TB, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// checkSignature verifies the signature header the way a receiver would.
func checkSignature(t *testing.T, secret string, r received) {
	t.Helper()
	var ts, v1 string
	for _, part := range strings.Split(r.header.Get(HeaderSignature), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(r.body)))
	sig, err := hex.DecodeString(v1)
	if ts == "" || err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		t.Errorf("signature %q does not verify over the body with the secret", r.header.Get(HeaderSignature))
	}
}

func TestDeliveredOnceSigned(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "bw.db"))
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	// Raised before the notifier starts: the outbox keeps it.
	id := raise(t, s, "v1", "detour:v1")
	n, stop := start(t, s, Hook{Name: "customs", URL: srv.URL + "/hook", Secret: "s3cret"})
	waitFor(t, "the opening", func() bool { return len(rc.requests()) == 1 })
	ack(t, s, id)
	waitFor(t, "the acknowledgement", func() bool { return len(rc.requests()) == 2 })
	stop()

	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(got))
	}
	for i, want := range []string{"alert.opened", "alert.acknowledged"} {
		r := got[i]
		checkSignature(t, "s3cret", r)
		if r.p.Type != want || r.header.Get(HeaderEvent) != want || r.p.Alert.ID != id {
			t.Errorf("request %d = %s %s for alert %d, want %s for %d", i, r.p.Type, r.header.Get(HeaderEvent), r.p.Alert.ID, want, id)
		}
		if r.p.ID == "" || r.header.Get(HeaderDelivery) != r.p.ID || r.header.Get(HeaderAttempt) != "1" {
			t.Errorf("request %d: delivery header %q, body id %q, attempt %q", i, r.header.Get(HeaderDelivery), r.p.ID, r.header.Get(HeaderAttempt))
		}
		if r.header.Get("Content-Type") != "application/json" || r.p.Time.IsZero() {
			t.Errorf("request %d: content type %q, time %v", i, r.header.Get("Content-Type"), r.p.Time)
		}
	}
	if got[0].p.ID == got[1].p.ID || got[0].p.Sequence >= got[1].p.Sequence {
		t.Errorf("ids %s %s, sequences %d %d: want distinct ids, increasing sequence", got[0].p.ID, got[1].p.ID, got[0].p.Sequence, got[1].p.Sequence)
	}
	if a := got[0].p.Alert; a.Status != tracker.StatusOpen || a.AckedBy != "" || string(a.Evidence) != `{"max_off_m":812}` {
		t.Errorf("opening carries %+v, want the alert as opened with its evidence", a)
	}
	if a := got[1].p.Alert; a.Status != tracker.StatusAcknowledged || a.AckedBy != "officer1" || a.Note != "on my way" {
		t.Errorf("acknowledgement carries %+v", a)
	}
	for _, d := range deliveries(t, s, tracker.DeliveryQuery{}) {
		if d.Status != tracker.DeliveryDelivered || d.Attempts != 1 || d.LastCode != http.StatusNoContent {
			t.Errorf("delivery %+v, want delivered at the first attempt", d)
		}
	}
	if v := count(t, n.m.deliveries.WithLabelValues("customs", "delivered")); v != 2 {
		t.Errorf("bw_webhook_deliveries_total{result=delivered} = %v, want 2", v)
	}
}

func TestRetriesUntilReceiverBack(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "bw.db"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	down := &receiver{answer: func(received) int { return http.StatusServiceUnavailable }}
	srv := &http.Server{Handler: down}
	go srv.Serve(ln)
	n, _ := start(t, s, Hook{Name: "h", URL: "http://" + addr + "/"})
	id := raise(t, s, "v1", "detour:v1")
	waitFor(t, "two 503s", func() bool { return len(down.requests()) >= 2 })
	srv.Close() // from now on: connection refused
	waitFor(t, "an attempt refused at the TCP level", func() bool {
		ds := deliveries(t, s, tracker.DeliveryQuery{AlertID: id})
		return len(ds) == 1 && strings.Contains(ds[0].LastError, "refused")
	})
	if ds := deliveries(t, s, tracker.DeliveryQuery{}); ds[0].Status != tracker.DeliveryPending || ds[0].Attempts < 3 {
		t.Fatalf("delivery while the receiver is down = %+v, want pending after 3+ attempts", ds[0])
	}

	up := &receiver{}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := &http.Server{Handler: up}
	go srv2.Serve(ln2)
	defer srv2.Close()
	waitFor(t, "delivery after the receiver came back", func() bool {
		ds := deliveries(t, s, tracker.DeliveryQuery{})
		return ds[0].Status == tracker.DeliveryDelivered
	})
	got := up.requests()
	if len(got) != 1 || got[0].p.ID != down.requests()[0].p.ID || got[0].p.Type != "alert.opened" {
		t.Fatalf("receiver got %d requests after coming back (%+v), want the same delivery once", len(got), got)
	}
	if got[0].header.Get(HeaderAttempt) == "1" {
		t.Errorf("attempt header %q after failures", got[0].header.Get(HeaderAttempt))
	}
	if v := count(t, n.m.deliveries.WithLabelValues("h", "retry")); v < 3 {
		t.Errorf("retries counted = %v, want 3 or more", v)
	}
}

// TestTimeoutRetried: a receiver that does not answer within the timeout is asked again.
func TestTimeoutRetried(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "bw.db"))
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			io.ReadAll(r.Body)   // the server notices the client leaving only once the body is read
			<-r.Context().Done() // hangs until the notifier gives up
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	// The first attempt hangs whatever the timeout; a timeout of a second keeps the second attempt's
	// answer inside it on a loaded machine (at 50 ms it once timed out too).
	_, stop := startWith(t, Config{Outbox: s, Hooks: []Hook{{Name: "h", URL: srv.URL}}, Timeout: time.Second})
	raise(t, s, "v1", "detour:v1")
	waitFor(t, "delivery after a timeout", func() bool {
		return len(deliveries(t, s, tracker.DeliveryQuery{Status: tracker.DeliveryDelivered})) == 1
	})
	stop()
	d := deliveries(t, s, tracker.DeliveryQuery{})[0]
	if d.Attempts != 2 || d.LastCode != http.StatusAccepted {
		t.Errorf("delivery = %+v, want delivered at the second attempt", d)
	}
}

func TestRestartDeliversPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	rc := &receiver{answer: func(received) int { return http.StatusBadGateway }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook := Hook{Name: "h", URL: srv.URL}

	s1 := openSQLite(t, path)
	_, stop := start(t, s1, hook)
	id := raise(t, s1, "v1", "detour:v1")
	waitFor(t, "a failed attempt", func() bool { return len(rc.requests()) > 0 })
	stop()
	before := len(rc.requests())
	ack(t, s1, id) // committed while no notifier runs
	s1.Close()

	rc.setAnswer(nil)
	s2 := openSQLite(t, path)
	_, stop2 := start(t, s2, hook)
	waitFor(t, "both changes delivered after the restart", func() bool {
		ds := deliveries(t, s2, tracker.DeliveryQuery{Status: tracker.DeliveryDelivered})
		return len(ds) == 2
	})
	stop2()
	var types []string
	for _, r := range rc.requests()[before:] {
		types = append(types, r.p.Type)
	}
	if !slices.Equal(types, []string{"alert.opened", "alert.acknowledged"}) {
		t.Errorf("after the restart the receiver got %q, want the opening, then the acknowledgement", types)
	}
	for _, d := range deliveries(t, s2, tracker.DeliveryQuery{}) {
		if d.Event.Change == tracker.ChangeOpened && d.Attempts < 2 {
			t.Errorf("opening delivered after %d attempts: the count before the restart was lost", d.Attempts)
		}
	}
}

func TestPermanentRefusal(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "bw.db"))
	rc := &receiver{answer: func(r received) int {
		if r.p.Type == "alert.opened" {
			return http.StatusUnprocessableEntity
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n, stop := start(t, s, Hook{Name: "h", URL: srv.URL})
	id := raise(t, s, "v1", "detour:v1")
	ack(t, s, id)
	waitFor(t, "the acknowledgement delivered after the refused opening", func() bool {
		return len(deliveries(t, s, tracker.DeliveryQuery{Status: tracker.DeliveryDelivered})) == 1
	})
	failed := deliveries(t, s, tracker.DeliveryQuery{Status: tracker.DeliveryFailed})
	if len(failed) != 1 || failed[0].LastCode != 422 || failed[0].Attempts != 1 || !strings.Contains(failed[0].LastError, "answer 422") {
		t.Fatalf("failed deliveries = %+v, want the opening refused once with its 422 and body", failed)
	}
	if v := count(t, n.m.deliveries.WithLabelValues("h", "failed")); v != 1 {
		t.Errorf("failures counted = %v, want 1", v)
	}

	// Once the receiver is fixed, an operator sends it again.
	rc.setAnswer(nil)
	if err := s.RetryDelivery(t.Context(), failed[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retried opening", func() bool {
		return len(deliveries(t, s, tracker.DeliveryQuery{Status: tracker.DeliveryDelivered})) == 2
	})
	stop()
	var opened int
	for _, r := range rc.requests() {
		if r.p.Type == "alert.opened" {
			opened++
		}
	}
	if opened != 2 {
		t.Errorf("opening sent %d times, want twice (refused, then retried by hand)", opened)
	}
}

func TestParseHooks(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hooks.json")
	os.WriteFile(file, []byte(`{"hooks":[{"name":"customs","url":"https://customs.example/bw","secret":"x","min_severity":"critical","types":["detour"],"changes":["opened","resolved"]}]}`), 0o600)
	hooks, err := ParseHooks("http://a.example/in/, https://b.example:8443/x?token=1", "k", file)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range hooks {
		names = append(names, h.Name)
	}
	if !slices.Equal(names, []string{"a.example", "b.example:8443", "customs"}) || hooks[1].Secret != "k" {
		t.Fatalf("hooks = %+v", hooks)
	}
	// A name is a label on the public /metrics: it must not carry a secret kept in the path.
	feishu, err := ParseHooks("https://open.feishu.cn/open-apis/bot/v2/hook/s3cret-token", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(feishu[0].Name, "s3cret") {
		t.Errorf("hook named %q", feishu[0].Name)
	}
	c := tracker.AlertChange{Change: tracker.ChangeOpened, Alert: tracker.Alert{Type: tracker.AlertDetour, Severity: tracker.SeverityCritical}}
	if !hooks[2].wants(c) {
		t.Error("customs does not want a critical detour's opening")
	}
	for _, other := range []tracker.AlertChange{
		{Change: tracker.ChangeUpdated, Alert: c.Alert},
		{Change: tracker.ChangeOpened, Alert: tracker.Alert{Type: tracker.AlertDetour, Severity: tracker.SeverityWarning}},
		{Change: tracker.ChangeOpened, Alert: tracker.Alert{Type: tracker.AlertMeeting, Severity: tracker.SeverityCritical}},
	} {
		if hooks[2].wants(other) {
			t.Errorf("customs wants %+v", other)
		}
	}
	for _, bad := range []string{"ftp://x/", "http://a.example/,http://a.example", "http://a.example/one,http://a.example/two"} {
		if _, err := ParseHooks(bad, "", ""); err == nil {
			t.Errorf("ParseHooks(%q) accepted", bad)
		}
	}
}

// newPostgres creates an empty database for the test and drops it afterwards.
func newPostgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("BW_TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv("BW_SKIP_POSTGRES") == "1" {
			t.Skipf("PostgreSQL not reachable at %s (BW_SKIP_POSTGRES=1): %v", admin, err)
		}
		t.Fatalf("PostgreSQL not reachable at %s: %v (set BW_SKIP_POSTGRES=1 to skip)", admin, err)
	}
	defer conn.Close(ctx)
	name := "bw_notifier_" + strings.ToLower(rand.Text()[:12])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err == nil {
			_, err = conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			conn.Close(ctx)
		}
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

func openPostgres(t testing.TB, url string) store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestTwoServersOnePostgres: two notifiers on one database send every change once, each
// alert's changes in order.
func TestTwoServersOnePostgres(t *testing.T) {
	url := newPostgres(t)
	s1, s2 := openPostgres(t, url), openPostgres(t, url)
	rc := &receiver{answer: func(received) int {
		time.Sleep(time.Millisecond) // overlapping requests make the servers race for deliveries
		return http.StatusOK
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook := Hook{Name: "h", URL: srv.URL, Secret: "k"}
	n1, stop1 := start(t, s1, hook)
	n2, stop2 := start(t, s2, hook)
	const alerts = 120
	for i := range alerts {
		s := []store{s1, s2}[i%2]
		id := raise(t, s, fmt.Sprint("v", i), fmt.Sprint("detour:", i))
		if i%3 == 0 {
			ack(t, s, id)
		}
	}
	want := alerts + alerts/3
	waitFor(t, "every change delivered", func() bool {
		return len(deliveries(t, s1, tracker.DeliveryQuery{Status: tracker.DeliveryDelivered})) == want
	})
	stop1()
	stop2()
	got := rc.requests()
	seen := map[string]bool{}
	opened := map[int64]bool{}
	for _, r := range got {
		if seen[r.p.ID] {
			t.Errorf("delivery %s (%s of alert %d) received twice", r.p.ID, r.p.Type, r.p.Alert.ID)
		}
		seen[r.p.ID] = true
		switch r.p.Type {
		case "alert.opened":
			opened[r.p.Alert.ID] = true
		case "alert.acknowledged":
			if !opened[r.p.Alert.ID] {
				t.Errorf("alert %d: acknowledgement before its opening", r.p.Alert.ID)
			}
		}
	}
	if len(got) != want {
		t.Errorf("receiver got %d requests, want %d", len(got), want)
	}
	d1 := count(t, n1.m.deliveries.WithLabelValues("h", "delivered"))
	d2 := count(t, n2.m.deliveries.WithLabelValues("h", "delivered"))
	t.Logf("server 1 delivered %v, server 2 delivered %v", d1, d2)
	if d1+d2 != float64(want) {
		t.Errorf("servers counted %v + %v deliveries, want %d", d1, d2, want)
	}
}

// TestStopFinishesAttempt: stopping the notifier while a request is under way lets it finish
// and records it, so nothing is left leased.
func TestStopFinishesAttempt(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "bw.db"))
	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	rc := &receiver{answer: func(received) int {
		once.Do(func() { close(inside) })
		<-release
		return http.StatusOK
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n, err := New(Config{Outbox: s, Hooks: []Hook{{Name: "h", URL: srv.URL}}, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx)
	}()
	raise(t, s, "v1", "detour:v1")
	<-inside
	cancel() // the stop arrives while the receiver holds the request
	close(release)
	<-done
	ds := deliveries(t, s, tracker.DeliveryQuery{})
	if len(ds) != 1 || ds[0].Status != tracker.DeliveryDelivered {
		t.Fatalf("after a stop during the request: %+v, want it delivered and recorded", ds)
	}
}

// BenchmarkDeliveries measures the whole path from a backlog of committed alert changes to a
// local receiver: routing, claiming, the HTTP request, recording.
func BenchmarkDeliveries(b *testing.B) {
	for _, tc := range []struct {
		name string
		open func(b *testing.B) store
	}{
		{"sqlite", func(b *testing.B) store { return openSQLite(b, filepath.Join(b.TempDir(), "bw.db")) }},
		{"postgres", func(b *testing.B) store { return openPostgres(b, newPostgres(b)) }},
	} {
		for _, batch := range []int{16, 64} {
			b.Run(fmt.Sprintf("%s/batch=%d", tc.name, batch), func(b *testing.B) {
				s := tc.open(b)
				srv := httptest.NewServer(&receiver{})
				defer srv.Close()
				now := time.Now().UTC()
				for lo := 0; lo < b.N; lo += 100 {
					bt := &tracker.Batch{}
					for i := lo; i < min(lo+100, b.N); i++ {
						bt.Alerts = append(bt.Alerts, tracker.Alert{Type: tracker.AlertDetour, Severity: tracker.SeverityWarning,
							VehicleID: fmt.Sprint("v", i), Time: now, UpdatedAt: now, DedupKey: fmt.Sprint("k", i), Active: true})
					}
					if err := s.Commit(context.Background(), bt); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				n, err := New(Config{Outbox: s, Hooks: []Hook{{Name: "h", URL: srv.URL, Secret: "k"}}, Poll: 5 * time.Millisecond, Batch: batch})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					defer close(done)
					n.Run(ctx)
				}()
				for count(b, n.m.deliveries.WithLabelValues("h", "delivered")) < float64(b.N) {
					time.Sleep(time.Millisecond)
				}
				b.StopTimer()
				cancel()
				<-done
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			})
		}
	}
}
