package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/cluster/clustertest"
	"github.com/borderwatch/borderwatch/tracker"
)

// slowProxy is a TCP proxy in front of a NATS server that, while slow is set, forwards the
// creations of the partitions' durable consumers only after hold, later than a client waits
// for the answer (5 s): a JetStream meta leader too loaded to answer in time, whose
// consumers are made after the client gave up. It records when each creation was sent, and
// counts the listings of the stream's consumers (each take-over begins with one).
type slowProxy struct {
	ln     net.Listener
	server string
	hold   time.Duration
	slow   atomic.Bool

	mu      sync.Mutex
	creates map[string][]time.Time // by partition ("bw-p<n>")
	lists   int
}

func startSlowProxy(t *testing.T, server string, hold time.Duration) *slowProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{ln: ln, server: server, hold: hold, creates: map[string][]time.Time{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c)
		}
	}()
	return p
}

func (p *slowProxy) url() string { return "nats://" + p.ln.Addr().String() }

// relay copies the server's side as is and the client's operation by operation.
func (p *slowProxy) relay(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.server)
	if err != nil {
		return
	}
	defer s.Close()
	go func() {
		io.Copy(c, s)
		c.Close()
	}()
	var wmu sync.Mutex
	write := func(b []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		s.Write(b)
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		op := bytes.Fields(line)
		msg := line
		if len(op) >= 3 && (strings.EqualFold(string(op[0]), "PUB") || strings.EqualFold(string(op[0]), "HPUB")) {
			size, err := strconv.Atoi(string(op[len(op)-1]))
			if err != nil {
				return
			}
			payload := make([]byte, size+2)
			if _, err := io.ReadFull(r, payload); err != nil {
				return
			}
			msg = append(slices.Clone(line), payload...)
			if p.held(string(op[1])) {
				go func() {
					time.Sleep(p.hold)
					write(msg)
				}()
				continue
			}
		}
		write(msg)
	}
}

// held records subject's request and reports whether it is to be held back.
func (p *slowProxy) held(subject string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if subject == "$JS.API.CONSUMER.NAMES."+StreamName {
		p.lists++
	}
	name, ok := strings.CutPrefix(subject, "$JS.API.CONSUMER.CREATE."+StreamName+".bw-p")
	if !ok {
		return false
	}
	part := "bw-p" + name[:strings.IndexByte(name, '-')]
	p.creates[part] = append(p.creates[part], time.Now())
	return p.slow.Load()
}

// TestTakeOverBacksOffSlowConsumerCreate: a tracker takes two partitions over while NATS makes
// their consumers later than the tracker waits. The take-over must not start again each time
// (its replay and store reads are done) and the creation must be retried after growing pauses,
// not every second; once NATS answers in time, both partitions are served.
func TestTakeOverBacksOffSlowConsumerCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server and waits for retries")
	}
	nats := clustertest.StartNATS(t, 1)
	st, _ := openStore(t)
	proxy := startSlowProxy(t, nats.Servers[0].Addr().String(), 6*time.Second)
	proxy.slow.Store(true)
	a := startTracker(t, proxy.url(), "A", st, func(c *Config, _ *TrackerConfig) { c.Partitions = 2 })
	// Five creations of each partition's consumer: at once, then each after 5 s waited and a
	// pause.
	deadline := time.Now().Add(90 * time.Second)
	for {
		proxy.mu.Lock()
		n := min(len(proxy.creates["bw-p0"]), len(proxy.creates["bw-p1"]))
		proxy.mu.Unlock()
		if n >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d creations of each consumer in 90 s, want 5", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	proxy.slow.Store(false)
	proxy.mu.Lock()
	for part, at := range proxy.creates {
		var gaps []time.Duration
		for i := 1; i < len(at); i++ {
			gaps = append(gaps, at[i].Sub(at[i-1]).Round(time.Millisecond))
		}
		t.Logf("%s: consumer creations %v apart (LOADED)", part, gaps)
		if gaps[3] < gaps[0]+2500*time.Millisecond {
			t.Errorf("%s: fourth retry %v after the previous, the first %v: want the pause to grow (1 s, 2 s, 4 s, 8 s, halved at worst)", part, gaps[3], gaps[0])
		}
	}
	if proxy.lists > 2 {
		t.Errorf("the stream's consumers listed %d times for 2 partitions: the take-over began again after its consumer's creation failed", proxy.lists)
	}
	proxy.mu.Unlock()
	if _, err := servedWithin(a); err != nil {
		t.Fatal(err)
	}
}

