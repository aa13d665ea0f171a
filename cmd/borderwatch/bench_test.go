package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestBenchJSON runs `borderwatch bench --json` small: a server child process (this test
// binary, through TestMain), real JT/T 808 terminals, three trials of one rate, the alert
// probes on the WebSocket and the idle connections; every figure the issue names must be there
// and plausible.
func TestBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and loads it for about 20 s")
	}
	t.Setenv("BW_TEST_SERVE", "1")
	var out, errs bytes.Buffer
	err := benchCommand(t.Context(), []string{"--json", "--connections", "40", "--idle", "200", "--zones", "20",
		"--start-rate", "800", "--max-rate", "800", "--refine", "0", "--trials", "3", "--duration", "2s", "--warmup", "500ms", "--max-p99", "2s"}, &out, &errs)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errs.String())
	}
	var res struct {
		FixesPerS      float64 `json:"fixes_per_s"`
		AckP50Ms       float64 `json:"ack_p50_ms"`
		AckP99Ms       float64 `json:"ack_p99_ms"`
		AlertP99Ms     float64 `json:"alert_p99_ms"`
		AlertsMeasured int     `json:"alerts_measured"`
		Connections    int     `json:"connections"`
		RSSMB          float64 `json:"rss_mb"`
		IdleConns      int     `json:"idle_connections"`
		Zones          int     `json:"zones"`
		CPUPercent     float64 `json:"cpu_percent"`
		Steps          []struct {
			KeptUp      bool       `json:"kept_up"`
			Trials      int        `json:"trials"`
			AckedPerS   float64    `json:"acked_per_s"`
			AckedRange  [2]float64 `json:"acked_per_s_range"`
			AckP99Ms    float64    `json:"ack_p99_ms"`
			AckP99Range [2]float64 `json:"ack_p99_ms_range"`
		} `json:"steps"`
		Machine struct {
			CPUModel string `json:"cpu_model"`
			CPUs     int    `json:"cpus"`
		} `json:"machine"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench --json printed %q: %v", out.String(), err)
	}
	if len(res.Steps) != 1 || !res.Steps[0].KeptUp || res.FixesPerS < 0.97*800 || res.FixesPerS > 1.03*800 {
		t.Errorf("one step at 800 fixes/s that keeps up, got %.0f fixes/s, steps %+v", res.FixesPerS, res.Steps)
	}
	if st := res.Steps; len(st) == 1 && (st[0].Trials != 3 ||
		st[0].AckedRange[0] > st[0].AckedPerS || st[0].AckedPerS > st[0].AckedRange[1] ||
		st[0].AckP99Range[0] > st[0].AckP99Ms || st[0].AckP99Ms > st[0].AckP99Range[1]) {
		t.Errorf("a step is the median of its 3 trials, within their range: %+v", st[0])
	}
	if res.Machine.CPUs != runtime.NumCPU() || res.Machine.CPUModel == "" {
		t.Errorf("machine %+v", res.Machine)
	}
	if res.AckP50Ms <= 0 || res.AckP99Ms < res.AckP50Ms || res.CPUPercent <= 0 {
		t.Errorf("ack p50 %.2f ms, p99 %.2f ms, server CPU %.0f%%", res.AckP50Ms, res.AckP99Ms, res.CPUPercent)
	}
	if res.AlertsMeasured != 40 || res.AlertP99Ms <= 0 {
		t.Errorf("%d of 40 probe alerts, p99 %.1f ms", res.AlertsMeasured, res.AlertP99Ms)
	}
	// RSS per idle connection is not checked: 200 connections are within RSS's noise.
	if res.Connections != 40 || res.IdleConns != 200 || res.Zones < 20 || res.RSSMB <= 0 {
		t.Errorf("connections %d, idle %d, zones %d, RSS %.0f MB", res.Connections, res.IdleConns, res.Zones, res.RSSMB)
	}
}

// TestMemoryAvailable: the server's default memory limit is half of this, so it must be read.
func TestMemoryAvailable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/meminfo")
	}
	if n := memoryAvailable(); n < 64<<20 {
		t.Errorf("memoryAvailable() = %d bytes", n)
	}
}

// TestMemoryLimit: the soft limit is memoryHeadroom beyond the live heap, never under
// memoryFloor nor over the ceiling, even when the ceiling is under the floor (a small machine).
func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct{ live, ceiling, want int64 }{
		{0, 12 << 30, memoryFloor},
		{200 << 20, 12 << 30, memoryFloor},
		{300 << 20, 12 << 30, memoryFloor},
		{500 << 20, 12 << 30, memoryFloor},
		{600 << 20, 12 << 30, 856 << 20},
		{1 << 30, 12 << 30, 1<<30 + memoryHeadroom},
		{10 << 30, 12 << 30, 10<<30 + memoryHeadroom},
		{12 << 30, 12 << 30, 12 << 30},
		{100 << 20, 512 << 20, 512 << 20},
	} {
		if got := memoryLimit(c.live, c.ceiling); got != c.want {
			t.Errorf("memoryLimit(%d MiB live, ceiling %d MiB) = %d MiB, want %d MiB", c.live>>20, c.ceiling>>20, got>>20, c.want>>20)
		}
	}
}

// TestBenchDBBackendCPU: with a postgres:// store on this machine, a step reports the CPU of
// the backends serving the server's database per acknowledged fix.
func TestBenchDBBackendCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server on PostgreSQL and loads it for about 10 s")
	}
	url := os.Getenv("BW_TEST_POSTGRES_URL")
	if url == "" {
		url = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	if conn, err := pgx.Connect(t.Context(), url); err != nil {
		if os.Getenv("BW_SKIP_POSTGRES") == "1" {
			t.Skipf("PostgreSQL not reachable (BW_SKIP_POSTGRES=1): %v", err)
		}
		t.Fatalf("PostgreSQL not reachable at %s: %v", url, err)
	} else {
		conn.Close(t.Context())
	}
	t.Setenv("BW_TEST_SERVE", "1")
	var out, errs bytes.Buffer
	err := benchCommand(t.Context(), []string{"--json", "--store", url, "--connections", "40", "--idle", "20", "--zones", "20", "--alert-probes", "2",
		"--start-rate", "500", "--max-rate", "500", "--refine", "0", "--trials", "1", "--duration", "15s", "--warmup", "500ms", "--max-p99", "5s"}, &out, &errs)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errs.String())
	}
	var res struct {
		DBUsPerFix float64 `json:"db_backend_cpu_us_per_fix"`
		Steps      []struct {
			DBUsPerFix float64 `json:"db_backend_cpu_us_per_fix"`
			AckedPerS  float64 `json:"acked_per_s"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("bench --json printed %q: %v", out.String(), err)
	}
	if len(res.Steps) != 1 || res.Steps[0].DBUsPerFix <= 0 || res.DBUsPerFix != res.Steps[0].DBUsPerFix {
		// What the bench and its server said, for a step that acknowledged nothing (make test at
		// load 20-27 twice; never alone or beside 12 busy loops).
		log := errs.String()
		log = log[max(0, len(log)-4000):]
		t.Errorf("database backend CPU per fix %.1f µs, steps %+v: want the step's, above 0\n%s", res.DBUsPerFix, res.Steps, log)
	}
}

// TestMedianStepKeepsTrials: a step's medians hide its slow trial; the trials stay, in order.
func TestMedianStepKeepsTrials(t *testing.T) {
	var trials []benchStep
	for i, p99 := range []float64{20, 250, 30} {
		trials = append(trials, benchStep{OfferedPerS: 1000, AckedPerS: 1000, AckP99Ms: p99,
			TrialRuns: []benchTrial{{At: fmt.Sprint(i), AckP99Ms: p99, SecondP99Ms: []float64{p99}}}})
	}
	st := medianStep(trials, 50*time.Millisecond)
	if st.AckP99Ms != 30 || st.AckP99Range != [2]float64{20, 250} || !st.KeptUp {
		t.Fatalf("step %+v", st)
	}
	if len(st.TrialRuns) != 3 {
		t.Fatalf("%d trial runs, want 3", len(st.TrialRuns))
	}
	for i, tr := range st.TrialRuns {
		if tr.At != fmt.Sprint(i) || tr.AckP99Ms != trials[i].AckP99Ms {
			t.Errorf("trial %d: %+v", i, tr)
		}
	}
}
