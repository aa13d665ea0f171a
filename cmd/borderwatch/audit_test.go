package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
)

// TestAuditKeyAndAnchors: the first start creates the audit key 0600 in the data directory, the
// chain's head is anchored at shutdown, and `audit verify` checks the log with the key and the
// anchors; with another key it fails saying so, and it never makes a key of its own.
func TestAuditKeyAndAnchors(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, func(c *config) { c.DataDir = dir })
	a.mustCall("GET", "/api/v1/positions", nil, nil, 200)
	a.stop()

	fi, err := os.Stat(filepath.Join(dir, "audit.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit key %v, %v; want mode 0600", fi, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "audit-anchors.log"))
	if err != nil {
		t.Fatal(err)
	}
	var anchor access.Anchor
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &anchor); err != nil || anchor.Seq != 2 { // login, positions.read
		t.Fatalf("last anchor %+v, %v in:\n%s", anchor, err, b)
	}

	verify := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := run(t.Context(), append([]string{"audit", "verify", "--data-dir", dir}, args...), &out, &errs)
		return out.String() + errs.String(), err
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "audit chain intact: 2 records") {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
	other := strings.Repeat("ab", 32)
	if out, err := verify("--audit-key", other); err == nil || !strings.Contains(out, "wrong audit key") {
		t.Errorf("audit verify with another key: %v\n%s", err, out)
	}
	missing := filepath.Join(t.TempDir(), "none.key")
	if out, err := verify("--audit-key-file", missing); err == nil {
		t.Errorf("audit verify without a key file passed:\n%s", out)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("audit verify created a key")
	}
}
