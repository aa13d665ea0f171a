package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/borderwatch/borderwatch/tracker"
)

// Gateway is the gateways' tracker.Sink in a cluster: Submit returns once JetStream has stored
// the fixes (on a quorum of its replicas), and only then may the device be acknowledged. The
// tracker owning the vehicle's partition evaluates and stores them.
type Gateway struct {
	c   *Conn
	now func() time.Time
}

var _ tracker.Sink = (*Gateway)(nil)

// NewGateway returns the gateways' sink; now stamps ReceivedAt (nil: the wall clock).
func NewGateway(c *Conn, now func() time.Time) *Gateway {
	if now == nil {
		now = time.Now
	}
	return &Gateway{c: c, now: now}
}

// Submit publishes the fixes, one message per partition they fall in, and waits for JetStream's
// acknowledgements. An error means nothing may be acknowledged to the device.
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
	futures := make([]jetstream.PubAckFuture, 0, len(order))
	for _, p := range order {
		data, err := json.Marshal(byPart[p])
		if err != nil {
			return fmt.Errorf("cluster: encoding fixes: %w", err)
		}
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
			g.c.m.publishErrors.Inc()
			return fmt.Errorf("cluster: JetStream did not store the fixes: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.c.m.published.Add(float64(len(fixes)))
	g.c.m.publishSecs.Observe(time.Since(start).Seconds())
	return nil
}
