package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// qemuUser names the Debian qemu-user-static emulator of each packaged architecture.
var qemuUser = map[string]string{
	"amd64":   "qemu-x86_64-static",
	"arm64":   "qemu-aarch64-static",
	"loong64": "qemu-loongarch64-static",
}

// crossArchs are the architectures make package packages, in the order they are built.
var crossArchs = []string{"amd64", "arm64", "loong64"}

// crossBuilt is each architecture's server, built once TestMain has called buildCrossServers.
var crossBuilt = map[string]*crossBuild{}

type crossBuild struct {
	done chan struct{} // closed when the build has ended
	bin  string
	took time.Duration
	err  error
}

// buildCrossServers cross-builds the server for every packaged architecture into dir, one after
// the other in the background, when TestCrossBuildSmoke is to run: compiling is most of that
// test's time, and the package's other tests mostly wait (on child processes, timers,
// PostgreSQL), so the builds run beside them and the test, parallel, runs after them.
func buildCrossServers(dir string) {
	if testing.Short() || !selected("TestCrossBuildSmoke") {
		return
	}
	for _, arch := range crossArchs {
		crossBuilt[arch] = &crossBuild{done: make(chan struct{}), bin: filepath.Join(dir, arch, "borderwatch")}
	}
	go func() {
		for _, arch := range crossArchs {
			b := crossBuilt[arch]
			start := time.Now()
			const ldflags = "-s -w -X main.version=9.8.7-smoke -X main.commit=0123456789abcdef -X main.date=2026-01-02T03:04:05Z"
			// Without make package's -trimpath, which changes only the file names the binary
			// records: the amd64 build then reuses the packages `go test` compiled (make test
			// builds everything with CGO_ENABLED=0, as here) instead of compiling them again.
			build := exec.Command("go", "build", "-ldflags", ldflags, "-o", b.bin, ".")
			build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			if out, err := build.CombinedOutput(); err != nil {
				b.err = fmt.Errorf("GOARCH=%s go build: %w\n%s", arch, err, out)
			}
			b.took = time.Since(start)
			close(b.done)
		}
	}()
}

// selected says whether -test.run selects the top-level test name and -test.skip does not drop it.
func selected(name string) bool {
	matches := func(flagName string) bool {
		re, err := regexp.Compile(strings.Split(flag.Lookup(flagName).Value.String(), "/")[0])
		return err == nil && re.MatchString(name)
	}
	skip := flag.Lookup("test.skip").Value.String()
	return matches("test.run") && (skip == "" || !matches("test.skip"))
}

// waitCrossServers waits for the builds buildCrossServers started.
func waitCrossServers() {
	for _, b := range crossBuilt {
		<-b.done
	}
}

// TestCrossBuildSmoke runs the static server built for every architecture make package packages:
// natively on its own architecture, under qemu-user otherwise (ARM64 for Kunpeng and Phytium
// servers, LoongArch64 for Loongson). Each binary reports the version set at link time, starts
// serve, acknowledges a JT/T 808 location frame, returns its fix through the API, serves the
// embedded web app, and stops cleanly on SIGTERM.
func TestCrossBuildSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds and runs three server binaries")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH to cross-build with")
	}
	t.Parallel()
	for _, arch := range crossArchs {
		t.Run(arch, func(t *testing.T) {
			b := crossBuilt[arch]
			<-b.done
			if b.err != nil {
				t.Fatal(b.err)
			}
			start := time.Now()
			var emulator []string
			if arch != runtime.GOARCH {
				q, err := exec.LookPath(qemuUser[arch])
				if err != nil {
					t.Skipf("built for %s in %v but not run: %s is not installed (Debian package qemu-user-static; scripts/test-setup.sh installs it)",
						arch, b.took.Round(time.Second), qemuUser[arch])
				}
				emulator = []string{q}
			}
			command := func(args ...string) *exec.Cmd {
				all := append(append(emulator, b.bin), args...)
				return exec.Command(all[0], all[1:]...)
			}

			out, err := command("version").Output()
			if err != nil {
				t.Fatalf("version: %v", err)
			}
			if want := "borderwatch 9.8.7-smoke (commit 0123456789abcdef, built 2026-01-02T03:04:05Z, "; !strings.HasPrefix(string(out), want) ||
				!strings.HasSuffix(string(out), " linux/"+arch+")\n") {
				t.Errorf("version printed %q, want %q… linux/%s)", out, want, arch)
			}

			smokeServe(t, command)
			t.Logf("%s: built in %v, checked in %v", arch, b.took.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
		})
	}
}

