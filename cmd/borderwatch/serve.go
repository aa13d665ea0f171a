package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/sim"
	"github.com/borderwatch/borderwatch/tracker"
)

// serverGCPercent is the server's GOGC unless the environment sets one. Most of a running
// server's heap is long-lived fleet state (vehicles, rules, the store's in-memory heads), so
// collecting at 4× the live heap instead of 2× costs memory a server has and, measured with
// `borderwatch bench` at 200,000 fixes/s, halved the ack p99 (48 → 22 ms) and cut CPU per fix
// by 5–8%. Unless GOMEMLIMIT is set, a soft memory limit bounds what that costs (memoryLimit).
const serverGCPercent = 300

// memoryFloor is the least soft memory limit the server sets: a heap under it grows at
// GOGC=300. A bench left the server at 1.1–1.4 GB of RSS with GOGC=300 alone.
const memoryFloor = 768 << 20

// memoryHeadroom is how far beyond the live heap the soft limit lets the heap grow once the
// floor is passed (a live heap over 512 MiB): memory is then the fleet (the live heap) plus a
// constant, not a multiple of it, at the price of a collection every 256 MiB allocated on such
// a fleet. With twice the live heap, a bench's ~850 MB live made 1.7 GB of RSS.
const memoryHeadroom = 256 << 20

// memoryLimit is the soft limit for a live heap of live bytes: memoryHeadroom beyond it, at
// least memoryFloor, at most ceiling (half of the machine's or the cgroup's memory).
func memoryLimit(live, ceiling int64) int64 {
	return min(max(live+memoryHeadroom, memoryFloor), ceiling)
}

// tuneGC applies serverGCPercent and, while ctx lasts, keeps the soft memory limit at
// memoryLimit of the live heap, where the environment sets neither.
func tuneGC(ctx context.Context) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	ceiling := int64(math.MaxInt64)
	if total := memoryAvailable(); total > 0 {
		ceiling = total / 2
	}
	debug.SetMemoryLimit(memoryLimit(0, ceiling))
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			metrics.Read(live)
			debug.SetMemoryLimit(memoryLimit(int64(live[0].Value.Uint64()), ceiling))
		}
	}()
}

// memoryAvailable is the cgroup's memory limit if it has one, else the machine's memory, in
// bytes; 0 if neither can be read.
func memoryAvailable() int64 {
	var total int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
					total = kb << 10
				}
			}
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && (total == 0 || n < total) {
			total = n // "max" (no limit) does not parse
		}
	}
	return total
}

func serveCommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	if err := bindConfig(fs, &cfg, name == "demo", os.LookupEnv); err != nil {
		return err
	}
	demo := name == "demo"
	var opts demoOptions
	if demo {
		opts.bind(fs, stderr)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	tuneGC(ctx)
	if demo && (opts.speedup < 1 || opts.replay < 0) {
		return fmt.Errorf("demo: --speedup %g (at least 1) or --replay %v (not negative) out of range", opts.speedup, opts.replay)
	}
	if demo && opts.fresh {
		if err := freshDemo(cfg); err != nil {
			return err
		}
	}
	if demo && cfg.AdminPassword == "" {
		pw, err := demoPassword(cfg.DataDir)
		if err != nil {
			return err
		}
		cfg.AdminPassword = pw
	}
	var clock *sim.Clock
	releaseClock := func() {}
	defer func() { releaseClock() }()
	stateFile := filepath.Join(cfg.DataDir, demoStateFile)
	var saved *sim.State
	if demo {
		// The demo replays the last day at its speed-up until it reaches the present; the
		// server keeps the simulated time, so its timers agree with the simulated devices. A
		// restarted demo goes on from the simulated time and the vehicles it stopped at: begun
		// again a day back, its vehicles' fixes would land hours before those stored, elsewhere.
		var err error
		if saved, err = sim.LoadState(stateFile); err != nil {
			return fmt.Errorf("%w (start afresh with --fresh)", err)
		}
		if _, err := os.Stat(filepath.Join(cfg.DataDir, demoTruthFile)); saved == nil && err == nil {
			// A run that kept no state (an older demo, or one killed in its first seconds): its
			// vehicles cannot be resumed, and new ones begun a day back would meet their fixes.
			return fmt.Errorf("%s holds a demo run without the simulator's state (%s): start afresh with --fresh", cfg.DataDir, demoStateFile)
		}
		start := time.Now().UTC().Add(-opts.replay).Truncate(time.Second)
		if saved != nil {
			start = saved.Now
		}
		clock = sim.NewClock(start, opts.speedup)
		cfg.Now, cfg.ClockSpeedup = clock.Now, opts.speedup
		// The server's start (a restart's replay of recent fixes) is no simulated time: at the
		// demo's speed-up a few seconds would be every vehicle silent for minutes.
		releaseClock = clock.Hold()
	}
	a, err := newApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	passwordFile := ""
	if !demo && a.AdminPassword != "" {
		passwordFile = filepath.Join(cfg.DataDir, adminPasswordFile)
		if err := writePrivateFile(passwordFile, a.AdminPassword+"\n"); err != nil {
			a.log.Warn("could not keep the generated admin password in a file; it is printed below only", "err", err)
			passwordFile = ""
		}
	}
	printWelcome(stdout, a, demo, passwordFile)
	if demo {
		if err := ensureSimulatorAccount(ctx, a.access, cfg.AdminPassword); err != nil {
			return fmt.Errorf("simulator account: %w", err)
		}
		s, err := sim.New(sim.Config{
			Clock:        clock,
			ReleaseClock: releaseClock,
			Start:        clock.Now(),
			JT808Addr:    addrOf(a.jt808Ln),
			GT06Addr:     addrOf(a.gt06Ln),
			JT600Addr:    addrOf(a.jt600Ln),
			OsmAndURL:    "http://" + addrOf(a.osmandLn) + "/",
			APIURL:       "http://" + a.httpLn.Addr().String(),
			Username:     simulatorAccount,
			Password:     cfg.AdminPassword,
			Speedup:      opts.speedup,
			Seed:         opts.newSeed(),
			TruthFile:    filepath.Join(cfg.DataDir, demoTruthFile),
			StateFile:    stateFile,
			Inspect:      opts.inspection(),
			Logger:       a.log.With("component", "sim"),
		})
		if err != nil {
			return err
		}
		if as := s.PatrolAccounts(); len(as) > 0 {
			file := filepath.Join(cfg.DataDir, demoPatrolFile)
			if err := writePatrolAccounts(file, as); err != nil {
				a.log.Warn("could not keep the simulated patrols' passwords", "err", err)
			} else {
				fmt.Fprintf(stdout, "Patrol tablets: %d simulated patrols, log in as one with a user and password from %s\n", len(as), file)
			}
		}
		if s.Resumed() {
			fmt.Fprintf(stdout, "Resuming the simulation at %s (simulated time); start afresh with --fresh\n", saved.Now.In(chinaTime).Format("2006-01-02 15:04:05 MST"))
		}
		simDone := make(chan struct{})
		go func() {
			defer close(simDone)
			if err := s.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("simulator stopped", "err", err)
			}
		}()
		fmt.Fprintf(stdout, "Simulating the Hohhot Customs district at %g× speed; ground truth in %s\n", opts.speedup, filepath.Join(cfg.DataDir, demoTruthFile))
		err = a.run(ctx)
		// The simulator saves its state as it stops: a restart resumes from there.
		select {
		case <-simDone:
		case <-time.After(10 * time.Second):
			a.log.Warn("the simulator did not stop within 10 s; a restart resumes from its last periodic state")
		}
		return err
	}
	return a.run(ctx)
}

