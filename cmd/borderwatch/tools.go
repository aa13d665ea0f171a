package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// openForTool opens the configured store for an offline command.
func openForTool(ctx context.Context, name string, args []string, stderr io.Writer) (store, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	if err := bindConfig(fs, &cfg, false, os.LookupEnv); err != nil {
		return nil, nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg, newLogger(stderr, cfg.LogLevel), nil)
	return st, fs.Args(), err
}

func zonesCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		return errors.New("usage: borderwatch zones import|export FILE (FILE '-' is standard input/output)")
	}
	st, rest, err := openForTool(ctx, "zones "+args[0], args[1:], stderr)
	if err != nil {
		return err
	}
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
		stored, err := st.PutZones(ctx, zs)
		if err != nil {
			return fmt.Errorf("nothing imported: %w", err)
		}
		if _, err := st.AppendAudit(ctx, tracker.AuditRecord{Actor: "cli", Action: "zone.import", Object: "zones", Result: "ok"}); err != nil {
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
	st, _, err := openForTool(ctx, "audit verify", args[1:], stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	n, broken, err := access.New(st, access.Options{}).VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if broken != 0 {
		fmt.Fprintf(stdout, "audit chain BROKEN at record %d (%d records intact before it)\n", broken, n)
		return fmt.Errorf("audit chain broken at record %d", broken)
	}
	fmt.Fprintf(stdout, "audit chain intact: %d records\n", n)
	return nil
}
