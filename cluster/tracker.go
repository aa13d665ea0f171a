package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/borderwatch/borderwatch/tracker"
)

// Store is what a tracker reads of the shared store when it takes a partition over, and when a
// report or a reading it is asked to judge may have been stored already.
type Store interface {
	LatestFixes(ctx context.Context) ([]tracker.Fix, error)
	Track(ctx context.Context, vehicleID string, from, to time.Time) ([]tracker.Fix, error)
	Events(ctx context.Context, q tracker.EventQuery) ([]tracker.Event, error)
	Weighings(ctx context.Context, q tracker.WeighingQuery) ([]tracker.Weighing, error)
	// RenewFixIDs makes the fixes stored next take IDs above those reserved until now by any
	// server (the previous owner's among them), so each vehicle's stay in order.
	RenewFixIDs()
}

// State is the process's per-vehicle state (the pipeline's and the rules'), which a tracker
// drops for the vehicles of a partition it takes over and rebuilds.
type State interface {
	// Forget drops the state of the vehicles match selects.
	Forget(match func(vehicleID string) bool)
	// Restore takes from the store the state of the vehicles match selects that their fixes do
	// not rebuild (what a restart restores), before the replay of their recent fixes.
	Restore(ctx context.Context, match func(vehicleID string) bool) error
	// Seed gives vehicles their newest stored fix.
	Seed(fixes []tracker.Fix)
}

// TrackerConfig configures a Tracker.
type TrackerConfig struct {
	// Pipeline evaluates, stores and publishes: Submit returns once the fixes are durable.
	Pipeline tracker.Sink
	// Replay evaluates without storing (a pipeline over the same evaluator whose commits go
	// nowhere): the fixes the previous owner stored rebuild the vehicles' state through it.
	Replay tracker.Sink
	State  State
	Store  Store
	// Judge judges and commits the gate reads and terminal events other nodes send for the
	// partitions owned (Router); nil: none are answered.
	Judge Judge
	// Batch is how many messages are fetched, evaluated and acknowledged at once (default 256).
	Batch int
	// replayWait is how long a take-over's replay waits for each fetch (500 ms; tests shorten
	// it to the point where a fetch answers nothing).
	replayWait time.Duration
}

// Tracker owns partitions: it holds a lease on each in a JetStream bucket, renewed while it
// lives; a partition whose lease expired (its owner died) or is free (its owner left) is taken
// by a tracker under its fair share. For each partition it owns, it evaluates and stores the
// fixes in stream order and acknowledges them once stored.
//
// Taking a partition over: the durable consumer of the partition is read for its ack floor
// (every fix up to it is stored) and deleted, which also cuts off a previous owner still
// running; the partition's vehicles are forgotten; the fixes of the last ReplayWindow up to the
// floor are replayed through Replay to rebuild their state; vehicles without a replayed fix
// have their newest stored fix replayed and are seeded with it; then a new consumer starts after the floor. Before
// the replay, what the rules keep beyond the fixes (declarations, emergency windows, an open SOS
// incident, the driver's card and the mismatches raised) is restored from the store as at a
// restart (State.Restore), so that the replay continues it rather than beginning it again. Fixes
// between the floor and the stream's end at that moment may have been stored by the previous
// owner before it died: each such message is looked up in the store, replayed if stored and
// processed if not. The store also refuses a fix it holds (same device and device time), so
// a fix is stored once whatever happens.
type Tracker struct {
	c   *Conn
	cfg TrackerConfig

	mu    sync.Mutex
	owned map[int]*ownership
	// stopping holds the partitions lost whose goroutine may still be ending its batch.
	stopping map[int]chan struct{}
	owns     []atomic.Bool // by partition: the vehicles whose timers run here
}

type ownership struct {
	rev uint64
	// expires is when the lease ends at the earliest: the lease's last write was sent then
	// less the TTL, and NATS stored it after that.
	expires time.Time
	cancel  context.CancelFunc
	done    chan struct{}
	ready   atomic.Bool
	lag     atomic.Uint64
	// releasing: given up (fair share, shutdown), renewed until its batch is acknowledged.
	releasing bool
	restore   *restoreRound // the round it was taken in, until its take-over restores
}

// NewTracker returns a tracker; Run takes partitions.
func NewTracker(c *Conn, cfg TrackerConfig) *Tracker {
	if cfg.Batch == 0 {
		cfg.Batch = 256
	}
	if cfg.replayWait == 0 {
		cfg.replayWait = 500 * time.Millisecond
	}
	return &Tracker{c: c, cfg: cfg, owned: map[int]*ownership{}, stopping: map[int]chan struct{}{}, owns: make([]atomic.Bool, c.cfg.Partitions)}
}

