package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/borderwatch/borderwatch/tracker"
)

// Gateway is the gateways' tracker.Sink in a cluster: Submit returns once JetStream has stored
// the fixes (on a quorum of its replicas), and only then may the device be acknowledged. The
// tracker owning the vehicle's partition evaluates and stores them.
//
// Each partition has at most one publication in flight: fixes submitted meanwhile, by any
// device, wait and go together in the next message. Every message is a replicated write on
// each NATS server and a delivery to the tracker, so under load the messages per fix fall as
// the load rises, with no delay added when the partition is idle.
type Gateway struct {
	c     *Conn
	now   func() time.Time
	parts []partitionQueue
}

// partitionQueue gathers one partition's fixes while its publication is in flight.
type partitionQueue struct {
	mu       sync.Mutex
	inFlight bool
	queued   []tracker.Fix
	next     *publication // what the queued fixes' submitters wait for
}

// publication is one or more messages of a partition; done closes once JetStream stored them
// all or refused one (err).
type publication struct {
	done chan struct{}
	err  error
}

// maxFixesPerMessage keeps a message well under NATS's default 1 MB payload limit (a fix is
// about 80 bytes, more with flags and attributes).
const (
	maxFixesPerMessage = 1000
	maxMessageBytes    = 512 << 10
)

var _ tracker.Sink = (*Gateway)(nil)

// NewGateway returns the gateways' sink; now stamps ReceivedAt (nil: the wall clock).
func NewGateway(c *Conn, now func() time.Time) *Gateway {
	if now == nil {
		now = time.Now
	}
	return &Gateway{c: c, now: now, parts: make([]partitionQueue, c.cfg.Partitions)}
}

// Submit publishes the fixes, in the messages of the partitions they fall in, and waits for
// JetStream's acknowledgements. An error means nothing may be acknowledged to the device.
func (g *Gateway) Submit(ctx context.Context, fixes []tracker.Fix) error {
	if len(fixes) == 0 {
		return nil
	}
	now := g.now().UTC()
	byPart := map[int][]tracker.Fix{}
	var order []int
	for _, f := range fixes {
		if f.ReceivedAt.IsZero() {
			// Stamped here, once: a replay or a redelivery sees the same fix.
			f.ReceivedAt = now
		}
		p := Partition(f.VehicleID, g.c.cfg.Partitions)
		if _, ok := byPart[p]; !ok {
			order = append(order, p)
		}
		byPart[p] = append(byPart[p], f)
	}
	start := time.Now()
	pubs := make([]*publication, 0, len(order))
	for _, p := range order {
		pubs = append(pubs, g.enqueue(p, byPart[p]))
	}
	for _, pub := range pubs {
		select {
		case <-pub.done:
			if pub.err != nil {
				return pub.err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.c.m.published.Add(float64(len(fixes)))
	g.c.m.publishSecs.Observe(time.Since(start).Seconds())
	return nil
}

// enqueue adds fixes to partition p's next publication, starting it if none is in flight.
func (g *Gateway) enqueue(p int, fixes []tracker.Fix) *publication {
	q := &g.parts[p]
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queued = append(q.queued, fixes...)
	if q.next == nil {
		q.next = &publication{done: make(chan struct{})}
	}
	pub := q.next
	if !q.inFlight {
		q.inFlight = true
		go g.drain(p)
	}
	return pub
}

// drain publishes partition p's queued fixes until none are left.
func (g *Gateway) drain(p int) {
	q := &g.parts[p]
	for {
		q.mu.Lock()
		fixes, pub := q.queued, q.next
		q.queued, q.next = nil, nil
		if len(fixes) == 0 {
			q.inFlight = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		pub.err = g.publish(p, fixes)
		close(pub.done)
	}
}

// publish sends fixes in order on p's subject and waits until JetStream stored every message.
func (g *Gateway) publish(p int, fixes []tracker.Fix) error {
	futures := make([]jetstream.PubAckFuture, 0, (len(fixes)+maxFixesPerMessage-1)/maxFixesPerMessage)
	for len(fixes) > 0 {
		n := min(len(fixes), maxFixesPerMessage)
		// A buffer of its own: the connection may still hold the previous one.
		data, err := encodeFixes(make([]byte, 0, 96*n), fixes[:n])
		for err == nil && len(data) > maxMessageBytes && n > 1 {
			n /= 2 // fixes with large attributes: fewer per message
			data, err = encodeFixes(data[:0], fixes[:n])
		}
		if err != nil {
			return err
		}
		fixes = fixes[n:]
		f, err := g.c.js.PublishAsync(fixSubject(p), data, jetstream.WithExpectStream(StreamName))
		if err != nil {
			g.c.m.publishErrors.Inc()
			return fmt.Errorf("cluster: publishing fixes: %w", err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			// The JetStream context's publish timeout ends a publication never answered.
			g.c.m.publishErrors.Inc()
			return fmt.Errorf("cluster: JetStream did not store the fixes: %w", err)
		}
	}
	return nil
}
