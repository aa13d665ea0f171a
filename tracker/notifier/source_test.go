package notifier

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// source is a Source whose hooks a test changes.
type source struct {
	mu    sync.Mutex
	hooks []Hook
}

func (s *source) set(hooks ...Hook) {
	s.mu.Lock()
	s.hooks = hooks
	s.mu.Unlock()
}

func (s *source) get(context.Context) ([]Hook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hooks, nil
}

// TestSourceHooks: a receiver added later gets the changes from then on, one with the name of
// a configured hook is ignored, a removed one gets no more.
func TestSourceHooks(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "bw.db"))
	configured, added := &receiver{}, &receiver{}
	srvC, srvA := httptest.NewServer(configured), httptest.NewServer(added)
	defer srvC.Close()
	defer srvA.Close()
	src := &source{}
	n, _ := startWith(t, Config{Outbox: s, Timeout: 5 * time.Second, Hooks: []Hook{{Name: "customs", URL: srvC.URL}},
		Source: src.get, Refresh: time.Hour, AllowPrivate: true})

	raise(t, s, "v1", "detour:v1")
	waitFor(t, "the configured hook's first change", func() bool { return len(configured.requests()) == 1 })

	// Same name as the configured hook: ignored, so customs is not sent twice.
	src.set(Hook{Name: "customs", URL: srvA.URL, Guarded: true}, Hook{Name: "screens", URL: srvA.URL + "/in", Secret: "abc", Guarded: true})
	n.Reload()
	waitFor(t, "the new receiver", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.loops) == 2
	})
	raise(t, s, "v2", "detour:v2")
	waitFor(t, "the second change at both", func() bool { return len(configured.requests()) == 2 && len(added.requests()) == 1 })
	if r := added.requests()[0]; r.p.Alert.VehicleID != "v2" {
		t.Errorf("the added receiver got %s's alert, want only v2's (raised after it was added)", r.p.Alert.VehicleID)
	} else {
		checkSignature(t, "abc", r)
	}

	src.set()
	n.Reload()
	waitFor(t, "the receiver removed", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.loops) == 1
	})
	raise(t, s, "v3", "detour:v3")
	waitFor(t, "the third change at the configured hook", func() bool { return len(configured.requests()) == 3 })
	if ds := deliveries(t, s, tracker.DeliveryQuery{Hook: "screens"}); len(ds) != 1 {
		t.Errorf("the removed receiver has %d deliveries, want 1 (none routed after it went)", len(ds))
	}
}

// TestGuardedRefusesPrivate: a guarded hook does not connect to loopback unless private
// targets are allowed; the refusal is a retry (the address may be fixed), never a request.
func TestGuardedRefusesPrivate(t *testing.T) {
	for _, allow := range []bool{false, true} {
		s := openSQLite(t, filepath.Join(t.TempDir(), "bw.db"))
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		src := &source{}
		src.set(Hook{Name: "screens", URL: srv.URL, Guarded: true})
		startWith(t, Config{Outbox: s, Timeout: 5 * time.Second, Source: src.get, AllowPrivate: allow})
		raise(t, s, "v1", "detour:v1")
		waitFor(t, "an attempt", func() bool {
			ds := deliveries(t, s, tracker.DeliveryQuery{Hook: "screens"})
			return len(ds) == 1 && ds[0].Attempts > 0
		})
		d := deliveries(t, s, tracker.DeliveryQuery{Hook: "screens"})[0]
		if allow && (d.Status != tracker.DeliveryDelivered || len(rc.requests()) != 1) {
			t.Errorf("private allowed: delivery %+v, %d requests; want delivered", d, len(rc.requests()))
		}
		if !allow && (d.Status != tracker.DeliveryPending || len(rc.requests()) != 0 || !strings.Contains(d.LastError, "this machine")) {
			t.Errorf("private refused: delivery %+v, %d requests; want pending, never sent, the reason recorded", d, len(rc.requests()))
		}
		srv.Close()
	}
}

func TestCheckTarget(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://203.0.113.7/hook", false, true},
		{"http://[2001:db8::1]:8080/in?x=1", false, true},
		{"http://127.0.0.1:9000/", false, false},
		{"http://127.0.0.1:9000/", true, true},
		{"http://localhost/", false, false},
		{"http://api.localhost/", false, false},
		{"http://10.1.2.3/", false, false},
		{"http://10.1.2.3/", true, true},
		{"http://192.168.1.1/", false, false},
		{"http://172.16.0.1/", false, false},
		{"http://100.64.0.1/", false, false},
		{"http://[::1]/", false, false},
		{"http://[::ffff:127.0.0.1]/", false, false},
		{"http://[fd00:ec2::254]/", false, false},
		{"http://169.254.169.254/latest/meta-data/", false, false},
		{"http://169.254.169.254/latest/meta-data/", true, false}, // the metadata service, never
		{"http://[fe80::1]/", true, false},
		{"http://0.0.0.0/", true, false},
		{"http://0/", true, false},
		{"http://2130706433/", false, false}, // 127.0.0.1 as a number: no such host
		{"http://224.0.0.1/", true, false},
		{"ftp://203.0.113.7/", false, false},
		{"file:///etc/passwd", false, false},
		{"gopher://203.0.113.7/", false, false},
		{"javascript:alert(1)", false, false},
		{"//203.0.113.7/", false, false},
		{"https://user:pw@203.0.113.7/", false, false},
		{"https://203.0.113.7/a#frag", false, false},
		{"https://203.0.113.7/a\r\nX-Injected: 1", false, false},
		{"https://203.0.113.7/a b", false, false},
		{"https://203.0.113.7/" + strings.Repeat("a", MaxURLLength), false, false},
		{"https:///nohost", false, false},
		{"https://no-such-host.invalid/", false, false},
	} {
		err := CheckTarget(ctx, tc.url, tc.allowPrivate)
		if (err == nil) != tc.ok {
			t.Errorf("CheckTarget(%.60q, allowPrivate=%v) = %v, want ok=%v", tc.url, tc.allowPrivate, err, tc.ok)
		}
	}
	// Every refusal of an address is ErrPrivateTarget, so the dial-time guard's errors are recognisable.
	if err := checkAddr(netip.MustParseAddr("169.254.169.254"), true); !errors.Is(err, ErrPrivateTarget) {
		t.Errorf("checkAddr(metadata) = %v", err)
	}
}