// Owns reports whether this process evaluates the vehicle now: rules.Config.Owns.
func (t *Tracker) Owns(vehicleID string) bool {
	return t.owns[Partition(vehicleID, t.c.cfg.Partitions)].Load()
}

// Owned returns the partitions held, in order, and their consumers' lag (messages not yet
// acknowledged).
func (t *Tracker) Owned() ([]int, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := make([]int, 0, len(t.owned))
	var lag uint64
	for p, o := range t.owned {
		if !o.releasing {
			ps = append(ps, p)
			lag += o.lag.Load()
		}
	}
	slices.Sort(ps)
	return ps, lag
}

// Ready returns the partitions served, in order: taken over, their fixes consumed and their
// gate reads and terminal events answered (Owned also counts those being taken over).
func (t *Tracker) Ready() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := []int{}
	for p, o := range t.owned {
		if !o.releasing && o.ready.Load() {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

// Run takes, renews and serves partitions until ctx ends, then finishes the batches under way
// and frees its leases for the others to take at once.
func (t *Tracker) Run(ctx context.Context) {
	// Trackers started together first hear of each other, so that each takes its share instead
	// of the first taking everything and giving most of it away again.
	if !sleep(ctx, heartbeatEvery) {
		return
	}
	every := t.c.cfg.LeaseTTL / 3
	renewing := make(chan struct{})
	go func() {
		// Renewals run on their own, every third of the TTL from the start of the previous one
		// (at once when it took longer): a slow round (the store, NATS under load) must not let
		// the leases expire.
		defer close(renewing)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				t.renew(ctx)
			}
		}
	}()
	defer func() { <-renewing }()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		t.round(ctx)
		select {
		case <-ctx.Done():
			t.releaseAll()
			return
		case <-tick.C:
		}
	}
}

// renew renews every lease held, all at once: one slow answer must not let the others expire.
// Each renewal waits for its answer as long as the lease surely lives (a loaded NATS answers
// late, and a renewal given up and sent again only adds to its queue). A lease taken by
// another or expired is lost, and one not renewed before it may expire too: its partition
// stops before another tracker can take it.
func (t *Tracker) renew(ctx context.Context) {
	type held struct {
		p       int
		o       *ownership
		rev     uint64
		expires time.Time
		err     error
	}
	t.mu.Lock()
	leases := make([]held, 0, len(t.owned))
	for p, o := range t.owned {
		leases = append(leases, held{p: p, o: o, rev: o.rev, expires: o.expires})
	}
	t.mu.Unlock()
	sent := time.Now()
	var wg sync.WaitGroup
	for i := range leases {
		l := &leases[i]
		wg.Go(func() {
			rctx, cancel := context.WithDeadline(ctx, l.expires.Add(-t.leaseMargin()))
			defer cancel()
			rev, err := t.c.leases.Update(rctx, leaseKey(l.p), []byte(t.c.cfg.Node), l.rev)
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				// An earlier renewal whose answer timed out may have landed: the lease is still
				// this tracker's if it names it.
				if e, gerr := t.c.leases.Get(rctx, leaseKey(l.p)); gerr == nil && string(e.Value()) == t.c.cfg.Node {
					rev, err = t.c.leases.Update(rctx, leaseKey(l.p), []byte(t.c.cfg.Node), e.Revision())
				}
			}
			l.rev, l.err = rev, err
		})
	}
	wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range leases {
		o := l.o
		if t.owned[l.p] != o {
			continue // released meanwhile
		}
		switch err := l.err; {
		case err == nil:
			o.rev, o.expires = l.rev, sent.Add(t.c.cfg.LeaseTTL)
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists), !time.Now().Before(o.expires.Add(-t.leaseMargin())):
			t.c.log.Warn("partition lease lost", "partition", l.p, "err", err)
			t.loseLocked(l.p, o)
		default:
			t.c.log.Warn("partition lease not renewed; retrying", "partition", l.p, "err", err)
		}
	}
}

// leaseMargin is how long before its lease may expire a tracker stops serving a partition it
// could not renew: the time its partition takes to stop, before another tracker may take it.
func (t *Tracker) leaseMargin() time.Duration { return t.c.cfg.LeaseTTL / 6 }

