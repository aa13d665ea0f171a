package ratelimit

import (
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// Config sets the limits; a zero Limit is no limit.
type Config struct {
	// ConnFrames bounds the frames of one connection (OsmAnd: requests on one HTTP
	// connection), whatever they hold: junk costs as much to read as a fix.
	ConnFrames Limit
	// DeviceFixes bounds the fixes of one device over all its connections; a 0x0704 batch
	// draws as many units as it holds fixes.
	DeviceFixes Limit
	// Clock returns a monotonic reading; nil: the process's monotonic clock. Tests stop it.
	Clock func() time.Duration
}

// Limiter holds the limits and the table of devices. One Limiter serves every gateway, so a
// device is limited once whichever port it uses; each gateway reports through its own Gate.
type Limiter struct {
	conn, device Limit
	clock        func() time.Duration
	seed         maphash.Seed
	shards       [64]shard
}

// New checks cfg and returns a Limiter, or nil when cfg limits nothing (a nil Limiter's
// gates admit everything).
func New(cfg Config) (*Limiter, error) {
	for _, l := range []struct {
		name string
		l    Limit
	}{{"connection frame", cfg.ConnFrames}, {"device fix", cfg.DeviceFixes}} {
		if l.l.Rate < 0 || l.l.Enabled() && l.l.Burst < 1 {
			return nil, fmt.Errorf("ratelimit: %s limit %v: need a rate ≥ 0 and, with a rate, a burst ≥ 1", l.name, l.l)
		}
	}
	if !cfg.ConnFrames.Enabled() && !cfg.DeviceFixes.Enabled() {
		return nil, nil
	}
	l := &Limiter{conn: cfg.ConnFrames, device: cfg.DeviceFixes, clock: cfg.Clock, seed: maphash.MakeSeed()}
	if l.clock == nil {
		l.clock = sinceStart
	}
	return l, nil
}

var start = time.Now()

func sinceStart() time.Duration { return time.Since(start) }

func (l *Limiter) now() time.Time { return time.Unix(0, int64(l.clock())) }

// Device is one device's fix bucket, shared by its connections. Get it with Gate.Acquire and
// give it back with Gate.Release when the connection ends or reports as another device.
type Device struct {
	id    string
	shard *shard
	refs  int // connections holding it; guarded by shard.mu

	mu sync.Mutex
	b  Bucket
}

// shard is one part of the device table; devices spread over the shards by a hash of their
// id, so connections of different devices rarely meet on a lock.
type shard struct {
	mu      sync.Mutex
	m       map[string]*Device
	sweepAt int // table size at which idle devices are next swept out
}

const minSweep = 64

func (l *Limiter) acquire(id string) *Device {
	sh := &l.shards[maphash.String(l.seed, id)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	d := sh.m[id]
	if d == nil {
		if sh.m == nil {
			sh.m = make(map[string]*Device)
		}
		if len(sh.m) >= sh.sweepAt {
			l.sweep(sh)
		}
		d = &Device{id: id, shard: sh}
		sh.m[id] = d
	}
	d.refs++
	return d
}

// sweep drops the devices no connection holds whose bucket has refilled: forgetting them
// changes nothing. A device still in debt is kept, so reconnecting does not clear its debt.
// Sweeping when the shard has doubled keeps the cost constant per new device.
func (l *Limiter) sweep(sh *shard) {
	now := l.now()
	for id, d := range sh.m {
		if d.refs > 0 {
			continue
		}
		d.mu.Lock()
		full := d.b.full(l.device, now)
		d.mu.Unlock()
		if full {
			delete(sh.m, id)
		}
	}
	sh.sweepAt = max(2*len(sh.m), minSweep)
}

func (l *Limiter) release(d *Device) {
	d.shard.mu.Lock()
	d.refs--
	d.shard.mu.Unlock()
}

// devices counts the table's entries, for tests.
func (l *Limiter) devices() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].m)
		l.shards[i].mu.Unlock()
	}
	return n
}
