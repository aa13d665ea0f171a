package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
)

// ListenerConfig caps the connections a listener hands out.
type ListenerConfig struct {
	MaxConns int // open connections at most; 0: no cap
	// MaxConnsPerAddr bounds the open connections of one remote IP address, so that one
	// host opening thousands cannot take every slot; 0: no cap. Terminals behind one carrier
	// NAT or private APN gateway share an address: set it only above their number.
	MaxConnsPerAddr int
	Protocol        string // the protocol label of bw_connections_refused_total
	Logger          *slog.Logger
	Registerer      prometheus.Registerer
}

// Listener accepts from an inner listener and closes at once the connections over its caps,
// counting each and logging (at most once a second) which cap refused whom.
type Listener struct {
	net.Listener
	cfg               ListenerConfig
	log               *slog.Logger
	refusedTotal      prometheus.Counter
	refusedPerAddr    prometheus.Counter
	totalLog, addrLog Sampler

	mu    sync.Mutex
	total int
	open  map[netip.Addr]int
}

// NewListener wraps ln with cfg's caps; with no cap it returns ln itself. A Server caps its
// connections itself (Config.MaxConns and MaxConnsPerAddr); NewListener is for other servers
// of device connections, such as the OsmAnd gateway's http.Server.
func NewListener(ln net.Listener, cfg ListenerConfig) (net.Listener, error) {
	if cfg.MaxConns <= 0 && cfg.MaxConnsPerAddr <= 0 {
		return ln, nil
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	refused, err := Register(cfg.Registerer, newRefused(cfg.Protocol))
	if err != nil {
		return nil, fmt.Errorf("gateway: metrics: %w", err)
	}
	return newListener(ln, cfg, log.With("protocol", cfg.Protocol), refused), nil
}

// newListener wraps ln with cfg's caps, logging to log and counting refusals in refused.
func newListener(ln net.Listener, cfg ListenerConfig, log *slog.Logger, refused *prometheus.CounterVec) *Listener {
	return &Listener{
		Listener:       ln,
		cfg:            cfg,
		log:            log,
		refusedTotal:   refused.WithLabelValues(ReasonMaxConns),
		refusedPerAddr: refused.WithLabelValues(ReasonMaxConnsPerAddr),
		open:           make(map[netip.Addr]int),
	}
}

// Accept returns the next connection within the caps.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := remoteIP(c)
		if ok := l.take(c, addr); ok {
			return &capConn{Conn: c, l: l, addr: addr}, nil
		}
		c.Close()
	}
}

func (l *Listener) take(c net.Conn, addr netip.Addr) bool {
	l.mu.Lock()
	switch {
	case l.cfg.MaxConns > 0 && l.total >= l.cfg.MaxConns:
		l.mu.Unlock()
		l.refusedTotal.Inc()
		if ok, suppressed := l.totalLog.Allow(); ok {
			l.log.Warn(fmt.Sprintf("connection limit %d reached; refusing %s", l.cfg.MaxConns, c.RemoteAddr()), "suppressed", suppressed)
		}
		return false
	case l.cfg.MaxConnsPerAddr > 0 && l.open[addr] >= l.cfg.MaxConnsPerAddr:
		l.mu.Unlock()
		l.refusedPerAddr.Inc()
		if ok, suppressed := l.addrLog.Allow(); ok {
			l.log.Warn(fmt.Sprintf("per-address connection limit %d reached; refusing %s", l.cfg.MaxConnsPerAddr, c.RemoteAddr()), "suppressed", suppressed)
		}
		return false
	}
	l.total++
	l.open[addr]++
	l.mu.Unlock()
	return true
}

func (l *Listener) give(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.open[addr]--; l.open[addr] <= 0 {
		delete(l.open, addr)
	}
}

func remoteIP(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(ta.IP)
		return a.Unmap()
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap.Addr().Unmap()
}

// capConn gives its slot back when closed, once however often it is closed.
type capConn struct {
	net.Conn
	l      *Listener
	addr   netip.Addr
	closed atomic.Bool
}

func (c *capConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.give(c.addr)
	}
	return c.Conn.Close()
}

// SyscallConn forwards the wrapped connection's raw access, so that a gateway reading the
// socket directly (jt808 holds no buffer while idle) still can behind the cap.
func (c *capConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}
