package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const root = "../.."

// fakeBinary writes an ELF header for machine, enough for checkBinary and nfpm; interp adds the
// program header of a dynamically linked executable.
func fakeBinary(t *testing.T, path string, machine elf.Machine, interp bool) {
	t.Helper()
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Ehsize: 64, Phentsize: 56, Shentsize: 64,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var b bytes.Buffer
	if interp {
		h.Phoff, h.Phnum = 64, 1
	}
	binary.Write(&b, binary.LittleEndian, h)
	if interp {
		binary.Write(&b, binary.LittleEndian, elf.Prog64{Type: uint32(elf.PT_INTERP)})
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
}

// output runs a command and returns its standard output, failing the test on an error.
func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// TestPackages builds the six packages and reads them back with the tools that install them:
// dpkg-deb and rpm list the binary, the unit and the environment file, with their modes, the
// environment file as a configuration file an upgrade does not overwrite, each architecture
// under its own name, and the install scripts.
func TestPackages(t *testing.T) {
	dist := t.TempDir()
	const version = "1.2.0+git20260102030405.975e7c7abcde"
	for arch, a := range arches {
		fakeBinary(t, filepath.Join(dist, "linux_"+arch, "borderwatch"), a.machine, false)
	}
	for _, arch := range []string{"amd64", "arm64", "loong64"} {
		for _, format := range formats {
			path, err := build(root, dist, version, arch, format)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dist, "borderwatch_"+version+"_"+arch+"."+format); path != want {
				t.Errorf("wrote %s, want %s", path, want)
			}
		}
	}
	wantFiles := map[string]string{ // path: mode
		"/usr/bin/borderwatch":                        "-rwxr-xr-x",
		"/usr/lib/systemd/system/borderwatch.service": "-rw-r--r--",
		"/etc/borderwatch/borderwatch.env":            "-rw-------",
	}
	const env = "/etc/borderwatch/borderwatch.env"

	t.Run("deb", func(t *testing.T) {
		if _, err := exec.LookPath("dpkg-deb"); err != nil {
			t.Skip("dpkg-deb is not installed: the .deb packages were built but not read back")
		}
		for arch := range arches {
			deb := filepath.Join(dist, "borderwatch_"+version+"_"+arch+".deb")
			if got := strings.TrimSpace(output(t, "dpkg-deb", "-f", deb, "Architecture")); got != arch {
				t.Errorf("%s: Architecture %q, want %q", deb, got, arch)
			}
			if got := strings.TrimSpace(output(t, "dpkg-deb", "-f", deb, "Version")); got != version {
				t.Errorf("%s: Version %q, want %q", deb, got, version)
			}
			listed := map[string]string{}
			for _, line := range strings.Split(output(t, "dpkg-deb", "-c", deb), "\n") {
				if f := strings.Fields(line); len(f) == 6 {
					listed[strings.TrimPrefix(f[5], ".")] = f[0]
				}
			}
			for path, mode := range wantFiles {
				if listed[path] != mode {
					t.Errorf("%s: %s listed as %q, want %q", deb, path, listed[path], mode)
				}
			}
			if got := strings.TrimSpace(output(t, "dpkg-deb", "-I", deb, "conffiles")); got != env {
				t.Errorf("%s: conffiles %q, want %q", deb, got, env)
			}
			if got := output(t, "dpkg-deb", "-I", deb, "postinst"); !strings.Contains(got, "useradd --system") {
				t.Errorf("%s: postinst does not create the user:\n%s", deb, got)
			}
		}
	})

	t.Run("rpm", func(t *testing.T) {
		if _, err := exec.LookPath("rpm"); err != nil {
			t.Skip("rpm is not installed (apt-get install rpm): the .rpm packages were built but not read back")
		}
		for arch, a := range arches {
			rpm := filepath.Join(dist, "borderwatch_"+version+"_"+arch+".rpm")
			if got := output(t, "rpm", "-qp", "--queryformat", "%{ARCH} %{VERSION}", rpm); got != a.rpm+" "+version {
				t.Errorf("%s: arch and version %q, want %q", rpm, got, a.rpm+" "+version)
			}
			listed := map[string][2]string{}
			for _, line := range strings.Split(output(t, "rpm", "-qp", "--queryformat", `[%{FILEMODES:perms} %{FILEFLAGS:fflags} %{FILENAMES}\n]`, rpm), "\n") {
				if f := strings.Fields(line); len(f) == 3 {
					listed[f[2]] = [2]string{f[0], f[1]}
				} else if len(f) == 2 {
					listed[f[1]] = [2]string{f[0], ""}
				}
			}
			for path, mode := range wantFiles {
				if listed[path][0] != mode {
					t.Errorf("%s: %s listed as %q, want %q", rpm, path, listed[path][0], mode)
				}
			}
			// c: %config, n: noreplace, so that an upgrade leaves the administrator's settings.
			if listed[env][1] != "cn" {
				t.Errorf("%s: %s has flags %q, want cn (config, noreplace)", rpm, env, listed[env][1])
			}
			if got := output(t, "rpm", "-qp", "--scripts", rpm); !strings.Contains(got, "useradd --system") || !strings.Contains(got, "systemctl disable --now") {
				t.Errorf("%s: scripts do not create the user and stop the service:\n%s", rpm, got)
			}
		}
	})
}