// round gives up partitions above the fair share and takes free ones below it. It never waits
// for a partition's batch under way: a partition given up is renewed until its batch is
// acknowledged, then freed (finishRelease). It holds t.mu only between its reads: the
// renewals and the node's announcement wait for it, and the reads (NATS, the store) may take
// longer than a lease lives when the cluster is loaded.
func (t *Tracker) round(ctx context.Context) {
	serving := t.countServing()
	if ctx.Err() != nil {
		return
	}
	share := t.fairShare(ctx, serving)
	if serving = t.releaseSurplus(share); serving >= share {
		return
	}
	taken := t.takenPartitions(ctx)
	if taken == nil {
		return
	}
	n := t.c.cfg.Partitions
	first := Partition(t.c.cfg.Node, n) // trackers start at different places: fewer collisions
	var free []int
	t.mu.Lock()
	for i := range n {
		p := (first + i) % n
		if taken[p] || t.owned[p] != nil {
			continue
		}
		if done, ok := t.stopping[p]; ok {
			select {
			case <-done:
				delete(t.stopping, p)
			default:
				continue // its last batch is still being given up
			}
		}
		free = append(free, p)
	}
	t.mu.Unlock()
	if len(free) == 0 {
		return
	}
	// Read before any lease is taken: a lease taken is renewed once its partition is started.
	latest, err := t.cfg.Store.LatestFixes(ctx)
	if err != nil {
		t.c.log.Warn("taking partitions over: reading the newest fixes", "err", err)
	}
	rr := newRestoreRound(t.cfg.State, t.c.cfg.Partitions)
	defer rr.seal(context.WithoutCancel(ctx))
	for _, p := range free {
		if serving = t.countServing(); serving >= share {
			break
		}
		sent := time.Now()
		rev, err := t.c.leases.Create(ctx, leaseKey(p), []byte(t.c.cfg.Node))
		if err != nil {
			continue // another tracker was faster
		}
		t.mu.Lock()
		t.start(p, rev, sent.Add(t.c.cfg.LeaseTTL), latest)
		rr.add(p)
		t.owned[p].restore = rr
		t.mu.Unlock()
	}
	t.countServing()
}

// countServing counts the partitions served (not being given up) and sets the metric.
func (t *Tracker) countServing() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	serving := t.servingLocked()
	t.c.m.owned.Set(float64(serving))
	return serving
}

// servingLocked counts the partitions served; t.mu held.
func (t *Tracker) servingLocked() int {
	serving := 0
	for _, o := range t.owned {
		if !o.releasing {
			serving++
		}
	}
	return serving
}

// releaseSurplus gives up the partitions served above share (those taken over already), and
// returns how many are served then.
func (t *Tracker) releaseSurplus(share int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	serving := t.servingLocked()
	for p, o := range t.owned {
		if serving <= share {
			break
		}
		if !o.releasing && o.ready.Load() {
			t.c.log.Info("releasing a partition above the fair share", "partition", p, "serving", serving, "share", share)
			o.releasing = true
			t.owns[p].Store(false)
			o.cancel()
			serving--
			go t.finishRelease(p, o)
		}
	}
	t.c.m.owned.Set(float64(serving))
	return serving
}

// fairShare is the partitions each live tracker should own: all of them divided by the
// trackers announced in the node bucket, rounded up. serving is how many this one serves.
func (t *Tracker) fairShare(ctx context.Context, serving int) int {
	nodes, err := t.c.nodeList(ctx)
	if err != nil {
		return serving // keep what is held; take nothing new
	}
	trackers := 0
	self := false
	for _, nd := range nodes {
		if slices.Contains(nd.Roles, RoleTracker) {
			trackers++
			self = self || nd.Node == t.c.cfg.Node
		}
	}
	if !self {
		trackers++ // not announced yet
	}
	return (t.c.cfg.Partitions + trackers - 1) / trackers
}

// takenPartitions marks the partitions with a live lease; nil when the bucket cannot be read.
func (t *Tracker) takenPartitions(ctx context.Context) []bool {
	taken := make([]bool, t.c.cfg.Partitions)
	keys, err := t.c.leases.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return taken
	}
	if err != nil {
		return nil
	}
	for k := range keys.Keys() {
		if p, ok := leasePartition(k, len(taken)); ok {
			taken[p] = true
		}
	}
	return taken
}

// start serves partition p, whose lease is at revision rev and lives until expires at the
// earliest; t.mu held.
func (t *Tracker) start(p int, rev uint64, expires time.Time, latest []tracker.Fix) {
	ctx, cancel := context.WithCancel(context.Background())
	o := &ownership{rev: rev, expires: expires, cancel: cancel, done: make(chan struct{})}
	t.owned[p] = o
	t.c.m.changes.WithLabelValues("acquired").Inc()
	go t.serve(ctx, p, o, t.consumerName(p, rev), latest)
}

