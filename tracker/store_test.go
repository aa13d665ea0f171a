package tracker_test

import (
	"slices"
	"testing"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestEventFixes: events name their fixes by Seq, in any order; one naming a fix outside the
// batch is an error.
func TestEventFixes(t *testing.T) {
	b := &tracker.Batch{Fixes: []tracker.Fix{{Seq: 7}, {Seq: 3}, {Seq: 9}}}
	if idx, err := b.EventFixes(); idx != nil || err != nil {
		t.Errorf("no events: %v, %v; want nil, nil", idx, err)
	}
	b.Events = []tracker.Event{{FixSeq: 3}, {}, {FixSeq: 9}, {FixSeq: 7}, {FixSeq: 9}}
	idx, err := b.EventFixes()
	if want := []int{1, -1, 2, 0, 2}; err != nil || !slices.Equal(idx, want) {
		t.Errorf("EventFixes = %v, %v; want %v", idx, err, want)
	}
	b.Events = append(b.Events, tracker.Event{FixSeq: 4})
	if _, err := b.EventFixes(); err == nil {
		t.Error("an event naming a fix outside the batch resolved")
	}
}
