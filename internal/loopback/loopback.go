// Package loopback finds free TCP ports on 127.0.0.1 for servers a process starts and others
// bind: the bench's server, the tests' servers and NATS clusters.
package loopback

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
)

// lowest is the first port handed out; below are well-known and registered services' habits.
const lowest = 10000

// Ports returns n distinct ports that are free now, below the kernel's ephemeral range. A port
// from that range (what listening on port 0 gives) can be taken by any outgoing connection
// between this check and the server binding it; with a test suite's many sockets that happened,
// and a server that cannot bind exits or, like an embedded NATS server without a log, never
// becomes ready and says nothing of why.
func Ports(n int) ([]int, error) {
	high := ephemeralLow()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("loopback: no %d free ports in %d-%d", n, lowest, high-1)
		}
		p := lowest + rand.IntN(high-lowest)
		if slices.Contains(ports, p) {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		ports = append(ports, p)
	}
	return ports, nil
}

// Addr returns a free 127.0.0.1:port address (see Ports).
func Addr() (string, error) {
	ps, err := Ports(1)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", ps[0]), nil
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's default 32768 where
// it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if low, err := strconv.Atoi(f[0]); err == nil && low > lowest+1000 {
				return low
			}
		}
	}
	return 32768
}