// finishRelease frees p's lease once its batch under way is acknowledged; round renews the
// lease meanwhile.
func (t *Tracker) finishRelease(p int, o *ownership) {
	<-o.done
	t.mu.Lock()
	rev := o.rev
	if t.owned[p] != o {
		t.mu.Unlock()
		return // lost meanwhile
	}
	delete(t.owned, p)
	t.mu.Unlock()
	t.c.m.changes.WithLabelValues("released").Inc()
	t.c.m.lag.WithLabelValues(fmt.Sprint(p)).Set(0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.c.leases.Delete(ctx, leaseKey(p), jetstream.LastRevision(rev)); err != nil {
		t.c.log.Warn("freeing a partition lease (it expires by itself)", "partition", p, "err", err)
		return
	}
	t.c.log.Info("partition released", "partition", p)
}

// abandon gives up p, whose serve stopped on its own (its lease was found held by another):
// renewing a lease nothing serves would keep the partition from every tracker.
func (t *Tracker) abandon(p int, o *ownership) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.owned[p] != o {
		return
	}
	t.c.log.Warn("partition given up: it is not served any more", "partition", p)
	t.loseLocked(p, o)
}

// loseLocked stops serving p (its goroutine ends its batch) and forgets its lease; t.mu held.
func (t *Tracker) loseLocked(p int, o *ownership) {
	t.owns[p].Store(false)
	o.cancel()
	delete(t.owned, p)
	t.stopping[p] = o.done
	t.c.m.changes.WithLabelValues("lost").Inc()
	t.c.m.lag.WithLabelValues(fmt.Sprint(p)).Set(0)
}

// releaseAll gives every partition up at shutdown: the batches under way are acknowledged,
// then the leases freed, so that the other trackers take them at once.
func (t *Tracker) releaseAll() {
	t.mu.Lock()
	var wg sync.WaitGroup
	for p, o := range t.owned {
		t.owns[p].Store(false)
		o.cancel()
		if !o.releasing {
			o.releasing = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.finishRelease(p, o)
			}()
		}
	}
	t.mu.Unlock()
	wg.Wait()
	t.mu.Lock()
	for _, o := range t.owned { // releases started by round
		t.mu.Unlock()
		<-o.done
		t.mu.Lock()
	}
	t.mu.Unlock()
}

// consumerPrefix begins the names of partition p's consumers.
func consumerPrefix(p int) string { return fmt.Sprintf("bw-p%d-", p) }

// consumerName is the consumer of partition p for the ownership whose lease began at revision
// rev: each owner has its own, so that deleting the previous one cuts that owner off (a
// consumer of the same name made again would serve both).
func (t *Tracker) consumerName(p int, rev uint64) string {
	// A consumer's name may not hold dots, wildcards or spaces; a host name may.
	node := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, t.c.cfg.Node)
	return fmt.Sprintf("%s%s-%d", consumerPrefix(p), node, rev)
}