// TestBuildRefuses: what must never become a package.
func TestBuildRefuses(t *testing.T) {
	dist := t.TempDir()
	fakeBinary(t, filepath.Join(dist, "linux_amd64", "borderwatch"), elf.EM_X86_64, false)
	fakeBinary(t, filepath.Join(dist, "linux_arm64", "borderwatch"), elf.EM_X86_64, false)     // built for the wrong machine
	fakeBinary(t, filepath.Join(dist, "linux_loong64", "borderwatch"), elf.EM_LOONGARCH, true) // dynamically linked
	for _, tc := range []struct {
		name, version, arch, format string
	}{
		{"a version that climbs out of dist", "../../../tmp/evil", "amd64", "deb"},
		{"a version with a slash", "1.0/2", "amd64", "deb"},
		{"a version that is not one", "latest", "amd64", "rpm"},
		{"an architecture not packaged", "1.0.0", "sparc64", "deb"},
		{"a format not built", "1.0.0", "amd64", "apk"},
		{"a binary of another architecture", "1.0.0", "arm64", "deb"},
		{"a dynamically linked binary", "1.0.0", "loong64", "rpm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if path, err := build(root, dist, tc.version, tc.arch, tc.format); err == nil {
				t.Errorf("built %s", path)
			}
		})
	}
	t.Run("no binary", func(t *testing.T) {
		if path, err := build(root, t.TempDir(), "1.0.0", "amd64", "deb"); err == nil {
			t.Errorf("built %s", path)
		}
	})
	t.Run("not an executable", func(t *testing.T) {
		d := t.TempDir()
		os.MkdirAll(filepath.Join(d, "linux_amd64"), 0o755)
		os.WriteFile(filepath.Join(d, "linux_amd64", "borderwatch"), []byte("#!/bin/sh\necho hello\n"), 0o755)
		if path, err := build(root, d, "1.0.0", "amd64", "deb"); err == nil {
			t.Errorf("built %s", path)
		}
	})
	entries, _ := os.ReadDir(dist)
	for _, e := range entries {
		if !e.IsDir() {
			t.Errorf("a refused build left %s", e.Name())
		}
	}
}

// TestUnit checks the systemd unit: what the package puts where the unit looks, the hardening
// the service relies on, and, where systemd-analyze is installed, that systemd reads every line.
func TestUnit(t *testing.T) {
	unitPath := filepath.Join(root, "deploy/systemd/borderwatch.service")
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = append(keys[k], v)
		}
	}
	for k, want := range map[string]string{
		// Where the package puts the binary and the environment file, and the data directory
		// the environment file names.
		"ExecStart":       "/usr/bin/borderwatch serve",
		"EnvironmentFile": "-/etc/borderwatch/borderwatch.env",
		"Environment":     "BW_DATA_DIR=/var/lib/borderwatch",
		"ReadWritePaths":  "/var/lib/borderwatch",
		"StateDirectory":  "borderwatch",
		// Its own user, and a sandbox it cannot leave.
		"User":                    "borderwatch",
		"Group":                   "borderwatch",
		"ProtectSystem":           "strict",
		"NoNewPrivileges":         "yes",
		"CapabilityBoundingSet":   "",
		"AmbientCapabilities":     "",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectHome":             "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"RestrictSUIDSGID":        "yes",
		"MemoryDenyWriteExecute":  "yes",
	} {
		if got := keys[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	// One descriptor for each of 20,000 device connections and more (BW_MAX_CONNS is per gateway).
	if n, err := strconv.Atoi(strings.Join(keys["LimitNOFILE"], "")); err != nil || n < 65536 {
		t.Errorf("LimitNOFILE=%q, want at least 65536", keys["LimitNOFILE"])
	}

	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed: the unit's syntax is not checked")
	}
	// systemd-analyze verify also wants the binary; /bin/true stands in for it.
	copyPath := filepath.Join(t.TempDir(), "borderwatch.service")
	if err := os.WriteFile(copyPath, bytes.ReplaceAll(b, []byte("/usr/bin/borderwatch"), []byte("/bin/true")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", copyPath).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
