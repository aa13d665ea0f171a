package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var updateEnvFile = flag.Bool("update", false, "rewrite deploy/systemd/borderwatch.env from the flags")

const (
	envFilePath = "../../deploy/systemd/borderwatch.env"
	unitPath    = "../../deploy/systemd/borderwatch.service"
)

// serviceEnv is what the systemd unit sets before it reads the environment file.
var serviceEnv = map[string]string{"BW_DATA_DIR": "/var/lib/borderwatch"}

const envFileHeader = `# BorderWatch server settings, read by borderwatch.service when it starts.
#
# Every setting is here, commented out, with the value the service uses while it stays so.
# Uncomment and change a line, then: systemctl restart borderwatch
# The same settings are flags of 'borderwatch serve' (borderwatch serve -h).
#
# The service may write only in /var/lib/borderwatch. A place elsewhere that the server writes
# (another BW_DATA_DIR, BW_AUDIT_ANCHOR_FILE, a BW_AUDIT_KEY_FILE it creates) needs adding with
# 'systemctl edit borderwatch' as ReadWritePaths=/the/directory.
#
# This file can hold secrets (a database password in BW_DATABASE_URL, BW_AUDIT_KEY,
# BW_WEBHOOK_SECRET): keep it readable by root only; systemd reads it before it starts the server
# as the user borderwatch.
#
# Generated from cmd/borderwatch/config.go by
#   go test ./cmd/borderwatch -run TestServiceEnvFile -update
`

// envVarInUsage is how bindConfig ends every flag's help text.
var envVarInUsage = regexp.MustCompile(`^(.*) \(\$(BW_[A-Z0-9_]+)\)$`)

// renderEnvFile lists every flag of serve as a commented-out variable with its help text and
// the default the service sees.
func renderEnvFile(t *testing.T) string {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg config
	lookup := func(k string) (string, bool) { v, ok := serviceEnv[k]; return v, ok }
	if err := bindConfig(fs, &cfg, false, lookup); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(envFileHeader)
	fs.VisitAll(func(f *flag.Flag) {
		m := envVarInUsage.FindStringSubmatch(f.Usage)
		if m == nil {
			t.Errorf("flag --%s names no BW_ variable in its help %q", f.Name, f.Usage)
			return
		}
		fmt.Fprintf(&b, "\n# %s (--%s)\n#%s=%s\n", m[1], f.Name, m[2], f.DefValue)
	})
	return b.String()
}

// TestServiceEnvFile keeps the packaged environment file in step with the flags: every
// variable config.go knows is in it, with its current help and default.
func TestServiceEnvFile(t *testing.T) {
	want := renderEnvFile(t)
	if *updateEnvFile {
		if err := os.WriteFile(envFilePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(envFilePath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("deploy/systemd/borderwatch.env is not what config.go's flags make; run\n  go test ./cmd/borderwatch -run TestServiceEnvFile -update\nwant:\n%s", want)
	}
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	vars := regexp.MustCompile(`"(BW_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(vars) < 20 {
		t.Fatalf("found only %d BW_ variables in config.go", len(vars))
	}
	for _, v := range vars {
		if !strings.Contains(string(got), "\n#"+v[1]+"=") {
			t.Errorf("%s is not in deploy/systemd/borderwatch.env", v[1])
		}
	}
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range serviceEnv {
		if !strings.Contains(string(unit), "\nEnvironment="+k+"="+v+"\n") {
			t.Errorf("the unit does not set %s=%s, which the environment file says it does", k, v)
		}
	}
}
