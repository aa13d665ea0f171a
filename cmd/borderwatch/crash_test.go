package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt808"
)

// TestMain lets the test binary be the server: the crash test starts it as a child process
// and kills it with SIGKILL, as a power cut or the OOM killer would. Otherwise it starts the
// cross-builds TestCrossBuildSmoke runs, so that they go on beside the other tests.
func TestMain(m *testing.M) {
	if os.Getenv("BW_TEST_SERVE") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := run(ctx, []string{"serve"}, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	flag.Parse()
	crossDir, err := os.MkdirTemp("", "bw-cross-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	buildCrossServers(crossDir)
	code := m.Run()
	waitCrossServers()
	os.RemoveAll(crossDir)
	os.Exit(code)
}

type child struct {
	cmd              *exec.Cmd
	httpAddr, jt808A string
}

func startChild(t *testing.T, dir, httpAddr, jt808Addr string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BW_TEST_SERVE=1", "BW_DATA_DIR="+dir, "BW_HTTP_ADDR="+httpAddr, "BW_JT808_ADDR="+jt808Addr,
		"BW_GT06_ADDR=", "BW_JT600_ADDR=", "BW_OSMAND_ADDR=", "BW_ACCEPT_UNKNOWN_DEVICES=true", "BW_ADMIN_PASSWORD="+testPassword, "BW_REQUIRE_TOTP_ADMINS=false", "BW_LOG_LEVEL=error",
		"BW_DATABASE_URL=", "BW_GEOFENCE=embedded")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, httpAddr: httpAddr, jt808A: jt808Addr}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKillNineLosesNoAcknowledgedFix drives a real server process with terminals that record
// which fixes were acknowledged, kills it with SIGKILL mid-load, restarts it on the same data,
// and checks that every acknowledged fix is there.
func TestKillNineLosesNoAcknowledgedFix(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts server processes")
	}
	dir := t.TempDir()
	httpAddr, _ := freeAddr()
	jtAddr, _ := freeAddr()
	srv := startChild(t, dir, httpAddr, jtAddr)

	const terminals = 40
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var mu sync.Mutex
	acked := map[string][]time.Time{}
	sent := 0
	var wg sync.WaitGroup
	for i := range terminals {
		id := fmt.Sprint(13900000000 + i)
		wg.Go(func() {
			c, err := net.Dial("tcp", jtAddr)
			if err != nil {
				return
			}
			defer c.Close()
			ph, _ := jt808.ParsePhone(id, false)
			times := map[uint16]time.Time{}
			var tmu sync.Mutex
			done := make(chan struct{})
			go func() {
				defer close(done)
				sc := jt808.NewScanner(c, 4096)
				for {
					raw, err := sc.Next()
					if err != nil {
						return
					}
					f, _, err := jt808.DecodeFrame(raw)
					if err != nil || f.Header.MsgID != jt808.MsgPlatformResponse || len(f.Body) < 5 || f.Body[4] != jt808.ResultOK {
						continue
					}
					s := binary.BigEndian.Uint16(f.Body)
					tmu.Lock()
					at, ok := times[s]
					tmu.Unlock()
					if ok {
						mu.Lock()
						acked[id] = append(acked[id], at)
						mu.Unlock()
					}
				}
			}()
			for n := 0; n < 3000; n++ {
				h := jt808.Header{MsgID: jt808.MsgLocation, Phone: ph, Serial: uint16(n)}
				at := base.Add(time.Duration(n) * time.Second)
				body := jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned, Lat: 41 + float64(i)/100, Lon: 109 + float64(n)/10000, Time: at})
				fr, _ := jt808.AppendFrame(nil, &h, body)
				tmu.Lock()
				times[uint16(n)] = at
				tmu.Unlock()
				if _, err := c.Write(fr); err != nil {
					break
				}
				mu.Lock()
				sent++
				mu.Unlock()
				time.Sleep(time.Millisecond)
			}
			<-done
		})
	}
	time.Sleep(1500 * time.Millisecond)
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	wg.Wait()

	srv = startChild(t, dir, httpAddr, jtAddr)
	a := &testApp{t: t, base: "http://" + httpAddr}
	a.token = a.login("admin", testPassword)
	total, lost := 0, 0
	for id, times := range acked {
		stored := map[int64]bool{}
		for _, f := range a.track(id, base.Add(-time.Minute).Format(time.RFC3339)) {
			stored[f.Time.Unix()] = true
		}
		for _, at := range times {
			total++
			if !stored[at.Unix()] {
				lost++
			}
		}
	}
	t.Logf("sent %d fixes, %d acknowledged before SIGKILL, %d of them lost", sent, total, lost)
	if total == 0 {
		t.Fatal("no fix was acknowledged before the kill: the test proves nothing")
	}
	if lost > 0 {
		t.Errorf("%d acknowledged fixes lost", lost)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
}
