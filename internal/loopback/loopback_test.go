package loopback

import (
	"net"
	"strconv"
	"testing"
)

// The ports are distinct, bindable and below the ephemeral range, so that no outgoing
// connection is given one before the server that asked binds it.
func TestPorts(t *testing.T) {
	ps, err := Ports(20)
	if err != nil {
		t.Fatal(err)
	}
	high := ephemeralLow()
	seen := map[int]bool{}
	for _, p := range ps {
		if p < lowest || p >= high || seen[p] {
			t.Errorf("port %d: want distinct ports in %d-%d", p, lowest, high-1)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Errorf("port %d not free: %v", p, err)
			continue
		}
		ln.Close()
	}
	// An ephemeral port, what Listen(":0") gives, is never one of them.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if p := ln.Addr().(*net.TCPAddr).Port; p < high {
		t.Skipf("the kernel gave %d below its range's start %d: cannot tell the ranges apart here", p, high)
	}
}
