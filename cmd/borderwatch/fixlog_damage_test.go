package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFixLogDamageIsReported: a server killed with its fixes in the fix log, one record of
// which is then damaged on disk, comes back with every other fix, stays ready, and says on
// /readyz, in its metrics and in the audit log how many records were lost.
func TestFixLogDamageIsReported(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	httpAddr, _ := freeAddr()
	jtAddr, _ := freeAddr()
	srv := startChild(t, dir, httpAddr, jtAddr)

	// One report a commit: each record of the log holds one fix.
	const reports = 200
	const phone = "13900000077"
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(s uint16) time.Time { return base.Add(time.Duration(s) * time.Second) }
	tm := dialTerminal(t, jtAddr, phone)
	for s := uint16(1); s <= reports; s++ {
		tm.report(s, at(s), 41.5, 109.5+float64(s)/10000)
		tm.waitAcked([]uint16{s}, 10*time.Second)
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()

	// Damage the payload of the 100th record (report 100).
	segs, err := filepath.Glob(filepath.Join(dir, "borderwatch.db.wal", strings.Repeat("?", 16)))
	if err != nil || len(segs) != 1 {
		t.Fatalf("log segments %v, %v; want one", segs, err)
	}
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	off := 16 // the segment's header; a record's header is 20 bytes, its length at 4
	for range 99 {
		off += 20 + int(binary.LittleEndian.Uint32(data[off+4:]))
	}
	data[off+20+3] ^= 0x55
	if err := os.WriteFile(segs[0], data, 0o600); err != nil {
		t.Fatal(err)
	}

	srv = startChild(t, dir, httpAddr, jtAddr)
	a := &testApp{t: t, base: "http://" + httpAddr}
	code, body := getStatus(t, a.base+"/readyz")
	if code != 200 || !strings.Contains(body, "fix log damaged at startup: 1 records lost") {
		t.Errorf("/readyz = %d %s, want 200 with the loss", code, body)
	}
	if v := metricValue(t, a, "bw_sqlite_fixlog_corrupt_records_total"); v != 1 {
		t.Errorf("bw_sqlite_fixlog_corrupt_records_total = %v, want 1", v)
	}
	a.token = a.login("admin", testPassword)
	stored := map[int64]bool{}
	for _, f := range a.track(phone, base.Format(time.RFC3339)) {
		stored[f.Time.Unix()] = true
	}
	for s := uint16(1); s <= reports; s++ {
		if stored[at(s).Unix()] != (s != 100) {
			t.Errorf("report %d: stored %v", s, stored[at(s).Unix()])
		}
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.cmd.Wait()

	st, err := openStore(t.Context(), config{DataDir: dir}, newLogger(os.Stderr, "error"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Audit(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		found = found || r.Action == "store.fixlog_damaged" && strings.Contains(string(r.Detail), `"records":1`)
	}
	if !found {
		t.Errorf("no audit record of the damage in %+v", recs)
	}
}
