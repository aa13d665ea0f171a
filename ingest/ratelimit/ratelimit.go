// Package ratelimit keeps one broken or hostile device from taking the gateways' capacity from
// the others: token buckets for the frames of one connection and for the fixes of one device
// (across all its connections), with the verdicts the gateways act on, and the log lines and
// metrics an operator watches.
//
// A bucket may run into debt: frames over the limit are refused but still drawn from the
// bucket, so a terminal that keeps sending while refused stays refused; once the debt reaches a
// whole burst (the terminal sent a second burst's worth without slowing down) the verdict is
// Close. A terminal that stops refills at the limit's rate and is admitted again, so a
// well-behaved terminal that briefly overshot loses nothing for good.
package ratelimit

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a sustained rate with a burst.
type Limit struct {
	Rate  float64 // per second; 0: unlimited
	Burst int     // taken at once from a full bucket; buckets start full
}

// Enabled reports whether l limits anything.
func (l Limit) Enabled() bool { return l.Rate > 0 }

func (l Limit) String() string {
	if !l.Enabled() {
		return "unlimited"
	}
	return fmt.Sprintf("%g/s burst %d", l.Rate, l.Burst)
}

// Verdict is what a gateway does with a frame.
type Verdict uint8

const (
	Allow  Verdict = iota // handle it
	Refuse                // drop it unanswered (HTTP: 429); the connection stays
	Close                 // drop it and close the connection: sustained abuse
)

// Bucket is a token bucket that may run into debt: a rate.Limiter, whose reservations take
// tokens below zero. Its zero value is full. It is not safe for concurrent use: a connection's
// bucket lives in the connection's own struct.
type Bucket struct {
	lim   *rate.Limiter // made by the first take
	first time.Time     // of the first take, for the reported rate
	n     int64         // units taken in all, for the reported rate
}

// take draws n units at now.
func (b *Bucket) take(l Limit, now time.Time, n int) Verdict {
	if b.lim == nil {
		b.lim, b.first = rate.NewLimiter(rate.Limit(l.Rate), l.Burst), now
	}
	b.n += int64(n)
	// A reservation holds a burst at most: more is drawn a burst at a time, all of it into debt.
	r := b.lim.ReserveN(now, min(n, l.Burst))
	for left := n - l.Burst; left > 0; left -= l.Burst {
		r = b.lim.ReserveN(now, min(left, l.Burst))
	}
	switch debt := r.DelayFrom(now); {
	case debt == 0:
		return Allow
	case debt > time.Duration(float64(l.Burst)/l.Rate*float64(time.Second)): // over a burst in debt
		return Close
	}
	return Refuse
}

// wait is how long after now the bucket holds n units again.
func (b *Bucket) wait(l Limit, now time.Time, n int) time.Duration {
	over := float64(n) - b.tokens(l, now)
	if over <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(over / l.Rate * 1e9))
}

// full reports whether the bucket has refilled completely by now.
func (b *Bucket) full(l Limit, now time.Time) bool {
	return b.tokens(l, now) >= float64(l.Burst)
}

func (b *Bucket) tokens(l Limit, now time.Time) float64 {
	if b.lim == nil {
		return float64(l.Burst)
	}
	return b.lim.TokensAt(now)
}

// avgRate is the average rate since the first take, per second.
func (b *Bucket) avgRate(now time.Time) float64 {
	return float64(b.n) / max(now.Sub(b.first).Seconds(), 1e-3)
}
