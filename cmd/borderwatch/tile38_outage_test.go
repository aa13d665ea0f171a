package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/ingest/jt808"
)

// linkProxy forwards TCP connections to a target and can cut the link (drop every connection,
// refuse new ones) and restore it, as a network between the server and Tile38 does.
type linkProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func startLinkProxy(t *testing.T, target string) *linkProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &linkProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
	})
	return p
}

func (p *linkProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			up.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

func (p *linkProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *linkProxy) addr() string { return p.ln.Addr().String() }

// TestTile38Outage runs the server with the Tile38 geofence backend reached through a link the
// test cuts while a truck drives through a yard: the reports of that stretch are not
// acknowledged (they cannot be geofenced); once the link is back the backend reconnects and
// restores, the terminal's resent reports are acknowledged and stored once, none late, and the
// yard's enter and exit are stored once.
func TestTile38Outage(t *testing.T) {
	addr := os.Getenv("TILE38_ADDR")
	if addr == "" {
		t.Skip("TILE38_ADDR not set: this test needs a running tile38-server (see README)")
	}
	proxy := startLinkProxy(t, addr)
	prefix := fmt.Sprintf("bwoutage-%d-%d", os.Getpid(), time.Now().UnixNano())
	a := startApp(t, func(c *config) { c.Geofence = "tile38://" + proxy.addr() + "/" + prefix })
	t.Cleanup(func() {
		proxy.setCut(false)
		if t38, ok := a.engine.(*geofence.Tile38); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := t38.Drop(ctx); err != nil {
				t.Logf("dropping the test's Tile38 keys: %v", err)
			}
		}
	})

	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "truck-9", "plate": "蒙K00009", "kind": "truck"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "13800000009", "protocol": "jt808", "vehicle_id": "truck-9"}, nil, 201)
	a.mustCall("POST", "/api/v1/zones", outageYard, nil, 201)
	tm := dialTerminal(t, a.jt808Ln.Addr().String(), "13800000009")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(serial uint16) time.Time { return base.Add(time.Duration(serial) * 10 * time.Second) }
	send := func(s uint16) { tm.report(s, at(s), 41.5+float64(s)/1000, 109.5+float64(s)/1000) }

	const before, during, after = 20, 15, 5
	var first []uint16
	for s := uint16(1); s <= before; s++ {
		send(s)
		first = append(first, s)
	}
	tm.waitAcked(first, 10*time.Second)

	// The link to Tile38 is cut; once the server knows it (its SETs are posted without waiting
	// for replies, so a fix evaluated within its cell on a link that died unnoticed an instant
	// before is acknowledged, and its position restored to Tile38 on reconnecting), the terminal
	// keeps reporting (through the yard, 25..30).
	proxy.setCut(true)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := getStatus(t, a.base+"/readyz"); code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not notice Tile38 cut off")
		}
	}
	framesBefore := metricValue(t, a, "bw_frames_total", `msg_id="0x0200"`)
	var outage []uint16
	for s := uint16(before + 1); s <= before+during; s++ {
		send(s)
		outage = append(outage, s)
		time.Sleep(50 * time.Millisecond)
	}
	deadline := time.Now().Add(20 * time.Second)
	for metricValue(t, a, "bw_frames_total", `msg_id="0x0200"`) < framesBefore+during {
		if time.Now().After(deadline) {
			t.Fatal("the server did not process the reports sent while Tile38 was cut off")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a late (wrong) acknowledgement would arrive by now
	ackedWhileCut := 0
	for _, s := range outage {
		if r, ok := tm.ack(s); ok && r == jt808.ResultOK {
			ackedWhileCut++
			t.Errorf("report %d acknowledged while Tile38 was unreachable", s)
		}
	}
	if code, body := getStatus(t, a.base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "tile38") {
		t.Errorf("/readyz while Tile38 is cut off: %d %s, want 503 naming tile38", code, body)
	}

	// The link is back; the terminal resends what was not acknowledged until it is.
	proxy.setCut(false)
	resends := tm.resendUntilAcked(outage, send, "the link to Tile38 came back")
	var last []uint16
	for s := uint16(before + during + 1); s <= before+during+after; s++ {
		send(s)
		last = append(last, s)
	}
	tm.waitAcked(last, 10*time.Second)
	if code, body := getStatus(t, a.base+"/readyz"); code != 200 {
		t.Errorf("/readyz after the link came back: %d %s", code, body)
	}

	stored := map[int64]int{}
	late := 0
	for _, f := range a.track("truck-9", base.Add(-time.Minute).Format(time.RFC3339)) {
		stored[f.Time.Unix()]++
		if f.Late {
			late++
			t.Errorf("fix at %v stored marked late", f.Time)
		}
	}
	lost := 0
	for s := uint16(1); s <= before+during+after; s++ {
		switch n := stored[at(s).Unix()]; n {
		case 1:
		case 0:
			lost++
			t.Errorf("acknowledged report %d not stored", s)
		default:
			t.Errorf("report %d stored %d times", s, n)
		}
	}
	yard := checkOutageYardEvents(t, a, at(before+1), at(before+during))
	t.Logf("Tile38 cut off: %d reports sent, %d acknowledged while cut; after restore %d resends, all acknowledged; "+
		"%d of %d fixes stored, %d lost, %d marked late; yard events %q",
		during, ackedWhileCut, resends, len(stored), before+during+after, lost, late, yard)
}
