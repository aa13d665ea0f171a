package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runScript runs one of the install scripts as dpkg or rpm would, with getent, useradd, install
// and systemctl replaced by stubs that record their arguments; userExists and groupExists are
// what getent finds. It returns the script's output and the commands it ran.
func runScript(t *testing.T, script string, userExists, groupExists bool, args ...string) (out string, ran []string) {
	t.Helper()
	stubs := t.TempDir()
	log := filepath.Join(stubs, "log")
	status := func(exists bool) string {
		if exists {
			return "0"
		}
		return "2"
	}
	for name, body := range map[string]string{
		"getent":    `case "$1" in passwd) exit ` + status(userExists) + ` ;; group) exit ` + status(groupExists) + ` ;; esac; exit 2`,
		"useradd":   "",
		"install":   "",
		"systemctl": "",
		"nologin":   "",
	} {
		stub := "#!/bin/sh\necho \"" + name + " $*\" >> " + log + "\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(stubs, name), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+stubs+":"+os.Getenv("PATH"))
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(script), args, err, b)
	}
	logged, _ := os.ReadFile(log)
	for _, line := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
		if line != "" && !strings.HasPrefix(line, "systemctl") { // systemctl runs only under systemd
			ran = append(ran, line)
		}
	}
	return string(b), ran
}

// TestPostInstall follows postinstall.sh through dpkg's and rpm's ways of calling it: a first
// install creates the user and the data directory and says how to start and where the password
// is; an upgrade says nothing; dpkg's error-unwinding calls do nothing.
func TestPostInstall(t *testing.T) {
	script := filepath.Join(root, "deploy/package/postinstall.sh")
	const (
		createUser  = "useradd --system --user-group --home-dir /var/lib/borderwatch --no-create-home --shell "
		joinGroup   = "useradd --system --gid borderwatch --home-dir /var/lib/borderwatch --no-create-home --shell "
		makeDataDir = "install -d -o borderwatch -g borderwatch -m 0700 /var/lib/borderwatch"
	)
	for _, tc := range []struct {
		name              string
		args              []string
		user, group       bool
		wantUseradd       string // prefix; "" for none
		wantDir, wantNote bool
	}{
		{"dpkg first install", []string{"configure", ""}, false, false, createUser, true, true},
		{"dpkg first install, group already there", []string{"configure", ""}, false, true, joinGroup, true, true},
		{"dpkg first install, user already there", []string{"configure", ""}, true, true, "", true, true},
		{"dpkg upgrade", []string{"configure", "1.1.0"}, true, true, "", true, false},
		{"dpkg abort-upgrade", []string{"abort-upgrade", "1.1.0"}, true, true, "", false, false},
		{"rpm first install", []string{"1"}, false, false, createUser, true, true},
		{"rpm upgrade", []string{"2"}, true, true, "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, ran := runScript(t, script, tc.user, tc.group, tc.args...)
			var useradd, dir bool
			for _, c := range ran {
				switch {
				case strings.HasPrefix(c, "useradd"):
					useradd = true
					if tc.wantUseradd == "" || !strings.HasPrefix(c, tc.wantUseradd) || !strings.HasSuffix(c, "borderwatch") {
						t.Errorf("ran %q, want %q…borderwatch", c, tc.wantUseradd)
					}
				case c == makeDataDir:
					dir = true
				case strings.HasPrefix(c, "getent"), strings.HasPrefix(c, "nologin"):
				default:
					t.Errorf("unexpected command %q", c)
				}
			}
			if tc.wantUseradd != "" && !useradd {
				t.Errorf("the user was not created; ran %q", ran)
			}
			if dir != tc.wantDir {
				t.Errorf("data directory made: %v, want %v; ran %q", dir, tc.wantDir, ran)
			}
			note := strings.Contains(out, "systemctl enable --now borderwatch") &&
				strings.Contains(out, "/var/lib/borderwatch/initial-admin-password") &&
				strings.Contains(out, "journalctl -u borderwatch")
			if note != tc.wantNote || (!tc.wantNote && strings.TrimSpace(out) != "") {
				t.Errorf("printed %q; want the note on how to start and where the password is: %v", out, tc.wantNote)
			}
		})
	}
}

// TestRemoveScripts: every way dpkg and rpm call the removal scripts succeeds, and none touches
// the user or the data.
func TestRemoveScripts(t *testing.T) {
	for _, script := range []string{"preremove.sh", "postremove.sh"} {
		for _, args := range [][]string{{"remove"}, {"upgrade", "1.2.0"}, {"purge"}, {"failed-upgrade", "1.2.0"}, {"0"}, {"1"}} {
			out, ran := runScript(t, filepath.Join(root, "deploy/package", script), true, true, args...)
			if len(ran) > 0 || strings.TrimSpace(out) != "" {
				t.Errorf("%s %v ran %q and printed %q", script, args, ran, out)
			}
		}
	}
}