// serve takes partition p over, with its own consumer name, and processes its fixes until ctx ends.
func (t *Tracker) serve(ctx context.Context, p int, o *ownership, name string, latest []tracker.Fix) {
	defer close(o.done)
	defer func() {
		if ctx.Err() == nil {
			t.abandon(p, o)
		}
	}()
	log := t.c.log.With("partition", p)
	var (
		to    takenOver
		err   error
		retry = takeOverRetry()
	)
	for {
		start := time.Now()
		to, err = t.takeOver(ctx, p, name, latest)
		if err == nil {
			t.c.m.takeoverSecs.Observe(time.Since(start).Seconds())
			log.Info("partition taken over", "took", time.Since(start).Round(time.Millisecond), "from", to.next, "uncertain_until", to.uncertain,
				"replayed_vehicles", to.replayed, "seeded_vehicles", to.seeded)
			break
		}
		if ctx.Err() != nil {
			return
		}
		pause := retry.pause()
		log.Warn("taking a partition over failed; retrying", "err", err, "retry_in", pause)
		if !sleep(ctx, pause) {
			return
		}
	}
	cons, uncertain := to.cons, to.uncertain
	t.owns[p].Store(true)
	if t.cfg.Judge != nil {
		sub, err := t.serveJudge(ctx, p)
		if err != nil {
			log.Warn("not answering the partition's gate reads and terminal events", "err", err)
		} else {
			defer sub.Unsubscribe()
		}
	}
	// Ready once its gate reads are answered too: what Ready and NodeStatus.Ready promise.
	o.ready.Store(true)
	// processed is the stream sequence of the last message stored; delivered the consumer's
	// sequence of the last delivery, to tell a lost delivery (a gap) from a slow one.
	processed, delivered := to.next-1, uint64(0)
	lastDelivery := time.Now() // or the last look at an idle consumer (stalled)
	restarts := backoff{min: 100 * time.Millisecond, max: 2 * time.Second}
	restart := func(why string, err error) bool {
		pause := restarts.pause()
		log.Warn("partition consumer restarted after the last fix processed", "why", why, "err", err, "from", processed+1, "retry_in", pause)
		if !sleep(ctx, pause) {
			return false
		}
		// Only while the lease is this tracker's: another owner's consumer is not ours to reset.
		// A lease that cannot be read (NATS losing a server answers late or not at all) is
		// not lost: the renewals decide that; until then the restart is tried again.
		e, err := t.c.leases.Get(ctx, leaseKey(p))
		if err != nil {
			log.Warn("reading the partition lease before restarting its consumer; trying again", "err", err)
			return ctx.Err() == nil
		}
		if string(e.Value()) != t.c.cfg.Node {
			log.Warn("partition lease held by another tracker; stopping", "holder", string(e.Value()))
			return false
		}
		c, err := t.restartConsumer(ctx, p, name, processed+1)
		if err != nil {
			log.Warn("restarting the partition consumer", "err", err)
			return ctx.Err() == nil
		}
		cons, delivered = c, 0
		return true
	}
	for ctx.Err() == nil {
		// What is there now, at most a batch, then a pause when it was not full: the
		// consumer's state (delivered, acknowledged) is written to disk on every replica up to
		// 10 times a second per consumer, and deliveries trickling into a pull held open make
		// it reach that cap on every partition; one delivery and one ack per round do not.
		batch, err := cons.FetchNoWait(t.cfg.Batch)
		if err != nil {
			if ctx.Err() != nil || !restart("fetch failed", err) {
				return
			}
			continue
		}
		var msgs []jetstream.Msg
		gap := false
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil || md.Sequence.Consumer != delivered+1 || md.Sequence.Stream <= processed {
				gap = true // drained, not processed: the batch's messages must all be read
				continue
			}
			delivered = md.Sequence.Consumer
			if !gap {
				msgs = append(msgs, m)
			}
		}
		if err := batch.Error(); consumerGone(err) {
			if ctx.Err() != nil || !restart("the consumer is gone", err) {
				return
			}
			continue
		} else if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrNoHeartbeat) {
			log.Debug("fetch ended", "err", err)
		}
		if len(msgs) > 0 || gap {
			lastDelivery = time.Now()
		} else if time.Since(lastDelivery) >= stallCheckEvery {
			lastDelivery = time.Now()
			if why, err := t.stalled(ctx, log, cons, processed); why != "" && (ctx.Err() != nil || !restart(why, err)) {
				return
			}
		}
		if len(msgs) > 0 {
			restarts.last = 0
			if err := t.process(ctx, msgs, &uncertain); err != nil {
				return // ctx ended: nothing more is acknowledged; the next owner redoes the batch
			}
			last := msgs[len(msgs)-1]
			md, _ := last.Metadata()
			processed = md.Sequence.Stream
			// AckAll: the last message acknowledges the batch. Waiting for the server's answer
			// keeps the ack floor exact for whoever takes the partition next.
			if err := last.DoubleAck(ctx); err != nil {
				log.Warn("acknowledging fixes (they are stored; redelivered ones are recognised)", "err", err)
			}
			o.lag.Store(md.NumPending)
			t.c.m.lag.WithLabelValues(fmt.Sprint(p)).Set(float64(md.NumPending))
		} else if !gap {
			o.lag.Store(0)
			t.c.m.lag.WithLabelValues(fmt.Sprint(p)).Set(0)
		}
		if gap && (ctx.Err() != nil || !restart("a delivery was lost or repeated", nil)) {
			return
		}
		if !gap && len(msgs) < t.cfg.Batch && !sleep(ctx, pollEvery) {
			return
		}
	}
}

// stallCheckEvery is how long a partition's consumer may deliver nothing before the tracker
// asks NATS whether it should have: one consumer-info request per idle partition and period,
// and the longest a partition waits for its deliveries lost with a NATS server.
const stallCheckEvery = 5 * time.Second

// consumerGone tells the fetch errors after which the consumer must be made again: polling it
// would answer nothing for ever while the partition's lease is renewed. No responders is not
// one: a replicated consumer has none while it elects a leader (a NATS server lost), and
// making 64 consumers again then would only slow the election down; stalled tells the two apart.
func consumerGone(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound)
}

