package notifier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// Receivers added from the screens are an administrator's input, not the operator's
// configuration: without a guard, one could make the server POST to its own loopback services,
// the database's port or a cloud's metadata address (169.254.169.254). So their requests go
// only to public addresses, checked on every connection (after DNS, so a name that resolves to
// a private address later is refused too), unless the operator allows private targets
// (BW_WEBHOOK_ALLOW_PRIVATE, for receivers on the customs intranet). Link-local addresses, the
// metadata service among them, are refused either way.

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	broadcast = netip.MustParseAddr("255.255.255.255")
)

// ErrPrivateTarget is a receiver address the guard refuses.
var ErrPrivateTarget = errors.New("not a public address")

// checkAddr refuses an address a guarded receiver may not reach.
func checkAddr(a netip.Addr, allowPrivate bool) error {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return fmt.Errorf("%w: invalid address", ErrPrivateTarget)
	case a.IsUnspecified(), thisNet.Contains(a), a == broadcast, a.IsMulticast():
		return fmt.Errorf("%w: %s is not a unicast address", ErrPrivateTarget, a)
	case a.IsLinkLocalUnicast():
		return fmt.Errorf("%w: %s is link-local (metadata services live there)", ErrPrivateTarget, a)
	case allowPrivate:
		return nil
	case a.IsLoopback():
		return fmt.Errorf("%w: %s is this machine", ErrPrivateTarget, a)
	case a.IsPrivate(), cgnat.Contains(a):
		return fmt.Errorf("%w: %s is a private address (BW_WEBHOOK_ALLOW_PRIVATE allows it)", ErrPrivateTarget, a)
	}
	return nil
}

// guardedControl is a net.Dialer Control that refuses connections a guarded receiver may not make.
func guardedControl(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrPrivateTarget, address)
		}
		return checkAddr(ap.Addr(), allowPrivate)
	}
}

// MaxURLLength bounds a receiver's URL.
const MaxURLLength = 2048

// CheckTarget validates the URL of a receiver added from the screens: http or https, a host,
// no credentials, no fragment, no spaces or control characters, and every address the host
// resolves to allowed by the guard. The guard checks each connection again, so this is the
// early, readable refusal, not the only one.
func CheckTarget(ctx context.Context, raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLength {
		return fmt.Errorf("url longer than %d characters", MaxURLLength)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return errors.New("url has spaces or control characters")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("url does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("url must start with http:// or https://")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("url has no host")
	case u.User != nil:
		return errors.New("url must not carry a user name or password: use the secret")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("url must not have a fragment")
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return checkAddr(a, allowPrivate)
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return checkAddr(netip.IPv6Loopback(), allowPrivate)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("host %s does not resolve", host)
	}
	for _, a := range addrs {
		if err := checkAddr(a, allowPrivate); err != nil {
			return fmt.Errorf("host %s: %w", host, err)
		}
	}
	return nil
}
