// Command borderwatch is BorderWatch's one binary: the server, the demo, and the tools around
// them. Run `borderwatch help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `BorderWatch tracks vehicles at land border ports and raises alerts.

Usage: borderwatch <command> [flags]

Commands:
  demo          server with the simulator, default zones, and unknown devices accepted
  serve         the server alone
  sim           drive a server with the simulated district (--score: recall and precision; --load: load test)
  bench         load a server in a child process over real JT/T 808 connections and report
                sustained fixes/s, ack and alert latency, CPU and memory (--json for one object)
  zones import FILE | zones export FILE
                load a GeoJSON FeatureCollection of zones (all or nothing), or write them out
  audit verify  check the audit log's keyed chain and its anchors; report what is missing or changed
  backup DIR    copy the embedded store into DIR (new or empty), consistent, while the server
                runs (through its socket in the data directory) or while it is stopped
  restore [--force] DIR
                put a backup in place of the embedded store, the server stopped; the data
                directory must be empty unless --force
  version       print the version, commit and build date

Every setting has a flag and a BW_… environment variable; see 'borderwatch serve -h'.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "borderwatch:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve", "demo":
		return serveCommand(ctx, cmd, rest, stdout, stderr)
	case "bench":
		return benchCommand(ctx, rest, stdout, stderr)
	case "sim":
		return simCommand(ctx, rest, stdout, stderr)
	case "zones":
		return zonesCommand(ctx, rest, stdout, stderr)
	case "audit":
		return auditCommand(ctx, rest, stdout, stderr)
	case "backup":
		return backupCommand(ctx, rest, stdout, stderr)
	case "restore":
		return restoreCommand(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, describeBuild(version, commit, date, readBuildInfo()))
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
