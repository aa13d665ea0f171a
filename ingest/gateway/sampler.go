package gateway

import (
	"sync"
	"time"
)

// Sampler lets one log line a second through and counts the others; the next line reports
// how many were suppressed. A flood of refusals would otherwise flood the log. Its zero value
// is ready.
type Sampler struct {
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// Allow reports whether to log now, and how many lines were suppressed since the last one.
func (s *Sampler) Allow() (ok bool, suppressed int) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.next) {
		s.suppressed++
		return false, 0
	}
	s.next = now.Add(time.Second)
	suppressed, s.suppressed = s.suppressed, 0
	return true, suppressed
}
