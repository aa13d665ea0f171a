package access

import "time"

// SetClock makes s read the time from now: tests move it past windows.
func SetClock(s *Service, now func() time.Time) { s.now = now }
