package sqlitestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// A backup is a directory: the database as of one moment (backupDB), the fix log's segments
// as they were at that moment (backupLog/), and backupManifest listing every file with its
// size and SHA-256. Restore puts the files in place of a store; its Open replays the log
// over the database as after a crash.
const (
	backupDB       = "store.db"
	backupLog      = "store.db.wal"
	backupManifest = "backup.json"
	backupFormat   = 1
)

// Manifest describes a backup.
type Manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	// LSN is the first log record not in the backup: every batch committed before the backup
	// began is in it.
	LSN   uint64         `json:"lsn"`
	Files []ManifestFile `json:"files"` // the database first, then the log's segments
}

// ManifestFile is one file of a backup; Name is relative to the backup's directory, with "/".
type ManifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// backupName is what a file of a backup may be called.
var backupName = regexp.MustCompile(`^(store\.db|store\.db\.wal/[0-9a-f]{16})$`)

// Backup writes a copy of the store into dir (created if missing, else it must be empty) while
// the store runs. Every batch committed before Backup began is in the copy:
//
//   - Under commitMu, between two Commits, it opens every log segment and notes how long the
//     current one is. A Commit that returned before has its record in those bytes, or in
//     SQLite if it carried events; a segment a flush deletes afterwards stays readable through
//     the open file.
//   - It then copies the database with VACUUM INTO, one read transaction: whatever SQLite
//     holds at that later moment, meta.flushed_lsn included. A segment deleted before the
//     segments were opened held only records below a flushed LSN committed before, so
//     below this copy's: every record the copy's Open will replay is in the copied segments.
//
// Records written after the segments were opened are not copied; fixes the database copy has
// in chunks from after that moment are (recovery never lets a new LSN fall at or below a
// flushed one, so they are not in the way). Commits go on meanwhile, waiting only while the
// segments are opened.
func (s *Store) Backup(ctx context.Context, dir string) (Manifest, error) {
	if err := emptyDir(dir); err != nil {
		return Manifest{}, err
	}
	type segment struct {
		f    *os.File
		name string
		size int64
	}
	var segs []segment
	defer func() {
		for _, sg := range segs {
			sg.f.Close()
		}
	}()
	s.commitMu.Lock()
	if s.closed {
		s.commitMu.Unlock()
		return Manifest{}, errClosed
	}
	m := Manifest{Format: backupFormat, Created: time.Now().UTC(), LSN: s.nextLSN}
	firsts := s.log.closed
	if s.log.f != nil {
		firsts = append(firsts[:len(firsts):len(firsts)], s.log.cur)
	}
	var err error
	for _, first := range firsts {
		var f *os.File
		if f, err = os.Open(s.log.segPath(first)); err != nil {
			break
		}
		size := int64(-1) // a closed segment: to its end
		if first == s.log.cur && s.log.f != nil {
			size = s.log.size
		}
		segs = append(segs, segment{f, fmt.Sprintf("%016x", first), size})
	}
	s.commitMu.Unlock()
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	if s.backupHook != nil {
		s.backupHook()
	}

	if err := os.Mkdir(filepath.Join(dir, backupLog), 0o700); err != nil {
		return Manifest{}, err
	}
	var files []ManifestFile
	for _, sg := range segs {
		var src io.Reader = sg.f
		if sg.size >= 0 {
			src = io.LimitReader(sg.f, sg.size)
		}
		mf, err := writeBackupFile(dir, backupLog+"/"+sg.name, src)
		if err != nil {
			return Manifest{}, err
		}
		files = append(files, mf)
	}
	db := filepath.Join(dir, backupDB)
	// SQLite would create the file 0644; VACUUM INTO takes an empty one.
	f, err := os.OpenFile(db, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Manifest{}, err
	}
	f.Close()
	if _, err := s.r.ExecContext(ctx, "VACUUM INTO ?", db); err != nil {
		return Manifest{}, fmt.Errorf("backup: copying the database: %w", err)
	}
	if err := syncFile(db); err != nil {
		return Manifest{}, err
	}
	mf, err := hashFile(dir, backupDB)
	if err != nil {
		return Manifest{}, err
	}
	m.Files = append([]ManifestFile{mf}, files...)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if _, err := writeBackupFile(dir, backupManifest, bytes.NewReader(b)); err != nil {
		return Manifest{}, err
	}
	for _, d := range []string{filepath.Join(dir, backupLog), dir} {
		if err := syncDir(d); err != nil {
			return Manifest{}, err
		}
	}
	return m, nil
}

