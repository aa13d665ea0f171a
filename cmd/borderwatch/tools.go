package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/borderwatch/borderwatch/geofence"
)

// toolFlags is the flag set of a command beside the server: the server's settings that say
// where its store and its audit key are. The others keep their defaults and BW_… variables.
func toolFlags(name string, stderr io.Writer) (*flag.FlagSet, *config, error) {
	all := flag.NewFlagSet(name, flag.ContinueOnError)
	var cfg config
	if err := bindConfig(all, &cfg, false, os.LookupEnv); err != nil {
		return nil, nil, err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, n := range toolSettings {
		f := all.Lookup(n)
		fs.Var(f.Value, f.Name, f.Usage)
	}
	return fs, &cfg, nil
}

// toolSettings are the server's settings the commands beside it use.
var toolSettings = []string{"data-dir", "database-url", "log-level", "sync-commits", "audit-key", "audit-key-file", "audit-anchor-file"}

// tool is what an offline command works with.
type tool struct {
	cfg   config
	log   *slog.Logger
	store store
	args  []string // the arguments after the flags
}

// openForTool opens the configured store for an offline command.
func openForTool(ctx context.Context, name string, args []string, stderr io.Writer) (tool, error) {
	fs, cfg, err := toolFlags(name, stderr)
	if err != nil {
		return tool{}, err
	}
	if err := fs.Parse(args); err != nil {
		return tool{}, err
	}
	log := newLogger(stderr, cfg.LogLevel)
	st, err := openStore(ctx, *cfg, log, nil)
	return tool{cfg: *cfg, log: log, store: st, args: fs.Args()}, err
}

func zonesCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		return errors.New("usage: borderwatch zones import|export FILE (FILE '-' is standard input/output)")
	}
	tl, err := openForTool(ctx, "zones "+args[0], args[1:], stderr)
	if err != nil {
		return err
	}
	st, rest := tl.store, tl.args
	defer st.Close()
	if len(rest) != 1 {
		return errors.New("usage: borderwatch zones import|export FILE")
	}
	if args[0] == "import" {
		var b []byte
		if rest[0] == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(rest[0])
		}
		if err != nil {
			return err
		}
		zs, err := geofence.ParseFeatureCollection(b)
		if err != nil {
			return fmt.Errorf("%s: nothing imported: %w", rest[0], err)
		}
		acc, err := newAccess(ctx, tl.cfg, st, tl.log, true)
		if err != nil {
			return fmt.Errorf("nothing imported: %w", err)
		}
		stored, err := st.PutZones(ctx, zs)
		if err != nil {
			return fmt.Errorf("nothing imported: %w", err)
		}
		if err := acc.Record(ctx, "cli", "zone.import", "zones", "ok", nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported %d zones (a running server picks them up on restart)\n", len(stored))
		return nil
	}
	zs, err := st.Zones(ctx)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{"type": "FeatureCollection", "features": zs}, "", " ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if rest[0] == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(rest[0], b, 0o644)
}

func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: borderwatch audit verify")
	}
	tl, err := openForTool(ctx, "audit verify", args[1:], stderr)
	if err != nil {
		return err
	}
	defer tl.store.Close()
	acc, err := newAccess(ctx, tl.cfg, tl.store, tl.log, false)
	if err != nil {
		return err
	}
	rep, err := acc.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verified with audit key %s against %d anchors\n", rep.KeyID, rep.Anchors)
	if !rep.OK {
		fmt.Fprintf(stdout, "audit log NOT intact: %s\n(%d records intact before it)\n", rep.Problem, rep.Records)
		if rep.FirstBroken != 0 {
			return fmt.Errorf("audit log broken at record %d", rep.FirstBroken)
		}
		return errors.New("audit anchors damaged")
	}
	fmt.Fprintf(stdout, "audit chain intact: %d records (%d unkeyed, from before the keyed chain)\n", rep.Records, rep.Unkeyed)
	if rep.Anchors == 0 {
		fmt.Fprintln(stdout, "no anchors: a deleted tail of the log would not show")
	}
	return nil
}
