package access

import "sync"

// SessionWatcher hears at once of sessions ended before their time (logout, a user changed,
// disabled or deleted), so that what a session holds open (a live WebSocket) closes with it.
// Its methods must not block. Changes made by another server on the same store are not heard
// here: a holder also re-checks its session (CheckSession) now and then.
type SessionWatcher interface {
	// SessionEnded: the session stored under tokenHash ended.
	SessionEnded(tokenHash string)
	// UserSessionsEnded: every session of username ended.
	UserSessionsEnded(username string)
}

type watchers struct {
	mu   sync.Mutex
	list []SessionWatcher
}

// Watch adds w to those told of ended sessions.
func (s *Service) Watch(w SessionWatcher) {
	s.watchers.mu.Lock()
	s.watchers.list = append(s.watchers.list, w)
	s.watchers.mu.Unlock()
}

func (s *Service) sessionEnded(tokenHash string) {
	s.watchers.mu.Lock()
	defer s.watchers.mu.Unlock()
	for _, w := range s.watchers.list {
		w.SessionEnded(tokenHash)
	}
}

func (s *Service) userSessionsEnded(username string) {
	s.watchers.mu.Lock()
	defer s.watchers.mu.Unlock()
	for _, w := range s.watchers.list {
		w.UserSessionsEnded(username)
	}
}
