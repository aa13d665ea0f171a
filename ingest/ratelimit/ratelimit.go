// Package ratelimit keeps one broken or hostile device from taking the gateways' capacity from
// the others: token buckets for the frames of one connection and for the fixes of one device
// (across all its connections), with the verdicts the gateways act on, the log lines and
// metrics an operator watches, and a cap on the connections one address may hold open.
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

// Bucket is a token bucket that may run into debt. Its zero value is full. It is not safe
// for concurrent use: a connection's bucket lives in the connection's own struct.
type Bucket struct {
	used  float64 // drawn and not yet refilled; above Burst: refused, above 2·Burst: Close
	last  int64   // clock reading of the last take
	first int64   // clock reading of the first take, for the reported rate
	n     int64   // units taken in all, for the reported rate
}

// take draws n units at clock reading now (nanoseconds, never 0).
func (b *Bucket) take(l Limit, now int64, n int) Verdict {
	if b.first == 0 {
		b.first = now
	} else if b.used > 0 {
		b.used = max(0, b.used-float64(now-b.last)*l.Rate/1e9)
	}
	b.last = now
	b.n += int64(n)
	b.used += float64(n)
	burst := float64(l.Burst)
	switch {
	case b.used <= burst:
		return Allow
	case b.used > 2*burst:
		return Close
	}
	return Refuse
}

// wait is how long after now the bucket holds n units again.
func (b *Bucket) wait(l Limit, now int64, n int) time.Duration {
	used := max(0, b.used-float64(now-b.last)*l.Rate/1e9)
	over := used + float64(n) - float64(l.Burst)
	if over <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(over / l.Rate * 1e9))
}

// full reports whether the bucket has refilled completely by now.
func (b *Bucket) full(l Limit, now int64) bool {
	return b.used-float64(now-b.last)*l.Rate/1e9 <= 0
}

// rate is the average rate since the first take, per second.
func (b *Bucket) rate(now int64) float64 {
	d := float64(now-b.first) / 1e9
	if d < 1e-3 {
		d = 1e-3
	}
	return float64(b.n) / d
}
