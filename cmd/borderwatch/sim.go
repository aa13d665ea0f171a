package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/borderwatch/borderwatch/sim"
)

// simCommand runs the simulator against a server, scores a run, or runs the load generator.
func simCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", simEnv("BW_SIM_SERVER", "http://127.0.0.1:8080"), "server's HTTP API base URL")
	jt := fs.String("jt808", simEnv("BW_SIM_JT808", "127.0.0.1:6808"), "JT/T 808 gateway host:port")
	gt := fs.String("gt06", simEnv("BW_SIM_GT06", "127.0.0.1:6023"), "GT06 gateway host:port")
	j6 := fs.String("jt600", simEnv("BW_SIM_JT600", "127.0.0.1:5014"), "JT600 gateway host:port (e-seals)")
	osm := fs.String("osmand", simEnv("BW_SIM_OSMAND", "http://127.0.0.1:5055/"), "OsmAnd URL")
	user := fs.String("username", simEnv("BW_SIM_USERNAME", "admin"), "API user")
	pass := fs.String("password", os.Getenv("BW_ADMIN_PASSWORD"), "API password (default $BW_ADMIN_PASSWORD)")
	scenario := fs.String("scenario", "", "scenario file (default: the embedded Hohhot scenario)")
	speedup := fs.Float64("speedup", 60, "simulated seconds per real second")
	duration := fs.Duration("duration", 0, "run time (0: until interrupted)")
	seed := fs.Uint64("seed", 1, "random seed")
	truth := fs.String("truth", filepath.Join(simEnv("BW_DATA_DIR", "./data"), demoTruthFile), "ground truth file; the demo writes it in its data directory ($BW_DATA_DIR)")
	score := fs.Bool("score", false, "score the server's alerts against --truth and exit")
	inspect := fs.Bool("inspect", false, "play the targeting loop: a district command user targets the top risk vehicles every --inspect-every and sends a patrol to what fired, who accepts, arrives and reports what the truth decides is found")
	inspectEvery := fs.Duration("inspect-every", 6*time.Hour, "--inspect: how often, in simulated time, command targets and the patrol reports")
	history := fs.Bool("history", false, "plant the 30 days before the start first: a co-travel group, an ant-moving resident car and their controls (needs --server; --score then scores them)")
	load := fs.Bool("load", false, "run the JT/T 808 load generator against --jt808")
	terminals := fs.Int("terminals", 2000, "load: terminals")
	rate := fs.Int("rate", 50000, "load: fixes per second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *load:
		d := *duration
		if d == 0 {
			d = 30 * time.Second
		}
		res, err := sim.Load(ctx, sim.LoadConfig{Addr: *jt, Terminals: *terminals, RatePerSecond: *rate, Duration: d})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, res)
		return nil
	case *score:
		t, err := sim.LoadTruth(*truth)
		if err != nil {
			return err
		}
		c, err := sim.Login(ctx, *server, *user, *pass)
		if err != nil {
			return err
		}
		alerts, err := c.Alerts(ctx)
		if err != nil {
			return err
		}
		rows := sim.Score(t, alerts)
		if len(t.Groups) > 0 || len(t.Ants) > 0 {
			groups, err := c.Groups(ctx)
			if err != nil {
				return err
			}
			ants, err := c.Ants(ctx)
			if err != nil {
				return err
			}
			rows = append(rows, sim.ScorePatterns(t, groups, ants)...)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "type\tinjected\tdetected\trecall\talerts\tprecision\t")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%d\t%.2f\t\n", r.Type, r.Injected, r.Detected, r.Recall, r.Alerts, r.Precision)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		return printHitRates(ctx, c, stdout)
	}
	var sc *sim.Scenario
	if *scenario != "" {
		var err error
		if sc, err = sim.LoadScenario(*scenario); err != nil {
			return err
		}
	}
	var insp *sim.Inspection
	if *inspect {
		insp = &sim.Inspection{Every: *inspectEvery}
	}
	var hist *sim.History
	if *history {
		hist = &sim.History{}
	}
	s, err := sim.New(sim.Config{Scenario: sc, Inspect: insp, JT808Addr: *jt, GT06Addr: *gt, JT600Addr: *j6, OsmAndURL: *osm, APIURL: *server,
		Username: *user, Password: *pass, Speedup: *speedup, Duration: *duration, Seed: *seed, TruthFile: *truth,
		History: hist, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	err = s.Run(ctx)
	t := s.Truth()
	b, _ := json.Marshal(map[string]int{"injections": len(t.Injections)})
	fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// printHitRates prints the inspections' hit rate per source against the random draws' (the
// targeting loop of sim --inspect); nothing when no order was inspected.
func printHitRates(ctx context.Context, c *sim.APIClient, stdout io.Writer) error {
	rows, base, err := c.HitRates(ctx)
	if err != nil || len(rows) == 0 {
		return err
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "source\tissued\tinspected\tfound\thit rate\tvs random\t")
	for _, r := range rows {
		vs := "-"
		if base.HitRate > 0 && r.Inspected > 0 {
			vs = fmt.Sprintf("%.1f×", r.HitRate/base.HitRate)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%s\t\n", r.Source, r.Issued, r.Inspected, r.Found, r.HitRate, vs)
	}
	return tw.Flush()
}

func simEnv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
