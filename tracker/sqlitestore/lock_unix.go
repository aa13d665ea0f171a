//go:build unix

package sqlitestore

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path (created if missing), held until the returned file
// is closed or the process ends: two servers on one database would both append to its fix log.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.New("in use by another process: stop the server using this data directory first (while it runs, zones and the audit check are in its API)")
		}
		return nil, err
	}
	return f, nil
}
