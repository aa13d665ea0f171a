package access

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// The lockout policy: five failures lock a user name from one address for the window; an
// address, which many officers may share behind one gateway, gets twenty over all names.
// Locking the pair rather than the name keeps a flood from elsewhere from locking the real
// user out. The counts are in the store, so a restart forgets none and servers on one
// database share them.
const (
	pairFailures = 5
	addrFailures = 20
	lockWindow   = 15 * time.Minute
)

// loginBlocked reports how long a login of username from addr must still wait, or 0.
func (s *Service) loginBlocked(ctx context.Context, username, addr string, now time.Time) (time.Duration, error) {
	pair, err := s.store.LoginFailures(ctx, strings.ToLower(username), addr)
	if err != nil {
		return 0, err
	}
	all, err := s.store.LoginFailures(ctx, "", addr)
	if err != nil {
		return 0, err
	}
	return max(lockedFor(pair, pairFailures, now), lockedFor(all, addrFailures, now)), nil
}

func lockedFor(f tracker.LoginFailures, limit int, now time.Time) time.Duration {
	if f.Count < limit {
		return 0
	}
	return max(f.Since.Add(lockWindow).Sub(now), 0)
}

// loginFailed counts a failure of username from addr, for the pair and for the address.
func (s *Service) loginFailed(ctx context.Context, username, addr string, now time.Time) error {
	if _, err := s.store.AddLoginFailure(ctx, strings.ToLower(username), addr, now, lockWindow); err != nil {
		return err
	}
	_, err := s.store.AddLoginFailure(ctx, "", addr, now, lockWindow)
	return err
}

// loginSucceeded clears the pair's failures; the address keeps its count, so one valid account
// does not let an address go on guessing others' passwords.
func (s *Service) loginSucceeded(ctx context.Context, username, addr string) error {
	return s.store.ClearLoginFailures(ctx, strings.ToLower(username), addr)
}

// Unlock forgets the failed logins of the user name from every address, on behalf of actor
// (the security administrator), and audits it.
func (s *Service) Unlock(ctx context.Context, actor Actor, name string) error {
	if !Allowed(actor.Role, PermRoles) {
		return ForbiddenError("only the security administrator unlocks accounts")
	}
	u, err := s.store.User(ctx, name)
	if err != nil {
		return err
	}
	if err := s.store.ClearLoginFailures(ctx, strings.ToLower(u.Username), ""); err != nil {
		return err
	}
	return s.Record(ctx, actor.Username, "user.unlock", "user:"+u.Username, "ok", nil)
}

// sweepLogins forgets, at most once a minute, the lockout windows that have passed and the
// record limiter's old addresses, writing the counts it still held; Login calls it, so a flood
// of made-up names sweeps up after itself.
func (s *Service) sweepLogins(ctx context.Context, now time.Time) {
	if !s.records.sweepDue(now) {
		return
	}
	if err := s.store.SweepLoginFailures(ctx, now.Add(-lockWindow)); err != nil {
		s.log.Warn("sweeping login lockouts", "err", err)
	}
	for _, p := range s.records.sweep(now) {
		s.Record(WithClientAddr(ctx, p.addr), "", "login", "addr:"+p.addr, p.result, map[string]int{"unrecorded": p.count})
	}
}

// recordLimiter keeps refused logins from flooding the audit log: of each result (denied,
// throttled) from one address it lets one record a minute through, and counts the others into
// the next. It holds at most maxAddrs entries; past that, addresses share one entry ("*"), so
// a flood from many addresses grows neither memory nor the log without bound.
type recordLimiter struct {
	mu        sync.Mutex
	maxAddrs  int
	every     time.Duration
	entries   map[limiterKey]*limited
	lastSweep time.Time
}

type limiterKey struct{ addr, result string }

type limited struct {
	last       time.Time
	unrecorded int
}

// pending is a count of refused logins not yet in the audit log.
type pending struct {
	addr, result string
	count        int
}

func newRecordLimiter() *recordLimiter {
	return &recordLimiter{maxAddrs: 10000, every: time.Minute, entries: map[limiterKey]*limited{}}
}

// allow reports whether a refused login of result from addr is recorded now, and how many
// before it were not.
func (l *recordLimiter) allow(addr, result string, now time.Time) (ok bool, unrecorded int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := limiterKey{addr, result}
	e := l.entries[k]
	if e == nil && len(l.entries) >= l.maxAddrs {
		k.addr = "*"
		e = l.entries[k]
	}
	if e == nil {
		l.entries[k] = &limited{last: now}
		return true, 0
	}
	if now.Sub(e.last) < l.every {
		e.unrecorded++
		return false, 0
	}
	n := e.unrecorded
	e.last, e.unrecorded = now, 0
	return true, n
}

func (l *recordLimiter) sweepDue(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) < l.every {
		return false
	}
	l.lastSweep = now
	return true
}

// sweep forgets the entries quiet for a minute and returns the counts they still held.
func (l *recordLimiter) sweep(now time.Time) []pending {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []pending
	for k, e := range l.entries {
		if now.Sub(e.last) < l.every {
			continue
		}
		if e.unrecorded > 0 {
			out = append(out, pending{k.addr, k.result, e.unrecorded})
		}
		delete(l.entries, k)
	}
	return out
}