// TestReadyAfterTakeOver: the cluster's status tells a partition owned (its lease taken) from
// one served (its take-over done, its gate reads answered): while NATS makes a tracker's
// consumers late, its partitions are owned but not ready and a gate read finds no owner; once
// they are announced ready, a gate read of a vehicle of each is answered at once.
func TestReadyAfterTakeOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server and waits for retries")
	}
	nats := clustertest.StartNATS(t, 1)
	st, _ := openStore(t)
	ctx := context.Background()
	plates := map[string]string{}
	for i := 0; len(plates) < 2; i++ {
		id := fmt.Sprintf("veh-r%d", i)
		if p := fmt.Sprintf("P%d", Partition(id, 2)); plates[p] == "" {
			plates[p] = id
		}
	}
	proxy := startSlowProxy(t, nats.Servers[0].Addr().String(), 6*time.Second)
	proxy.slow.Store(true)
	two := func(c *Config, _ *TrackerConfig) { c.Partitions = 2 }
	startTracker(t, proxy.url(), "A", st, two)
	g, err := Dial(ctx, Config{URLs: nats.URLs(), Node: "G", Roles: []string{RoleAPI}, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	router := NewRouter(g, func(r tracker.GateRead) string { return plates[r.Plate] })
	gate := func(plate string) error {
		_, _, err := router.JudgeGate(ctx, tracker.GateRead{Plate: plate, GateZoneID: testZone.ID, Direction: "in", Time: time.Now()})
		return err
	}
	node := func(wantOwned, wantReady int) NodeStatus {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			s, err := g.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range s.Nodes {
				if n.Node == "A" && len(n.Partitions) == wantOwned && len(n.Ready) == wantReady {
					return n
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("A not announced with %d partitions owned, %d ready in 60 s: %+v", wantOwned, wantReady, s.Nodes)
			}
		}
	}
	node(2, 0)
	for plate := range plates {
		if err := gate(plate); !errors.Is(err, ErrNoOwner) {
			t.Errorf("gate read of %s while its partition is being taken over: %v, want ErrNoOwner", plate, err)
		}
	}
	proxy.slow.Store(false)
	n := node(2, 2)
	for plate := range plates {
		if err := gate(plate); errors.Is(err, ErrNoOwner) {
			t.Errorf("gate read of %s once A announced partitions %v ready: %v", plate, n.Ready, err)
		}
	}
}

// Every retry in the cluster (a take-over, a partition's consumer started again, fixes or a
// change notice not stored yet) backs off by doubling up to its cap, at a random point of the
// upper half: partitions that fail together (NATS went away for all of them) come back spread
// out instead of in a herd every pause.
func TestBackoffDoublesAndSpreads(t *testing.T) {
	for _, b := range []backoff{takeOverRetry(), {min: 100 * time.Millisecond, max: 2 * time.Second}, {min: 100 * time.Millisecond, max: 5 * time.Second}} {
		step := b.min
		for i := range 8 {
			seen := map[time.Duration]bool{}
			var last time.Duration
			for range 64 {
				r := b
				last = r.pause()
				if last < step/2 || last > step {
					t.Fatalf("%+v: retry %d paused %v, want %v to %v", b, i+1, last, step/2, step)
				}
				seen[last] = true
			}
			if len(seen) < 32 {
				t.Errorf("%+v: retry %d paused only %d different times in 64 partitions: they would come back together", b, i+1, len(seen))
			}
			b.pause()
			step = min(2*step, b.max)
		}
	}
}