// stalled asks NATS about a consumer that delivered nothing for stallCheckEvery, the tracker
// having processed up to stream sequence processed, and returns why it must be made again ("":
// it is idle because there is nothing to deliver, or NATS did not answer, which the next check
// asks again): it is gone; it delivered beyond processed what never arrived (a batch on its way
// when the tracker's NATS server died: it would come again only after AckWait, 5 min); or
// fixes wait that it does not deliver.
func (t *Tracker) stalled(ctx context.Context, log *slog.Logger, cons jetstream.Consumer, processed uint64) (string, error) {
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := cons.Info(ictx)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return "the consumer is gone", err
	case err != nil:
		log.Warn("an idle partition's consumer did not say whether it holds fixes back", "err", err)
		return "", nil
	case info.Delivered.Stream > processed:
		return "deliveries were lost on the way", fmt.Errorf("delivered up to %d, received up to %d", info.Delivered.Stream, processed)
	case info.NumPending > 0 && info.NumAckPending == 0:
		return "fixes are waiting that the consumer does not deliver", fmt.Errorf("%d pending", info.NumPending)
	}
	return "", nil
}

// takenOver is a partition taken over: its new consumer, the stream sequence it starts at, the
// last stream sequence the previous owner may have stored, and how many vehicles were rebuilt
// by the replay and how many from their newest stored fix only.
type takenOver struct {
	cons             jetstream.Consumer
	next, uncertain  uint64
	replayed, seeded int
}

// takeOver prepares partition p: see Tracker.
func (t *Tracker) takeOver(ctx context.Context, p int, name string, latest []tracker.Fix) (takenOver, error) {
	defer t.leaveRestoreRound(ctx, p) // failed before restoring: the others need not wait
	stream := t.c.stream
	subj := fixSubject(p)
	// The previous owners' consumers: where they got to, then gone.
	var floor uint64
	names := stream.ConsumerNames(ctx)
	var previous []string
	for n := range names.Name() {
		if strings.HasPrefix(n, consumerPrefix(p)) {
			previous = append(previous, n)
		}
	}
	if err := names.Err(); err != nil {
		return takenOver{}, fmt.Errorf("listing the previous consumers: %w", err)
	}
	for _, name := range previous {
		old, err := stream.Consumer(ctx, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return takenOver{}, fmt.Errorf("reading the previous consumer: %w", err)
		}
		info := old.CachedInfo()
		floor = max(floor, info.AckFloor.Stream)
		if info.Config.OptStartSeq > 0 {
			floor = max(floor, info.Config.OptStartSeq-1)
		}
		if err := stream.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return takenOver{}, fmt.Errorf("deleting the previous consumer: %w", err)
		}
	}
	// The previous owner is cut off: the partition's fixes stored from here on follow its.
	t.cfg.Store.RenewFixIDs()
	inPart := func(id string) bool { return Partition(id, t.c.cfg.Partitions) == p }
	t.cfg.State.Forget(inPart)
	if err := t.restoreState(ctx, p, inPart); err != nil {
		return takenOver{}, fmt.Errorf("restoring the vehicles' state: %w", err)
	}
	var uncertain uint64
	if m, err := stream.GetLastMsgForSubject(ctx, subj); err == nil {
		uncertain = m.Sequence
	} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return takenOver{}, fmt.Errorf("reading the partition's last message: %w", err)
	}
	next, seen, err := t.replay(ctx, subj, floor, uncertain)
	if err != nil {
		return takenOver{}, err
	}
	// Seeded after the replay: a vehicle seeded first would take its replayed fixes as late.
	// A vehicle silent for longer than the window has its newest stored fix evaluated without
	// storing, so that it is in its zones again (parked in a yard for hours, it must not enter
	// it a second time when it moves), then seeded, should the pipeline not take that fix.
	var seed []tracker.Fix
	for _, f := range latest {
		if inPart(f.VehicleID) && !seen[f.VehicleID] {
			seed = append(seed, f)
		}
	}
	if err := t.submit(ctx, t.cfg.Replay, seed); err != nil {
		return takenOver{}, err
	}
	t.cfg.State.Seed(seed)
	// The vehicles' state is whole: a creation that failed (timed out, it may even have been
	// made) is tried again on its own, the same consumer, not the whole take-over.
	retry := takeOverRetry()
	for {
		cons, err := t.createConsumer(ctx, p, name, next)
		if err == nil {
			return takenOver{cons: cons, next: next, uncertain: uncertain, replayed: len(seen), seeded: len(seed)}, nil
		}
		if ctx.Err() != nil {
			return takenOver{}, err
		}
		pause := retry.pause()
		t.c.log.Warn("creating the partition's consumer failed; retrying", "partition", p, "err", err, "retry_in", pause)
		if !sleep(ctx, pause) {
			return takenOver{}, ctx.Err()
		}
	}
}

