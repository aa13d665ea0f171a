package access

import (
	"strings"
	"sync"
	"time"
)

// throttle counts failed logins per key; past the limit within the window, logins are refused
// until the window has passed. It keeps the failures' times rather than a token bucket
// (golang.org/x/time/rate), which would give one attempt back every window/limit instead of
// locking the key for the whole window.
type throttle struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	fails  map[string][]time.Time
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, fails: map[string][]time.Time{}}
}

// blocked reports how long key must still wait, or 0.
func (t *throttle) blocked(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.prune(key, now)
	if len(f) < t.limit {
		return 0
	}
	return f[0].Add(t.window).Sub(now)
}

func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fails[key] = append(t.prune(key, now), now)
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, key)
}

func (t *throttle) prune(key string, now time.Time) []time.Time {
	f := t.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) > t.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(t.fails, key)
	} else {
		t.fails[key] = f
	}
	return f
}

// loginThrottles: five failures lock a user name for the window; an address, which many
// officers may share behind one gateway, gets twenty.
type loginThrottles struct{ user, addr *throttle }

func newLoginThrottles() loginThrottles {
	return loginThrottles{user: newThrottle(5, 15*time.Minute), addr: newThrottle(20, 15*time.Minute)}
}

// blocked reports how long a login of username from addr must still wait, or 0.
func (l loginThrottles) blocked(username, addr string, now time.Time) time.Duration {
	return max(l.user.blocked(strings.ToLower(username), now), l.addr.blocked(addr, now))
}

func (l loginThrottles) fail(username, addr string, now time.Time) {
	l.user.fail(strings.ToLower(username), now)
	l.addr.fail(addr, now)
}

// succeed clears the user's failures; the address keeps its count, so one valid account does
// not let an address go on guessing others' passwords.
func (l loginThrottles) succeed(username string) {
	l.user.reset(strings.ToLower(username))
}
