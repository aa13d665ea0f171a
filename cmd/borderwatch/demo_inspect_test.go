package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

// The demo plays the targeting loop unless told not to: every simulated hour.
func TestDemoInspects(t *testing.T) {
	for _, c := range []struct {
		args []string
		on   bool
	}{{nil, true}, {[]string{"--inspect=false"}, false}, {[]string{"--inspect"}, true}} {
		var o demoOptions
		fs := flag.NewFlagSet("demo", flag.ContinueOnError)
		o.bind(fs, io.Discard)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		in := o.inspection()
		if (in != nil) != c.on || (in != nil && in.Every != time.Hour) {
			t.Errorf("demo %v: inspection %+v, want on=%v every hour", c.args, in, c.on)
		}
	}
}
