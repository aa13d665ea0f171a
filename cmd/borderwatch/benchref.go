package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderwatch/borderwatch/geofence/district"
)

// tile38Reference measures bare Tile38, which the README's Performance section compares
// BorderWatch with: the same synthetic polygons as the bench plus the border line installed as
// fences, then vehicles moving by pipelined SET from a few connections. No protocol parsing, no rules, no durable
// storage: what a deployment of plain Tile38 would do with the same positions.
type tile38Reference struct {
	Addr     string  `json:"addr"`
	Fences   int     `json:"fences"`
	Vehicles int     `json:"vehicles"`
	SetsPerS float64 `json:"sets_per_s"`
}

const refKey = "bwref"

// runTile38Reference installs the fences under a key of its own, drives SETs for d and removes
// everything it created.
func runTile38Reference(ctx context.Context, addr string, polygons, vehicles, conns int, d time.Duration) (tile38Reference, error) {
	res := tile38Reference{Addr: addr, Fences: polygons + 1, Vehicles: vehicles}
	setup, err := newRESPConn(ctx, addr)
	if err != nil {
		return res, err
	}
	defer setup.Close()
	cleanup := func() {
		setup.do("PDELCHAN", refKey+"-*")
		setup.do("DROP", refKey)
	}
	cleanup()
	defer cleanup()
	for i := range polygons {
		lon, lat, side := syntheticSquare(i)
		poly, _ := json.Marshal(map[string]any{"type": "Polygon",
			"coordinates": [][][]float64{{{lon, lat}, {lon + side, lat}, {lon + side, lat + side}, {lon, lat + side}, {lon, lat}}}})
		if err := setup.do("SETCHAN", fmt.Sprintf("%s-%d", refKey, i), "WITHIN", refKey, "FENCE",
			"DETECT", "enter,exit", "OBJECT", string(poly)); err != nil {
			return res, fmt.Errorf("tile38 reference: fence %d: %w", i, err)
		}
	}
	border := district.Border()
	coords := make([][2]float64, len(border))
	for i, p := range border {
		coords[i] = [2]float64{p[0], p[1]}
	}
	line, _ := json.Marshal(map[string]any{"type": "LineString", "coordinates": coords})
	if err := setup.do("SETCHAN", refKey+"-border", "INTERSECTS", refKey, "FENCE", "DETECT", "cross",
		"OBJECT", string(line)); err != nil {
		return res, fmt.Errorf("tile38 reference: border fence: %w", err)
	}

	var sets atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, conns)
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := driveTile38(runCtx, addr, c, conns, vehicles, &sets); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	res.SetsPerS = float64(sets.Load()) / time.Since(start).Seconds()
	select {
	case err := <-errc:
		return res, err
	default:
		return res, nil
	}
}

// driveTile38 moves its share of the vehicles (every conns-th, from first) in pipelines of
// one SET per vehicle, reading all replies before the next pipeline.
func driveTile38(ctx context.Context, addr string, first, conns, vehicles int, sets *atomic.Int64) error {
	c, err := newRESPConn(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(uint64(first), 7))
	type pos struct{ lat, lon float64 }
	var mine []pos
	var ids []string
	for v := first; v < vehicles; v += conns {
		ids = append(ids, "v"+strconv.Itoa(v))
		mine = append(mine, pos{40.6 + rng.Float64()*4.8, 100.5 + rng.Float64()*16})
	}
	var buf []byte
	for ctx.Err() == nil {
		buf = buf[:0]
		for i := range mine {
			p := &mine[i]
			p.lat += (rng.Float64() - 0.5) * 0.01
			p.lon += (rng.Float64() - 0.5) * 0.01
			buf = appendCommand(buf, "SET", refKey, ids[i], "POINT",
				strconv.FormatFloat(p.lat, 'f', 6, 64), strconv.FormatFloat(p.lon, 'f', 6, 64))
		}
		if _, err := c.conn.Write(buf); err != nil {
			return err
		}
		for range mine {
			if err := c.reply(); err != nil {
				return err
			}
		}
		sets.Add(int64(len(mine)))
	}
	return nil
}

// syntheticSquare is the i-th synthetic zone of the bench: squares scattered over the district.
func syntheticSquare(i int) (lon, lat, side float64) {
	return 100.5 + float64(i/30)*1.7 + float64(i%7)*0.05, 40.6 + float64(i%30)*0.16, 0.02
}

// respConn is the least RESP client the reference needs: commands out, one reply line each.
type respConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func newRESPConn(ctx context.Context, addr string) (*respConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(addr, "tile38://"))
	if err != nil {
		return nil, fmt.Errorf("tile38 reference: %w", err)
	}
	return &respConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}, nil
}

func (c *respConn) Close() error { return c.conn.Close() }

func (c *respConn) do(args ...string) error {
	if _, err := c.conn.Write(appendCommand(nil, args...)); err != nil {
		return err
	}
	return c.reply()
}

// reply reads one reply; the commands used answer with a status, an error or an integer.
func (c *respConn) reply() error {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return err
	}
	switch line[0] {
	case '+', ':':
		return nil
	case '-':
		return fmt.Errorf("tile38: %s", strings.TrimSpace(line[1:]))
	}
	return fmt.Errorf("tile38 reference: unexpected reply %q", line)
}

func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}