// backoff is the pause between one partition's retries: doubled on every failure from min up
// to max, so that a NATS server that answers late is not asked again and again, and drawn from
// the upper half of that at random, so that the partitions a tracker serves, which fail
// together when NATS does, do not retry together.
type backoff struct{ min, max, last time.Duration }

// takeOverRetry is a take-over's: from 1 s up to 15 s.
func takeOverRetry() backoff { return backoff{min: time.Second, max: 15 * time.Second} }

func (b *backoff) pause() time.Duration {
	b.last = min(max(2*b.last, b.min), b.max)
	return b.last/2 + rand.N(b.last/2+1)
}

// createConsumer makes partition p's durable consumer, delivering from stream sequence start.
func (t *Tracker) createConsumer(ctx context.Context, p int, name string, start uint64) (jetstream.Consumer, error) {
	cons, err := t.c.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "BorderWatch tracker " + t.c.cfg.Node,
		FilterSubject: fixSubject(p),
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
		AckPolicy:     jetstream.AckAllPolicy,
		// One batch is in flight per partition, acknowledged once stored; a delivery lost on
		// the way makes serve start the consumer again after what it processed.
		AckWait:       5 * time.Minute,
		MaxAckPending: 4 * t.cfg.Batch,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the partition's consumer: %w", err)
	}
	return cons, nil
}

// restartConsumer starts p's consumer again right after the last message processed, when a
// delivery may have been lost (a NATS server went away with it): with AckAll, acknowledging
// what came after would acknowledge it unprocessed.
func (t *Tracker) restartConsumer(ctx context.Context, p int, name string, start uint64) (jetstream.Consumer, error) {
	if err := t.c.stream.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("deleting the partition's consumer: %w", err)
	}
	return t.createConsumer(ctx, p, name, start)
}

// replay feeds the partition's stored fixes to the Replay sink, from ReplayWindow ago (or the
// floor, if older): every message up to floor, then those up to uncertain while the store holds
// their fixes (the previous owner commits in order, so they are a prefix). It returns the
// sequence to consume from and the vehicles it saw.
func (t *Tracker) replay(ctx context.Context, subj string, floor, uncertain uint64) (uint64, map[string]bool, error) {
	seen := map[string]bool{}
	if uncertain == 0 {
		return floor + 1, seen, nil // the partition never had a message
	}
	// Replayed up to here at least: every message the previous owners processed, even when they
	// acknowledged them all (nothing uncertain), so that the vehicles' state is whole again.
	// uncertain is the partition's last message: the ack floor may lie beyond it (a filtered
	// consumer's floor moves over other partitions' messages), where none of its messages are.
	last := uncertain
	from := time.Now().Add(-t.c.cfg.ReplayWindow)
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from}
	oc, err := t.c.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return 0, nil, fmt.Errorf("replay: %w", err)
	}
	// read is the newest stream sequence delivered: the replay ends once it reaches last, never
	// on an empty fetch alone (a loaded server may answer none within the wait while messages
	// remain, and a replay cut short would leave the vehicles without their zones).
	next, first, read := floor+1, true, uint64(0)
	wait := t.cfg.replayWait
	for {
		batch, err := oc.Fetch(1024, jetstream.FetchMaxWait(wait))
		if err != nil {
			return 0, nil, fmt.Errorf("replay: %w", err)
		}
		var fixes []tracker.Fix
		restart, done, got := false, false, 0
		for m := range batch.Messages() {
			got++
			if restart || done {
				continue // drained: the batch's messages must all be read
			}
			md, err := m.Metadata()
			if err != nil {
				return 0, nil, fmt.Errorf("replay: %w", err)
			}
			seq := md.Sequence.Stream
			read = max(read, seq)
			if first && seq > floor+1 && floor > 0 {
				// The window starts after the floor: what lies between is older than the
				// window and was never processed. Start at the floor instead.
				restart = true
				continue
			}
			first = false
			fs := t.decode(m)
			if seq > floor {
				stored := false
				if seq <= uncertain {
					if stored, err = t.allStored(ctx, fs); err != nil {
						return 0, nil, err
					}
				}
				if !stored {
					done = true
					continue
				}
			}
			fixes = append(fixes, fs...)
			next = seq + 1
		}
		for _, f := range fixes {
			seen[f.VehicleID] = true
		}
		if err := t.submit(ctx, t.cfg.Replay, fixes); err != nil {
			return 0, nil, err
		}
		t.c.m.replayed.Add(float64(len(fixes)))
		if restart {
			cfg.DeliverPolicy, cfg.OptStartTime, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, nil, floor+1
			if oc, err = t.c.stream.OrderedConsumer(ctx, cfg); err != nil {
				return 0, nil, fmt.Errorf("replay: %w", err)
			}
			first = false
			continue
		}
		if done || read >= last {
			return next, seen, nil
		}
		if got == 0 {
			// Nothing came: either nothing in the window is left to read (no message of the
			// partition for ReplayWindow) or the server is slow; its count tells which.
			info, err := oc.Info(ctx)
			switch {
			case err == nil && info.NumPending == 0:
				return next, seen, nil
			case err != nil && (t.c.nc.IsClosed() || ctx.Err() != nil):
				return 0, nil, fmt.Errorf("replay: %w", err)
			}
			wait = min(2*wait, 5*time.Second)
		}
	}
}