// emptyDir makes dir (0700) if it is missing, and fails if it holds anything.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// writeBackupFile writes src to dir/name (0600), synced, and returns its manifest entry.
func writeBackupFile(dir, name string, src io.Reader) (ManifestFile, error) {
	f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return ManifestFile{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ManifestFile{}, fmt.Errorf("backup: %s: %w", name, err)
	}
	return ManifestFile{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// hashFile returns the manifest entry of dir/name as the file is.
func hashFile(dir, name string) (ManifestFile, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return ManifestFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return ManifestFile{}, fmt.Errorf("backup: %s: %w", name, err)
	}
	return ManifestFile{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// VerifyBackup reads the manifest of the backup in dir and checks every file it lists, and
// that it lists every file there is: a backup is whole and unchanged or it is refused.
func VerifyBackup(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, backupManifest))
	if err != nil {
		return m, fmt.Errorf("not a BorderWatch backup: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("backup manifest: %w", err)
	}
	if m.Format != backupFormat {
		return m, fmt.Errorf("backup format %d: this version reads format %d", m.Format, backupFormat)
	}
	if len(m.Files) == 0 || m.Files[0].Name != backupDB {
		return m, errors.New("backup manifest: the database is missing")
	}
	listed := map[string]bool{}
	for _, mf := range m.Files {
		if !backupName.MatchString(mf.Name) || listed[mf.Name] {
			return m, fmt.Errorf("backup manifest: unexpected file %q", mf.Name)
		}
		listed[mf.Name] = true
		got, err := hashFile(dir, mf.Name)
		if err != nil {
			return m, err
		}
		if got != mf {
			return m, fmt.Errorf("backup damaged: %s has %d bytes with SHA-256 %s, the manifest says %d bytes with %s", mf.Name, got.Size, got.SHA256, mf.Size, mf.SHA256)
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err == nil && rel != backupManifest && !listed[filepath.ToSlash(rel)] {
			err = fmt.Errorf("backup holds %s, which its manifest does not list", rel)
		}
		return err
	})
	return m, err
}

// Restore puts the backup in dir in place of the store at path, after VerifyBackup. A store
// already at path is refused unless replace is set, and so is one that is open (Restore takes
// its lock). The files are copied beside their places and renamed into them; the next Open
// replays the backup's log as after a crash.
func Restore(ctx context.Context, dir, path string, replace bool) (Manifest, error) {
	m, err := VerifyBackup(dir)
	if err != nil {
		return m, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return m, err
	}
	lock, err := lockFile(abs + ".lock")
	if err != nil {
		return m, fmt.Errorf("sqlite %s: %w", abs, err)
	}
	defer lock.Close()
	// A WAL or shared-memory file left from another database would be applied to this one.
	stale := []string{abs, abs + "-wal", abs + "-shm", abs + ".wal"}
	for _, p := range stale {
		if _, err := os.Lstat(p); err == nil && !replace {
			return m, fmt.Errorf("%s exists: restoring would replace the store there", p)
		}
	}
	tmpDB, tmpLog := abs+".restoring", abs+".wal.restoring"
	for _, p := range []string{tmpDB, tmpLog} {
		if err := os.RemoveAll(p); err != nil {
			return m, err
		}
	}
	if err := os.Mkdir(tmpLog, 0o700); err != nil {
		return m, err
	}
	for _, mf := range m.Files {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		dst := filepath.Join(tmpLog, filepath.Base(mf.Name))
		if mf.Name == backupDB {
			dst = tmpDB
		}
		if err := copyFile(filepath.Join(dir, filepath.FromSlash(mf.Name)), dst); err != nil {
			return m, fmt.Errorf("restore: %w", err)
		}
	}
	if err := syncDir(tmpLog); err != nil {
		return m, err
	}
	for _, p := range stale {
		if err := os.RemoveAll(p); err != nil {
			return m, err
		}
	}
	if err := os.Rename(tmpLog, abs+".wal"); err != nil {
		return m, err
	}
	if err := os.Rename(tmpDB, abs); err != nil {
		return m, err
	}
	return m, syncDir(filepath.Dir(abs))
}

// copyFile copies src to a new file dst (0600), synced.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = writeBackupFile(filepath.Dir(dst), filepath.Base(dst), in)
	return err
}
