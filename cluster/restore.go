package cluster

import (
	"context"
	"sync"
)

// restoreRound lets the partitions a tracker takes in one round restore their vehicles' rule
// state with one State.Restore for all of them: it reads every active declaration and the
// alerts it needs, whatever the vehicles, so that 64 partitions taken at a full failover would
// read them 64 times. Each partition arrives once its previous owner is cut off and its
// vehicles forgotten; the restore runs when all have arrived (or left, failing before).
type restoreRound struct {
	state State
	n     int

	mu        sync.Mutex
	expected  map[int]bool // partitions of the round not arrived yet
	sealed    bool         // no partition is added any more
	finishing bool
	parts     map[int]bool // partitions arrived: their vehicles are restored
	all       chan struct{}
	err       error
}

func newRestoreRound(state State, partitions int) *restoreRound {
	return &restoreRound{state: state, n: partitions, expected: map[int]bool{}, parts: map[int]bool{}, all: make(chan struct{})}
}

// add counts partition p in the round, before its take-over starts.
func (r *restoreRound) add(p int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expected[p] = true
}

// seal: every partition of the round is added.
func (r *restoreRound) seal(ctx context.Context) {
	r.mu.Lock()
	r.sealed = true
	last := r.lastLocked()
	r.mu.Unlock()
	if last {
		go r.finish(ctx)
	}
}

// lastLocked reports whether the caller is the one to finish the round: every partition added
// has arrived or left; r.mu held.
func (r *restoreRound) lastLocked() bool {
	if r.sealed && len(r.expected) == 0 && !r.finishing {
		r.finishing = true
		return true
	}
	return false
}

// finish restores the vehicles of the partitions arrived, all at once, and lets them go on.
func (r *restoreRound) finish(ctx context.Context) {
	if len(r.parts) > 0 {
		r.err = r.state.Restore(ctx, func(id string) bool { return r.parts[Partition(id, r.n)] })
	}
	close(r.all)
}

// leave takes p out of the round: its take-over failed before restoring (it restores alone
// when it tries again).
func (r *restoreRound) leave(ctx context.Context, p int) {
	r.mu.Lock()
	last := false
	if r.expected[p] {
		delete(r.expected, p)
		last = r.lastLocked()
	}
	r.mu.Unlock()
	if last {
		r.finish(ctx)
	}
}

// restore restores the vehicles of p with those of the round's other partitions, once their
// previous owners are all cut off: the last to arrive restores for all. Each returns the error.
func (r *restoreRound) restore(ctx context.Context, p int) error {
	r.mu.Lock()
	if !r.expected[p] {
		r.mu.Unlock()
		return r.state.Restore(ctx, func(id string) bool { return Partition(id, r.n) == p })
	}
	delete(r.expected, p)
	r.parts[p] = true
	last := r.lastLocked()
	r.mu.Unlock()
	if last {
		r.finish(ctx)
	}
	select {
	case <-r.all:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// restoreState restores partition p's vehicles (match selects them) in its round, or alone
// when taking it over again after a failure.
func (t *Tracker) restoreState(ctx context.Context, p int, match func(string) bool) error {
	if r := t.restoreRoundOf(p); r != nil {
		return r.restore(ctx, p)
	}
	return t.cfg.State.Restore(ctx, match)
}

// leaveRestoreRound takes p out of its round if it did not restore in it; a retry restores alone.
func (t *Tracker) leaveRestoreRound(ctx context.Context, p int) {
	if r := t.restoreRoundOf(p); r != nil {
		r.leave(ctx, p)
	}
}

// restoreRoundOf is the round p was taken in, once: later calls (a retry) get nil.
func (t *Tracker) restoreRoundOf(p int) *restoreRound {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.owned[p]
	if o == nil {
		return nil
	}
	r := o.restore
	o.restore = nil
	return r
}
