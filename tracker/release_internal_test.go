package tracker

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// keepAll is a Committer that stores everything it is given, each fix once.
type keepAll struct {
	mu    sync.Mutex
	fixes int
}

func (k *keepAll) Commit(_ context.Context, b *Batch) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fixes += len(b.Fixes)
	b.Duplicates = make([]bool, len(b.Fixes))
	return nil
}

// A vehicle whose batch of fixes was acknowledged holds nothing in flight (its newest fix, in
// last, answers a resend): one that sends nothing after its last batch must not keep the batch,
// its submission or a copy of its newest report for ever. A resend of the newest is still
// recognised, attributes and all, and fixes in flight are still held.
func TestBatchReleasedOnceAcknowledged(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	store := &keepAll{}
	p := NewPipeline(PipelineConfig{Store: store, Now: func() time.Time { return now }})
	defer p.Close()
	batch := make([]Fix, 16)
	for i := range batch {
		batch[i] = Fix{VehicleID: "v1", DeviceID: "d1", Time: now.Add(time.Duration(i-20) * time.Second),
			Lat: 42 + float64(i)*1e-4, Lon: 110, Valid: true, Attrs: map[string]any{"signal": i}}
	}
	if err := p.Submit(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	st := p.own.Get("v1")
	st.Lock()
	fl := st.fl
	st.Unlock()
	if fl != nil {
		t.Fatalf("after the acknowledged batch the vehicle holds fixes in flight: %d besides its newest, whose submission is %p", len(fl.keys), fl.newest.pd)
	}
	if err := p.Submit(t.Context(), batch[len(batch)-1:]); err != nil {
		t.Fatal(err)
	}
	if store.fixes != len(batch) {
		t.Errorf("the newest fix resent was stored again: %d fixes stored, want %d", store.fixes, len(batch))
	}
	// The newest resent with an attribute it did not have is not a retransmission.
	more := batch[len(batch)-1]
	more.Attrs = map[string]any{"signal": len(batch) - 1, "alarm": "sos"}
	if err := p.Submit(t.Context(), []Fix{more}); err != nil {
		t.Fatal(err)
	}
	if store.fixes != len(batch)+1 {
		t.Errorf("the newest fix resent with more to say: %d fixes stored, want %d", store.fixes, len(batch)+1)
	}

	// Held while in flight: evaluated, not yet acknowledged, the batch's fixes answer resends.
	st.Lock()
	pd := newPending()
	for i := range 3 {
		f := Fix{VehicleID: "v1", DeviceID: "d1", Time: now.Add(time.Duration(i) * time.Second), Lat: 42, Lon: 110, Valid: true}
		st.note(fixKey{f.DeviceID, f.Time.UnixNano()}, sent{pd: pd, first: reportOf(&f)}, 0)
	}
	st.Unlock()
	release([]*VehicleState{st}, newPending())
	if st.fl == nil || len(st.fl.keys) != 2 || st.fl.newest.pd != pd {
		t.Fatalf("fixes in flight released: %+v, want 2 held besides the newest, whose submission is %p", st.fl, pd)
	}
}

// Fixes in flight noted out of device-time order (a blind-area upload between live reads, a
// second device of the vehicle) are each found again, an acknowledged one is not held, and
// all go once acknowledged.
func TestKeysInFlightOutOfOrder(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var st VehicleState
	inFlight, acked := newPending(), settledPending
	secs := []int{5, 1, 9, 3, 3, 7, 0, 8}
	devs := []string{"d1", "d1", "d1", "d1", "d2", "d1", "d1", "d1"}
	st.Lock()
	defer st.Unlock()
	for i, s := range secs {
		f := Fix{VehicleID: "v1", DeviceID: devs[i], Time: now.Add(time.Duration(s) * time.Second), Lat: 42, Lon: 110, Valid: true}
		pd := inFlight
		if s == 1 {
			pd = acked
		}
		st.note(fixKey{f.DeviceID, f.Time.UnixNano()}, sent{pd: pd, first: reportOf(&f)}, len(secs)-i-1)
	}
	for i, s := range secs {
		k := fixKey{devs[i], now.Add(time.Duration(s) * time.Second).UnixNano()}
		if _, ok := st.lookup(k); ok != (s != 1) {
			t.Errorf("%s at +%ds held: %v, want %v (held unless acknowledged)", devs[i], s, ok, s != 1)
		}
	}
	if !slices.IsSortedFunc(st.fl.keys, func(a, b keyedSent) int { return cmpKey(a.key, b.key) }) {
		t.Errorf("keys not in order: %v", st.fl.keys)
	}
	close(inFlight.done)
	inFlight.acked.Store(true)
	st.fl.sweep(0)
	if st.fl.keys != nil {
		t.Errorf("%d held besides the newest once all are acknowledged, want none", len(st.fl.keys))
	}
}
