package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

func serveCommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	if err := bindConfig(fs, &cfg, name == "demo"); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	printWelcome(stdout, a, name == "demo")
	return a.run(ctx)
}

// printWelcome tells a person where to go and, once, the generated admin password.
func printWelcome(w io.Writer, a *app, demo bool) {
	scheme := "http"
	if a.cfg.TLSCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(w, "BorderWatch is running: %s://%s/\n", scheme, browsable(a.httpLn.Addr().String()))
	if a.AdminPassword != "" {
		fmt.Fprintf(w, "Log in as admin with the password %s (printed only this once; it is stored hashed).\n", a.AdminPassword)
	} else if demo {
		fmt.Fprintln(w, "Log in as admin with the password set on first start (BW_ADMIN_PASSWORD).")
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
