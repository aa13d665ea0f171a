package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// help runs `borderwatch args… -h` and returns what it printed.
func help(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append(args, "-h"), &out, &errOut); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("%v -h: %v", args, err)
	}
	return out.String() + errOut.String()
}

// Each command's help lists the flags that command takes, not every setting of the server.
func TestHelpListsTheCommandsOwnFlags(t *testing.T) {
	demo := help(t, "demo")
	for _, want := range []string{"-speedup", "-seed", "-fresh", "-replay", "-inspect", "borderwatch serve -h"} {
		if !strings.Contains(demo, want) {
			t.Errorf("demo -h lacks %q:\n%s", want, demo)
		}
	}
	for _, cmd := range [][]string{{"demo"}, {"backup"}, {"restore"}, {"zones", "import"}, {"audit", "verify"}} {
		out := help(t, cmd...)
		for _, server := range []string{"-webhook-urls", "-max-conns", "-tls-cert", "-jt808-addr"} {
			if strings.Contains(out, server) {
				t.Errorf("%v -h lists the server's %s:\n%s", cmd, server, out)
			}
		}
	}
	if out := help(t, "backup"); !strings.Contains(out, "-data-dir") || !strings.Contains(out, "-audit-key-file") {
		t.Errorf("backup -h lacks where the store and the audit key are:\n%s", out)
	}
	if out := help(t, "restore"); !strings.Contains(out, "-force") {
		t.Errorf("restore -h lacks -force:\n%s", out)
	}
	if out := help(t, "serve"); !strings.Contains(out, "-webhook-urls") || strings.Contains(out, "-speedup") {
		t.Errorf("serve -h: want the server's settings and not the demo's:\n%s", out)
	}
}

// sim --truth reads the file the demo writes, in $BW_DATA_DIR.
func TestSimTruthWhereTheDemoWritesIt(t *testing.T) {
	if out := help(t, "sim"); !strings.Contains(out, `"data/truth.json"`) {
		t.Errorf("sim -h: want the default data/truth.json:\n%s", out)
	}
	t.Setenv("BW_DATA_DIR", "/var/lib/bw-demo")
	if out := help(t, "sim"); !strings.Contains(out, `"/var/lib/bw-demo/truth.json"`) {
		t.Errorf("sim -h with BW_DATA_DIR: want /var/lib/bw-demo/truth.json:\n%s", out)
	}
}

// --fresh empties what the demo keeps of its run and nothing else, and never a PostgreSQL
// database.
func TestDemoFresh(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"demo-admin-password", "audit.key", "notes.txt"}
	gone := []string{"borderwatch.db", "borderwatch.db-wal", "borderwatch.db.wal", demoTruthFile, demoStateFile, "audit-anchors.log"}
	for _, f := range append(keep, gone...) {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := freshDemo(config{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, f := range keep {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v, want it kept", f, err)
		}
	}
	for _, f := range gone {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s kept, want it removed", f)
		}
	}
	if err := freshDemo(config{DataDir: dir, DatabaseURL: "postgres://bw@db/bw"}); err == nil {
		t.Error("--fresh with a PostgreSQL database accepted")
	}
}

// --fresh refuses while a server runs on the data directory.
func TestDemoFreshWhileServing(t *testing.T) {
	a := startApp(t, nil)
	if err := freshDemo(a.cfg); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("freshDemo of a running server's directory: %v", err)
	}
	if _, err := os.Stat(sqlitePath(a.cfg)); err != nil {
		t.Errorf("the running server's store: %v", err)
	}
}

func TestCrossingGapMaxNotNegative(t *testing.T) {
	cfg := config{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), Geofence: "embedded", CrossingGapMax: -time.Minute}
	if _, err := newApp(context.Background(), cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "BW_CROSSING_GAP_MAX") {
		t.Errorf("newApp with a negative BW_CROSSING_GAP_MAX: %v", err)
	}
}

// A data directory with a demo run but no simulator state (an older demo) is not run on: its
// vehicles cannot be resumed, and new ones begun a day back would meet their fixes.
func TestDemoWithoutStateNeedsFresh(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, demoTruthFile), []byte(`{"injections":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"demo", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--jt808-addr", "", "--gt06-addr", "", "--jt600-addr", "", "--osmand-addr", ""}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--fresh") {
		t.Errorf("demo on a run without state: %v", err)
	}
	for _, bad := range [][]string{{"--speedup", "0.5"}, {"--replay", "-1h"}} {
		if err := run(context.Background(), append([]string{"demo", "--data-dir", t.TempDir()}, bad...), &out, &errOut); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("demo %v: %v", bad, err)
		}
	}
}

func TestRuleSettingsChecked(t *testing.T) {
	for _, cfg := range []config{{WeightTolerancePct: -1}, {ScaleTolerancePct: -0.5}, {WeighingGrace: -time.Minute}, {EmergencyWindow: 13 * time.Hour}, {CargoTolerance: "煤=3,铜精矿"}, {CargoTolerance: "煤=0"}, {CargoTolerance: "=2"},
		{CheckEvery: 500 * time.Millisecond}, {CheckEvery: 2 * time.Minute}, {CheckEvery: -time.Second}} {
		cfg.HTTPAddr, cfg.DataDir, cfg.Geofence = "127.0.0.1:0", t.TempDir(), "embedded"
		if _, err := newApp(context.Background(), cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "BW_") {
			t.Errorf("newApp with %+v: %v", cfg, err)
		}
	}
	got, err := cargoTolerance(" 煤 = 3 , 铜精矿=1.5,")
	if err != nil || len(got) != 2 || got["煤"] != 3 || got["铜精矿"] != 1.5 {
		t.Errorf("cargoTolerance = %v, %v", got, err)
	}
}
