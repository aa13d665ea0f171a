package cluster

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// ChangeLog is the store's log of zone, declaration and vehicle edits, written in each edit's own
// transaction (pgstore: triggers). The change notices on NATS are the fast path; the log is the
// one no edit can miss: a node that made an edit while cut off from NATS and died before its
// notice went out leaves it in the log, and every node reads the log at its start, when its
// NATS connection comes back, and every ChangeLogEvery.
type ChangeLog interface {
	LastChange(ctx context.Context) (int64, error)
	ChangesSince(ctx context.Context, seq int64, limit int) ([]tracker.Change, error)
	PruneChanges(ctx context.Context, cutoff time.Time) error
	Declaration(ctx context.Context, id string) (tracker.Declaration, error)
	Vehicle(ctx context.Context, id string) (tracker.Vehicle, error)
}

const (
	// ChangeLogEvery is how often a node looks for edits it has not applied (the backstop to
	// the notices: an edit missed on NATS is applied within it).
	ChangeLogEvery = 2 * time.Second
	// changeGapWait is how long a hole in the log's sequence is looked at again: a transaction
	// still open when a later one committed fills it then; a rolled-back one never does.
	changeGapWait = time.Minute
	// changeLogKept is how long the log keeps an edit; every node has applied it long before.
	changeLogKept = 24 * time.Hour
	changeBatch   = 1000
)

// changeCursor is where a node is in the change log: every edit up to applied is applied, but
// for the holes in gaps (sequences not visible when a later one was read), with the time each
// was first seen missing.
type changeCursor struct {
	applied int64
	gaps    map[int64]time.Time
}

// followChangeLog applies the edits logged after c.logSeq (the log's end when this node dialled,
// before it loaded its state) until ctx ends: at once, on each NATS reconnection and every
// ChangeLogEvery. An edit the notices brought already is applied again (harmless, as a
// notice received twice).
func (c *Conn) followChangeLog(ctx context.Context, h Changes) {
	cur := changeCursor{applied: c.logSeq, gaps: map[int64]time.Time{}}
	tick := time.NewTicker(ChangeLogEvery)
	defer tick.Stop()
	var pruned time.Time
	for {
		if err := c.catchUp(ctx, h, &cur); err != nil && ctx.Err() == nil {
			c.log.Warn("reading the change log; retrying", "err", err, "retry_in", ChangeLogEvery)
		}
		if time.Since(pruned) > time.Hour {
			pruned = time.Now()
			if err := c.cfg.ChangeLog.PruneChanges(ctx, pruned.Add(-changeLogKept)); err != nil && ctx.Err() == nil {
				c.log.Warn("pruning the change log", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.reconnected:
		}
	}
}

// catchUp applies the edits logged after the cursor, each zones reload and each declaration or
// vehicle once per round, in the log's order.
func (c *Conn) catchUp(ctx context.Context, h Changes, cur *changeCursor) error {
	for {
		from := cur.applied
		for seq, since := range cur.gaps {
			if time.Since(since) > changeGapWait {
				delete(cur.gaps, seq)
			} else {
				from = min(from, seq-1)
			}
		}
		changes, err := c.cfg.ChangeLog.ChangesSince(ctx, from, changeBatch)
		if err != nil {
			return err
		}
		var fresh []tracker.Change
		for _, ch := range changes {
			if ch.Seq <= cur.applied {
				if _, hole := cur.gaps[ch.Seq]; !hole {
					continue
				}
				delete(cur.gaps, ch.Seq)
			} else {
				for s := cur.applied + 1; s < ch.Seq && len(cur.gaps) < changeBatch; s++ {
					cur.gaps[s] = time.Now()
				}
				cur.applied = ch.Seq
			}
			if !slices.ContainsFunc(fresh, func(f tracker.Change) bool { return f.Kind == ch.Kind && f.Ref == ch.Ref }) {
				fresh = append(fresh, ch)
			}
		}
		for _, ch := range fresh {
			if err := c.applyLogged(ctx, h, ch); err != nil {
				return err
			}
			c.m.logApplied.Inc()
		}
		if len(changes) < changeBatch {
			return nil
		}
	}
}

func (c *Conn) applyLogged(ctx context.Context, h Changes, ch tracker.Change) error {
	switch ch.Kind {
	case "zones":
		h.Zones(ctx)
	case "declaration":
		d, err := c.cfg.ChangeLog.Declaration(ctx, ch.Ref)
		if errors.Is(err, tracker.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		h.Declaration(ctx, d)
	case "vehicle":
		v, err := c.cfg.ChangeLog.Vehicle(ctx, ch.Ref)
		if errors.Is(err, tracker.ErrNotFound) {
			return nil // deleted: the rules keep what they knew, as when the notice came
		}
		if err != nil {
			return err
		}
		h.Vehicle(ctx, v)
	}
	return nil
}