// simulatorAccount is the demo simulator's own administrator account, so that the audit tells
// its registrations and declarations apart from people's (the audit view filters on it).
const simulatorAccount = "simulator"

// ensureSimulatorAccount creates the simulator's account on the demo's first start, with the
// demo's password. The duties are separate (mapui/access): the system administrator creates
// the account, the security administrator gives it the administrator's role; the audit records
// "demo" as both.
func ensureSimulatorAccount(ctx context.Context, acc *access.Service, password string) error {
	_, err := acc.CreateUser(ctx, access.Actor{Username: "demo", Role: access.RoleAdmin},
		access.NewUser{Username: simulatorAccount, Password: password, Role: access.RoleCommand})
	if err != nil && !errors.Is(err, tracker.ErrConflict) {
		return err
	}
	u, err := acc.User(ctx, simulatorAccount)
	if err != nil || u.Role == access.RoleAdmin {
		return err
	}
	_, err = acc.UpdateUser(ctx, access.Actor{Username: "demo", Role: access.RoleSecurity}, simulatorAccount, access.UserChange{Role: access.RoleAdmin})
	return err
}

// demoPassword keeps the demo's generated admin password in the data directory, so that a
// restarted demo (and its simulator) can log in again. serve never does this.
func demoPassword(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "demo-admin-password")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	pw := access.GeneratePassword()
	return pw, os.WriteFile(path, []byte(pw+"\n"), 0o600)
}

// adminPasswordFile, in the data directory, holds the admin password serve generated on the
// first start: a packaged server's output goes to the journal, which rotates, and an
// administrator installing it may not be watching.
const adminPasswordFile = "initial-admin-password"

// writePrivateFile replaces path with a file of content that only its owner can read. A file
// already there, whatever its mode, is replaced, not rewritten in place: a new file is created
// with mode 0600 and renamed over it.
func writePrivateFile(path, content string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left to remove
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// printWelcome tells a person where to go and, once, the generated admin password and the
// file that keeps it ("" for none).
func printWelcome(w io.Writer, a *app, demo bool, passwordFile string) {
	scheme := "http"
	if a.cfg.TLSCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(w, "BorderWatch is running: %s://%s/\n", scheme, browsable(a.httpLn.Addr().String()))
	switch {
	case demo:
		fmt.Fprintf(w, "Log in as admin with the password %s\n", a.cfg.AdminPassword)
	case a.AdminPassword != "" && passwordFile != "":
		fmt.Fprintf(w, "Log in as admin with the password %s (printed only this once; also in %s, readable by this server's user only: delete it once you have changed the password).\n", a.AdminPassword, passwordFile)
	case a.AdminPassword != "":
		fmt.Fprintf(w, "Log in as admin with the password %s (printed only this once; it is stored hashed); change it at the first login (POST /api/v1/me/password).\n", a.AdminPassword)
	}
}

// browsable turns a listen address such as ":8080" or "[::]:8080" into one a browser can open.
func browsable(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return "localhost" + addr
	}
	if len(addr) > 5 && addr[:5] == "[::]:" {
		return "localhost:" + addr[5:]
	}
	if len(addr) > 8 && addr[:8] == "0.0.0.0:" {
		return "localhost:" + addr[8:]
	}
	return addr
}
