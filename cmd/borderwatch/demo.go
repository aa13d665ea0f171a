package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/sim"
)

// The demo's files in the data directory, beside the embedded store.
const (
	demoTruthFile = "truth.json"     // the simulator's ground truth (sim --score reads it)
	demoStateFile = "sim-state.json" // the simulator's clock and vehicles, to resume from
	// demoPatrolFile lists the patrol users who crew the simulated patrol cars, with their
	// passwords, for a person to take a tablet as one.
	demoPatrolFile = "demo-patrol-passwords"
)

// chinaTime is the time the demo tells people (UTC+8 all year).
var chinaTime = time.FixedZone("CST", 8*3600)

// demoOptions are the demo's own flags, beside every setting of serve.
type demoOptions struct {
	speedup float64
	seed    uint64
	fresh   bool
	replay  time.Duration
	inspect bool
}

// demoDefaultSpeedup makes the demo show its first alerts within two minutes; demoDefaultReplay
// is how far back a new simulated day starts (it reaches the present after replay/speed-up).
const (
	demoDefaultSpeedup = 60.0
	demoDefaultReplay  = 24 * time.Hour
)

// bind registers the demo's options on fs, and a usage that lists them, not the server's
// settings, which only name their source.
func (o *demoOptions) bind(fs *flag.FlagSet, stderr io.Writer) {
	own := flag.NewFlagSet("demo", flag.ContinueOnError)
	own.Float64Var(&o.speedup, "speedup", demoDefaultSpeedup, "simulated seconds per real second")
	own.Uint64Var(&o.seed, "seed", 0, "random seed of a new simulation (0: from the time); a resumed one keeps its own")
	own.BoolVar(&o.fresh, "fresh", false, "start a new simulation and an empty store: remove the embedded store, the ground truth, the simulator's state and the audit anchors from the data directory (the admin password and the audit key stay)")
	own.DurationVar(&o.replay, "replay", demoDefaultReplay, "how far back a new simulation's clock starts; it runs at --speedup until it reaches the present")
	own.BoolVar(&o.inspect, "inspect", true, "play the targeting loop (sim --inspect): every simulated hour the sim-command user targets the top of the risk ranking, sends the crew of the nearest patrol car (sim-patrol where none is placed) to each order that fired, who accepts, drives there, arrives and reports what the ground truth has; the hit table and the assignments fill with data. --inspect=false: only people target")
	own.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: borderwatch demo [flags]

The server with the simulated Hohhot Customs district: about 500 vehicles over the real
protocols, smuggling injected on purpose, the ground truth in <data-dir>/truth.json. A
restarted demo resumes its simulated clock and its vehicles where they stopped
(<data-dir>/sim-state.json), unless --fresh.

Demo options:
`)
		own.SetOutput(stderr)
		own.PrintDefaults()
		fmt.Fprint(stderr, `
Every setting of 'borderwatch serve -h' applies too (flag or BW_… variable), e.g. --data-dir
(default ./data) and the listen addresses --http-addr (BW_HTTP_ADDR, default :8080: every
interface). The demo accepts unknown devices and does not require administrators' second factor.
`)
	}
}

// inspection is the simulator's targeting loop, nil when turned off.
func (o *demoOptions) inspection() *sim.Inspection {
	if !o.inspect {
		return nil
	}
	return &sim.Inspection{Every: time.Hour}
}

func (o *demoOptions) newSeed() uint64 {
	if o.seed != 0 {
		return o.seed
	}
	return uint64(time.Now().UnixNano())
}

// freshDemo removes what a demo left in the data directory, so that a new simulation does not
// meet the vehicles of the old one in the store. Only the embedded store: a PostgreSQL database
// is not the demo's to drop.
func freshDemo(cfg config) error {
	db := sqlitePath(cfg)
	if db == "" {
		return errors.New("--fresh empties the embedded store only; with BW_DATABASE_URL, drop and create the database yourself")
	}
	if c, err := net.Dial("unix", db+".sock"); err == nil {
		c.Close()
		return fmt.Errorf("--fresh: a server runs on %s; stop it first", db)
	}
	files := []string{db, db + "-wal", db + "-shm", db + ".wal", filepath.Join(cfg.DataDir, demoTruthFile),
		filepath.Join(cfg.DataDir, demoStateFile), auditAnchorFile(cfg), db + ".sock"}
	for _, f := range files {
		if err := os.RemoveAll(f); err != nil {
			return fmt.Errorf("--fresh: %w", err)
		}
	}
	return nil
}

// writePatrolAccounts keeps the simulated patrols' users and passwords in the data directory,
// readable by the demo's owner only, as the admin's password is.
func writePatrolAccounts(path string, as []sim.Account) error {
	var b strings.Builder
	b.WriteString("# username password port-unit plate: the crews of the simulated patrol cars\n")
	for _, a := range as {
		fmt.Fprintf(&b, "%s %s %s %s\n", a.Username, a.Password, a.Unit, a.Plate)
	}
	return writePrivateFile(path, b.String())
}