// smokeServe runs `serve` as a packaged server would (generated admin password, embedded store
// and geofence) and drives it as a terminal and an officer's browser would.
func smokeServe(t *testing.T, command func(args ...string) *exec.Cmd) {
	dataDir := t.TempDir()
	httpAddr, _ := freeAddr()
	jtAddr, _ := freeAddr()
	srv := command("serve")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BW_") { // nothing of the developer's own settings
			srv.Env = append(srv.Env, kv)
		}
	}
	// Every listener off but HTTP and JT/T 808 on ports of their own: a fixed port such as :6023
	// may be taken on a shared machine.
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg config
	if err := bindConfig(fs, &cfg, false, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	fs.VisitAll(func(f *flag.Flag) {
		_, isString := f.Value.(flag.Getter).Get().(string)
		if m := envVarInUsage.FindStringSubmatch(f.Usage); m != nil && isString && strings.HasSuffix(m[2], "_ADDR") {
			srv.Env = append(srv.Env, m[2]+"=")
		}
	})
	srv.Env = append(srv.Env, "BW_DATA_DIR="+dataDir, "BW_HTTP_ADDR="+httpAddr, "BW_JT808_ADDR="+jtAddr, "BW_LOG_LEVEL=warn", "BW_REQUIRE_TOTP_ADMINS=false")
	var output bytes.Buffer
	srv.Stdout, srv.Stderr = &output, &output
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			srv.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server output:\n%s", output.String())
		}
	})

	base := "http://" + httpAddr
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not become ready within 90 s")
		}
		select {
		case <-exited:
			t.Fatalf("the server exited before it was ready: %v", exitErr)
		case <-time.After(100 * time.Millisecond):
		}
	}

	// The password the first start generated, where the package's post-install note says it is.
	pwFile := filepath.Join(dataDir, adminPasswordFile)
	st, err := os.Stat(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", pwFile, st.Mode().Perm())
	}
	pw, _ := os.ReadFile(pwFile)
	a := &testApp{t: t, base: base}
	a.token = a.login("admin", strings.TrimSpace(string(pw)))
	// A generated password must be changed before anything else, as after a package's install.
	var changed struct{ Token string }
	a.mustCall("POST", "/api/v1/me/password", map[string]string{"old": strings.TrimSpace(string(pw)), "new": "Changed-Passw0rd-1"}, &changed, 200)
	a.token = changed.Token
	a.mustCall("POST", "/api/v1/vehicles", map[string]any{"id": "car-1", "plate": "蒙K12345", "kind": "truck"}, nil, 201)
	a.mustCall("POST", "/api/v1/devices", map[string]any{"id": "12345678901", "protocol": "jt808", "vehicle_id": "car-1"}, nil, 201)

	conn, err := net.Dial("tcp", jtAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	d := &device{t, conn}
	d.send(unhex(t, traccarLocation))
	d.expect(unhex(t, "7E 8001 0005 012345678901 0000 0013 0200 00 1D 7E"))
	fixes := a.track("car-1", "2021-07-26T00:00:00Z")
	if len(fixes) != 1 || fixes[0].Lat != 22.641605 || fixes[0].Lon != 114.032486 ||
		!fixes[0].Time.Equal(time.Date(2021, 7, 26, 12, 35, 31, 0, time.UTC)) {
		t.Errorf("stored fixes %s, want the one at 22.641605 N 114.032486 E, 2021-07-26 12:35:31 UTC", fmtJSON(fixes))
	}

	// The web app: the page `make web` built, embedded; before a build, the page saying so.
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if built, err := os.ReadFile("../../mapui/web/dist/index.html"); err == nil {
		if resp.StatusCode != 200 || !bytes.Equal(page, built) {
			t.Errorf("GET / = %d, %d bytes; want 200 and mapui/web/dist/index.html (%d bytes)", resp.StatusCode, len(page), len(built))
		}
	} else if resp.StatusCode != 200 || !bytes.Contains(page, []byte("make web")) {
		t.Errorf("GET / without a built web app = %d %q", resp.StatusCode, page)
	}

	srv.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if exitErr != nil {
			t.Errorf("after SIGTERM the server exited with %v", exitErr)
		}
	case <-time.After(30 * time.Second):
		t.Error("the server did not stop within 30 s of SIGTERM")
	}
}
