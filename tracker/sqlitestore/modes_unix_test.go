//go:build unix

package sqlitestore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFileModes: what the store creates is its owner's alone: files 0600, the log's directory
// 0700, even where the umask would let others read.
func TestFileModes(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0))
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	mustCommit(t, s, batchOf("a", 0, 10))
	if _, err := s.w.Exec(`INSERT INTO meta(key, value) VALUES('mode_test', 1)`); err != nil {
		t.Fatal(err)
	}
	seg := s.log.segPath(s.log.cur)
	want := map[string]os.FileMode{path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600, path + ".lock": 0o600, path + ".wal": 0o700 | os.ModeDir, seg: 0o600}
	for p, mode := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if got := fi.Mode() &^ (os.ModeType &^ os.ModeDir); got != mode {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), got, mode)
		}
	}
	s.Close()
}
