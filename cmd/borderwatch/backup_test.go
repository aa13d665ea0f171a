package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt808"
)

// TestBackupUnderLoad: JT/T 808 terminals stream over TCP while `borderwatch backup` copies the
// running server's store through its socket; the copy, restored into a new data directory and
// served, holds every fix acknowledged before the backup began, each once.
func TestBackupUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("streams terminals through two servers")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	unlimited := func(dir string) func(*config) {
		return func(c *config) {
			c.DataDir, c.AcceptUnknown = dir, true
			c.ConnFrameRate, c.DeviceFixRate = 0, 0
		}
	}
	a := startApp(t, unlimited(dataDir))
	for p, want := range map[string]os.FileMode{dataDir: os.ModeDir | 0o700, filepath.Join(dataDir, "borderwatch.db.sock"): os.ModeSocket | 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode()&(os.ModeDir|os.ModeSocket|os.ModePerm) != want {
			t.Errorf("%s: %v, %v; want mode %v", p, fi.Mode(), err, want)
		}
	}

	const terminals = 20
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(serial uint16) time.Time { return base.Add(time.Duration(serial) * time.Second) }
	tms := make([]*terminal, terminals)
	for i := range tms {
		tms[i] = dialTerminal(t, a.jt808Ln.Addr().String(), fmt.Sprint(13900000100+i))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, tm := range tms {
		wg.Go(func() {
			for s := uint16(1); s < 3000; s++ {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				if tm.send(s, at(s), 41+float64(i)/100, 109+float64(s)/10000) != nil {
					return
				}
			}
		})
	}
	time.Sleep(time.Second)

	// What the terminals hold acknowledged when the backup begins.
	ackedBefore := make([][]uint16, terminals)
	total := 0
	for i, tm := range tms {
		tm.mu.Lock()
		for s, r := range tm.acks {
			if r == jt808.ResultOK {
				ackedBefore[i] = append(ackedBefore[i], s)
			}
		}
		tm.mu.Unlock()
		total += len(ackedBefore[i])
	}
	backupDir := filepath.Join(t.TempDir(), "backup")
	var out, errs bytes.Buffer
	if err := run(t.Context(), []string{"backup", "--data-dir", dataDir, backupDir}, &out, &errs); err != nil {
		t.Fatalf("backup: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), "from the running server") {
		t.Errorf("backup said %q", out.String())
	}
	time.Sleep(300 * time.Millisecond) // the terminals go on after the backup
	close(stop)
	wg.Wait()
	segs, _ := filepath.Glob(filepath.Join(backupDir, "store.db.wal", "*"))
	if len(segs) == 0 {
		t.Error("the backup holds no fix log segment: the test does not show the log is copied")
	}

	restored := filepath.Join(t.TempDir(), "restored")
	// The audit key is kept apart from backups: the restore is told where it is.
	key := []string{"--audit-key-file", filepath.Join(dataDir, "audit.key")}
	if err := run(t.Context(), append([]string{"restore", "--data-dir", restored}, append(key, backupDir)...), &out, &errs); err != nil {
		t.Fatalf("restore: %v\n%s", err, errs.String())
	}
	// The restored server needs the key the chain was made with: without it, it refuses to start.
	noKey := config{HTTPAddr: "127.0.0.1:0", DataDir: restored, Geofence: "embedded", AdminPassword: testPassword, LogLevel: "warn"}
	if _, err := newApp(t.Context(), noKey, io.Discard); err == nil || !strings.Contains(err.Error(), "audit key") {
		t.Fatalf("a restored server without its audit key: %v, want a refusal naming the key", err)
	}
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "audit.key"), keyBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	b := startApp(t, unlimited(restored))
	missing, twice := 0, 0
	for i, serials := range ackedBefore {
		count := map[int64]int{}
		for _, f := range b.track(fmt.Sprint(13900000100+i), base.Format(time.RFC3339)) {
			count[f.Time.Unix()]++
		}
		for _, s := range serials {
			switch count[at(s).Unix()] {
			case 0:
				missing++
			case 1:
			default:
				twice++
			}
		}
	}
	t.Logf("%d fixes acknowledged before the backup began; %d of them missing after restore, %d stored more than once", total, missing, twice)
	if total == 0 {
		t.Fatal("no fix acknowledged before the backup: the test proves nothing")
	}
	if missing > 0 || twice > 0 {
		t.Errorf("%d acknowledged fixes missing, %d stored more than once", missing, twice)
	}

	// The backup is audited on the server it came from, by the user who took it.
	recs, err := a.store.Audit(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	backups := 0
	for _, r := range recs {
		if r.Action == "store.backup" && r.Result == "ok" && strings.HasPrefix(r.Actor, fmt.Sprintf("local uid %d", os.Getuid())) {
			backups++
		}
	}
	if backups != 1 {
		t.Errorf("%d audit records of the backup, want 1", backups)
	}

	// Restore refuses a data directory in use or not empty, and a store on PostgreSQL.
	for _, args := range [][]string{
		{"restore", "--data-dir", restored, backupDir},
		{"restore", "--force", "--data-dir", restored, backupDir},
		{"restore", "--database-url", "postgres://localhost/x", backupDir},
		{"backup", "--database-url", "postgres://localhost/x", t.TempDir()},
		{"backup", "--data-dir", dataDir, backupDir},
	} {
		if err := run(t.Context(), args, &out, &errs); err == nil {
			t.Errorf("%v succeeded", args)
		} else if strings.Contains(args[2], "postgres") && !strings.Contains(err.Error(), "pg_dump") {
			t.Errorf("%v: %v, want the PostgreSQL route", args, err)
		}
	}

	// With the server stopped, the command copies the store itself.
	a.stop()
	offline := filepath.Join(t.TempDir(), "offline")
	out.Reset()
	if err := run(context.Background(), []string{"backup", "--data-dir", dataDir, offline}, &out, &errs); err != nil || !strings.Contains(out.String(), "with the server stopped") {
		t.Errorf("offline backup: %v, %q", err, out.String())
	}
}

// TestBackupRefusals: a second backup while one is under way is refused, leaving its directory
// empty; an archive naming a file outside the backup directory is refused.
func TestBackupRefusals(t *testing.T) {
	dataDir := t.TempDir()
	a := startApp(t, func(c *config) { c.DataDir = dataDir })
	a.backupMu.Lock()
	dir := filepath.Join(t.TempDir(), "second")
	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"backup", "--data-dir", dataDir, dir}, &out, &errs)
	a.backupMu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "under way") {
		t.Errorf("backup during a backup: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("refused backup left %d files", len(ents))
	}

	for _, name := range []string{"../evil", "/etc/evil", "store.db.wal/../../evil"} {
		var archive bytes.Buffer
		tw := tar.NewWriter(&archive)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: 1})
		tw.Write([]byte("x"))
		tw.Close()
		into := t.TempDir()
		if err := untar(&archive, into); err == nil || !strings.Contains(err.Error(), "unexpected entry") {
			t.Errorf("archive entry %q: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(into, "..", "evil")); err == nil {
			t.Errorf("archive entry %q written outside", name)
		}
	}
}