// process evaluates and stores the fixes of msgs in order. Messages up to uncertain that the
// store already holds (the previous owner stored them and died before acknowledging) are
// replayed instead; the first that it does not hold ends the uncertainty.
func (t *Tracker) process(ctx context.Context, msgs []jetstream.Msg, uncertain *uint64) error {
	var fresh []tracker.Fix
	for _, m := range msgs {
		fixes := t.decode(m)
		if md, err := m.Metadata(); err == nil && md.Sequence.Stream <= *uncertain {
			stored, err := t.allStored(ctx, fixes)
			if err != nil {
				return err
			}
			if !stored {
				// The previous owner's writes are a prefix of the stream: none after this one.
				*uncertain = 0
			} else {
				if err := t.submit(ctx, t.cfg.Pipeline, fresh); err != nil {
					return err
				}
				fresh = fresh[:0]
				if err := t.submit(ctx, t.cfg.Replay, fixes); err != nil {
					return err
				}
				t.c.m.replayed.Add(float64(len(fixes)))
				continue
			}
		}
		fresh = append(fresh, fixes...)
	}
	if err := t.submit(ctx, t.cfg.Pipeline, fresh); err != nil {
		return err
	}
	t.c.m.consumed.Add(float64(len(fresh)))
	return nil
}

// allStored reports whether the store holds every fix (by device and device time); it asks
// until ctx ends.
func (t *Tracker) allStored(ctx context.Context, fixes []tracker.Fix) (bool, error) {
	for len(fixes) > 0 {
		v := fixes[0].VehicleID
		from, to := fixes[0].Time, fixes[0].Time
		for _, f := range fixes {
			if f.VehicleID == v {
				from, to = minTime(from, f.Time), maxTime(to, f.Time)
			}
		}
		var track []tracker.Fix
		for {
			var err error
			if track, err = t.cfg.Store.Track(ctx, v, from, to.Add(time.Microsecond)); err == nil {
				break
			}
			t.c.log.Warn("looking up fixes the previous owner may have stored", "err", err)
			if !sleep(ctx, time.Second) {
				return false, ctx.Err()
			}
		}
		have := map[string]bool{}
		for _, f := range track {
			have[f.DeviceID+"\x00"+f.Time.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)] = true
		}
		rest := fixes[:0:0]
		for _, f := range fixes {
			if f.VehicleID != v {
				rest = append(rest, f)
			} else if !have[f.DeviceID+"\x00"+f.Time.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)] {
				return false, nil
			}
		}
		fixes = rest
	}
	return true, nil
}

// submit hands fixes to sink until it takes them (a refusal for good counts) or ctx ends.
func (t *Tracker) submit(ctx context.Context, sink tracker.Sink, fixes []tracker.Fix) error {
	if len(fixes) == 0 {
		return nil
	}
	retry := backoff{min: 100 * time.Millisecond, max: 5 * time.Second}
	for {
		err := sink.Submit(ctx, fixes)
		var refused *tracker.RefusedError
		if err == nil || errors.As(err, &refused) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		pause := retry.pause()
		t.c.log.Warn("fixes not stored yet; retrying", "fixes", len(fixes), "err", err, "retry_in", pause)
		if !sleep(ctx, pause) {
			return ctx.Err()
		}
	}
}

// decode reads a message's fixes; a message no gateway made is logged and skipped.
func (t *Tracker) decode(m jetstream.Msg) []tracker.Fix {
	fixes, err := DecodeFixes(m.Data())
	if err != nil {
		t.c.m.undecodable.Inc()
		t.c.log.Error("skipping a message that is not a list of fixes", "subject", m.Subject(), "err", err)
		return nil
	}
	return fixes
}

// pollEvery is how long a partition's consumption pauses after a round that did not fill a
// batch: the delay it adds to a fix (on average half of it) against the requests per second
// every partition costs the NATS servers. As long as the pull each round held open before,
// so that neither the delay nor the requests grew.
const pollEvery = 500 * time.Millisecond

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
