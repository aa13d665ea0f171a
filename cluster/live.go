package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// live is one commit's output as it travels to the api nodes.
type live struct {
	Fixes  []tracker.Fix   `json:"fixes,omitempty"`
	Events []tracker.Event `json:"events,omitempty"`
	Alerts []tracker.Alert `json:"alerts,omitempty"`
}

// LivePublisher is a tracker's tracker.Publisher: what its pipeline committed goes to every
// api node on core NATS (at most once: a node that misses an update reads it from the store).
type LivePublisher struct{ c *Conn }

// NewLivePublisher returns the publisher of c.
func NewLivePublisher(c *Conn) *LivePublisher { return &LivePublisher{c: c} }

var _ tracker.Publisher = (*LivePublisher)(nil)

// Publish sends the commit's output; it does not block (NATS buffers while reconnecting).
func (l *LivePublisher) Publish(fixes []tracker.Fix, events []tracker.Event, alerts []tracker.Alert) {
	b, err := json.Marshal(live{Fixes: fixes, Events: events, Alerts: alerts})
	if err == nil {
		err = l.c.nc.Publish(liveSubject, b)
	}
	if err != nil {
		l.c.m.liveDropped.Inc()
		l.c.log.Debug("live update not published", "err", err)
	}
}

// SubscribeLive hands every tracker's committed output to p (the api node's hub and risk
// ranking) until ctx ends.
func (c *Conn) SubscribeLive(ctx context.Context, p tracker.Publisher) error {
	sub, err := c.nc.Subscribe(liveSubject, func(m *nats.Msg) {
		var l live
		if err := json.Unmarshal(m.Data, &l); err != nil {
			c.log.Warn("skipping a live update that does not decode", "err", err)
			return
		}
		p.Publish(l.Fixes, l.Events, l.Alerts)
	})
	if err != nil {
		return fmt.Errorf("cluster: live subscription: %w", err)
	}
	// The hub may be slow to take a burst: let it queue rather than drop.
	sub.SetPendingLimits(-1, 256<<20)
	go func() {
		<-ctx.Done()
		sub.Unsubscribe()
	}()
	return nil
}

// Changes receives the registry's and the zones' changes made on any node.
type Changes struct {
	Zones       func(ctx context.Context) // reload the zones from the store
	Declaration func(ctx context.Context, d tracker.Declaration)
	Vehicle     func(ctx context.Context, v tracker.Vehicle)
}

// nodeHeader names the node a change notice comes from: it applied the change itself.
const nodeHeader = "Bw-Node"

// notice queues a change for the change stream: the change is already applied here and
// stored, so the edit need not wait for NATS. It fails only when the queue is full.
func (c *Conn) notice(kind string, data []byte) error {
	m := nats.NewMsg(changePrefix + kind)
	m.Header.Set(nodeHeader, c.cfg.Node)
	m.Data = data
	c.noticeMu.Lock()
	defer c.noticeMu.Unlock()
	if c.closed {
		return fmt.Errorf("cluster: closing; %s not announced", kind)
	}
	select {
	case c.notices <- m:
		return nil
	default:
		return fmt.Errorf("cluster: %d change notices waiting for NATS; %s not announced", cap(c.notices), kind)
	}
}

// announce publishes the queued notices in order, each until JetStream stored it: a notice made
// while this node is cut off from NATS goes out when it is back.
func (c *Conn) announce() {
	defer close(c.announced)
	for m := range c.notices {
		retry := backoff{min: 100 * time.Millisecond, max: 5 * time.Second}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := c.js.PublishMsg(ctx, m)
			cancel()
			if err == nil || c.nc.IsClosed() {
				break
			}
			pause := retry.pause()
			c.log.Warn("change notice not stored yet; retrying", "subject", m.Subject, "err", err, "retry_in", pause)
			time.Sleep(pause)
		}
	}
}

// ZonesChanged tells the other nodes that the zones changed; each reloads them from the store.
func (c *Conn) ZonesChanged([]geofence.Zone) error { return c.notice("zones", nil) }

// DeclarationChanged tells the other nodes of a new, changed or closed declaration.
func (c *Conn) DeclarationChanged(d tracker.Declaration) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return c.notice("declaration", b)
}

// VehicleChanged tells the other nodes of a registry edit.
func (c *Conn) VehicleChanged(v tracker.Vehicle) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.notice("vehicle", b)
}

// SubscribeChanges hands the changes made on the other nodes to h until ctx ends: every notice
// stored since this node dialled, in order, at least once. An ordered consumer resumes after
// the last notice it delivered when the connection comes back, so that a node cut off from
// NATS while a zone changed still applies the change once it is back. With a ChangeLog, the
// store's log of edits is followed too (followChangeLog).
func (c *Conn) SubscribeChanges(ctx context.Context, h Changes) error {
	var oc jetstream.Consumer
	var err error
	// A busy NATS (a loaded machine, a server starting) may not answer within the request's
	// timeout: asked again a few times rather than the node giving up at start.
	for attempt := 1; ; attempt++ {
		oc, err = c.js.OrderedConsumer(ctx, ChangeStream, jetstream.OrderedConsumerConfig{
			DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &c.dialed,
		})
		if err == nil || attempt == 4 {
			break
		}
		c.log.Warn("change subscription failed; retrying", "attempt", attempt, "err", err)
		if !sleep(ctx, time.Duration(attempt)*time.Second) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("cluster: change subscription: %w", err)
	}
	cc, err := oc.Consume(func(m jetstream.Msg) {
		if m.Headers().Get(nodeHeader) == c.cfg.Node {
			return
		}
		switch m.Subject() {
		case changePrefix + "zones":
			h.Zones(ctx)
		case changePrefix + "declaration":
			var d tracker.Declaration
			if err := json.Unmarshal(m.Data(), &d); err != nil {
				c.log.Warn("skipping a declaration change that does not decode", "err", err)
				return
			}
			h.Declaration(ctx, d)
		case changePrefix + "vehicle":
			var v tracker.Vehicle
			if err := json.Unmarshal(m.Data(), &v); err != nil {
				c.log.Warn("skipping a vehicle change that does not decode", "err", err)
				return
			}
			h.Vehicle(ctx, v)
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		c.log.Debug("change subscription", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("cluster: change subscription: %w", err)
	}
	go func() {
		<-ctx.Done()
		cc.Stop()
	}()
	if c.cfg.ChangeLog != nil {
		go c.followChangeLog(ctx, h)
	}
	return nil
}
