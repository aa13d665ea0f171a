//go:build !unix

package sqlitestore

import "os"

// lockFile only opens path where flock is missing: nothing stops a second server there.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
