package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// The reference installs its fences, moves vehicles through a real Tile38 and leaves nothing
// behind.
func TestTile38Reference(t *testing.T) {
	addr := os.Getenv("TILE38_ADDR")
	if addr == "" {
		t.Skip("TILE38_ADDR is unset: no Tile38 server to measure (run tile38-server on loopback and set it)")
	}
	ctx := context.Background()
	res, err := runTile38Reference(ctx, addr, 20, 500, 2, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.SetsPerS <= 0 || res.Fences != 21 {
		t.Fatalf("reference = %+v, want SETs counted over 21 fences", res)
	}
	c, err := newRESPConn(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.conn.Write(appendCommand(nil, "SCAN", refKey, "COUNT")); err != nil {
		t.Fatal(err)
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if line != ":0\r\n" {
		t.Errorf("SCAN %s COUNT after the run = %q, want :0 (the reference cleans up)", refKey, line)
	}
}
