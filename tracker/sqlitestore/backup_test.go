package sqlitestore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestBackupRestore: a backup taken while fixes are in chunks, in fix_log rows and in log
// segments, with commits and a flush happening between its two steps, restores to a store
// holding every fix committed before it began, once, with its ID, and the events; a store
// restored from it then loses nothing it commits.
func TestBackupRestore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	defer s.Close()
	mustCommit(t, s, batchOf("a", 0, 100))
	mustCommit(t, s, batchOf("b", 0, 100))
	if err := s.flush(t.Context(), true); err != nil { // chunks
		t.Fatal(err)
	}
	mustCommit(t, s, batchOf("a", 100, 200)) // log segments
	mustCommit(t, s, batchOf("b", 100, 200))
	ev := batchOf("c", 0, 50) // a fix_log row, with its event
	ev.Fixes[3].Seq = 4
	ev.Events = []tracker.Event{{Type: "zone_enter", Time: t0, VehicleID: "c", FixSeq: 4}}
	mustCommit(t, s, ev)
	want := map[string]map[time.Time]int64{}
	for _, v := range []string{"a", "b", "c"} {
		want[v] = trackIDs(t, s, v)
	}

	// Between opening the segments and copying the database: a is written to and flushed
	// (its chunks, with fixes newer than the backup, are in the database copy), b is written
	// to and not flushed (its new fixes are not in the backup).
	s.backupHook = func() {
		mustCommit(t, s, batchOf("a", 200, 300))
		mustCommit(t, s, batchOf("b", 200, 300))
		s.mu.Lock()
		s.series["a"].headSince = time.Now().Add(-2 * time.Hour)
		s.mu.Unlock()
		if err := s.flush(t.Context(), false); err != nil {
			t.Error(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "backup")
	m, err := s.Backup(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) < 2 || m.Files[0].Name != "store.db" {
		t.Fatalf("manifest %+v: want the database and the log", m)
	}
	checkModes(t, dir)

	restored := filepath.Join(t.TempDir(), "restored.db")
	if _, err := Restore(t.Context(), dir, restored, false); err != nil {
		t.Fatal(err)
	}
	r := openAt(t, restored)
	for v, w := range want {
		got := trackIDs(t, r, v)
		for at, id := range w {
			if got[at] != id {
				t.Errorf("%s at %v: ID %d after restore, want %d", v, at, got[at], id)
			}
		}
		if v == "a" && len(got) != 300 || v != "a" && len(got) != len(w) {
			t.Errorf("%s: %d fixes after restore", v, len(got))
		}
	}
	evs, err := r.Events(t.Context(), tracker.EventQuery{VehicleID: "c"})
	if err != nil || len(evs) != 1 || evs[0].FixID != ev.Fixes[3].ID {
		t.Errorf("events after restore = %+v, %v", evs, err)
	}
	// The restored store goes on: what it commits survives a crash, a's chunks from after
	// the backup's log notwithstanding.
	mustCommit(t, r, batchOf("a", 300, 310))
	mustCommit(t, r, batchOf("b", 200, 210))
	crash(t, r)
	r = openAt(t, restored)
	defer r.Close()
	if got := trackIDs(t, r, "a"); len(got) != 310 {
		t.Errorf("a: %d fixes after the restored store's restart, want 310", len(got))
	}
	if got := trackIDs(t, r, "b"); len(got) != 210 {
		t.Errorf("b: %d fixes after the restored store's restart, want 210", len(got))
	}
}

// checkModes: a backup is its owner's alone.
func checkModes(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Error(err)
			return err
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
}

// TestRestoreRefuses: a damaged, padded or hostile backup, a store in the way and a store in
// use are refused, and nothing is touched.
func TestRestoreRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	s := openAt(t, path)
	mustCommit(t, s, batchOf("a", 0, 100))
	good := filepath.Join(t.TempDir(), "backup")
	if _, err := s.Backup(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(t.Context(), good); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("backup into a non-empty directory: %v", err)
	}
	copyBackup := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "copy")
		if err := os.CopyFS(dir, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	var segment string
	m, _ := VerifyBackup(good)
	for _, f := range m.Files {
		if strings.HasPrefix(f.Name, "store.db.wal/") {
			segment = f.Name
		}
	}
	if segment == "" {
		t.Fatal("the backup has no log segment")
	}
	cases := []struct {
		name   string
		edit   func(t *testing.T, dir string)
		target string // "" a new path
		want   string
	}{
		{"byte flipped", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, segment), func(d []byte) []byte { d[len(d)/2] ^= 1; return d })
		}, "", "backup damaged"},
		{"file missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, segment)) }, "", "no such file"},
		{"file added", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "store.db.wal", "00000000000000ff"), []byte("x"), 0o600)
		}, "", "does not list"},
		{"path outside", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "backup.json"), func(d []byte) []byte {
				var m Manifest
				json.Unmarshal(d, &m)
				m.Files = append(m.Files, ManifestFile{Name: "../../etc/borderwatch"})
				d, _ = json.Marshal(m)
				return d
			})
		}, "", "unexpected file"},
		{"store in the way", nil, "existing", "exists"},
		{"store in use", nil, path, "in use"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyBackup(t)
			if tc.edit != nil {
				tc.edit(t, dir)
			}
			target := filepath.Join(t.TempDir(), "bw.db")
			switch tc.target {
			case "existing":
				other := openAt(t, target)
				mustCommit(t, other, batchOf("z", 0, 1))
				other.Close()
			case path:
				target = path
			}
			before, _ := os.ReadDir(filepath.Dir(target))
			_, err := Restore(t.Context(), dir, target, tc.target == path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v, want an error saying %q", err, tc.want)
			}
			after, _ := os.ReadDir(filepath.Dir(target))
			if len(after) > len(before)+1 { // the lock file may be new
				t.Errorf("refused restore left %d files, %d before", len(after), len(before))
			}
		})
	}
	s.Close()

	// With replace, and the store closed, the backup takes the place of what is there.
	other := filepath.Join(t.TempDir(), "bw.db")
	o := openAt(t, other)
	mustCommit(t, o, batchOf("z", 0, 5))
	crash(t, o)
	if _, err := Restore(t.Context(), good, other, true); err != nil {
		t.Fatal(err)
	}
	r := openAt(t, other)
	defer r.Close()
	if got := len(trackIDs(t, r, "a")); got != 100 {
		t.Errorf("a: %d fixes after a replacing restore, want 100", got)
	}
	if got := len(trackIDs(t, r, "z")); got != 0 {
		t.Errorf("z: %d fixes of the replaced store remain", got)
	}
}
