package sqlitestore

import (
	"testing"
	"time"
)

// TestFlushDue: a head is due at its length or age threshold, each stretched by the
// vehicle's jitter by up to half, so a fleet that connected at once flushes spread out.
func TestFlushDue(t *testing.T) {
	s := &Store{chunkFixes: 256, headAge: 2 * time.Minute}
	now := time.Now()
	for _, tc := range []struct {
		jitter uint8
		fixes  int
		age    time.Duration
		due    bool
	}{
		{0, 255, time.Minute, false},
		{0, 256, time.Minute, true},
		{0, 10, 2 * time.Minute, true},
		{255, 256, time.Minute, false},
		{255, 382, time.Minute, false},
		{255, 383, time.Minute, true},
		{255, 10, 2*time.Minute + 59*time.Second, false},
		{255, 10, 3 * time.Minute, true},
	} {
		se := newSeries("v")
		se.jitter, se.head, se.headSince = tc.jitter, make([]entry, tc.fixes), now.Add(-tc.age)
		if got := s.due(se, now); got != tc.due {
			t.Errorf("jitter %d, %d fixes, %v old: due %v, want %v", tc.jitter, tc.fixes, tc.age, got, tc.due)
		}
	}
}
