package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tile38Cost is what a fix cost the Tile38 server in a bench step with the Tile38 backend:
// what the BorderWatch server sent (its bw_tile38_* metrics) and what Tile38 counted and
// spent (INFO), divided by the fixes acknowledged.
type tile38Cost struct {
	CommandsPerFix       float64 `json:"commands_per_fix"`
	BytesPerFix          float64 `json:"bytes_per_fix"`
	RoundTripsPerFix     float64 `json:"round_trips_per_fix"`
	ServerCommandsPerFix float64 `json:"tile38_commands_per_fix"` // INFO total_commands_processed: all its clients'
	CPUUsPerFix          float64 `json:"tile38_cpu_us_per_fix"`   // INFO used_cpu_user+used_cpu_sys
}

func (c *tile38Cost) orZero() tile38Cost {
	if c == nil {
		return tile38Cost{}
	}
	return *c
}

// tile38Counters is one reading of the counters tile38Cost is made of; ok is false when
// something could not be read.
type tile38Counters struct {
	ok                            bool
	commands, bytes, trips        float64
	serverCommands, serverCPUSecs float64
}

// tile38Counters reads the server's bw_tile38_* metrics and Tile38's INFO; not ok without a
// Tile38 backend.
func (s *benchServer) tile38Counters(ctx context.Context) tile38Counters {
	if s.tile38 == "" {
		return tile38Counters{}
	}
	m, err := s.metrics(ctx, "bw_tile38_commands_total", "bw_tile38_sent_bytes_total", "bw_tile38_round_trips_total")
	if err != nil {
		return tile38Counters{}
	}
	info, err := tile38Info(ctx, s.tile38)
	if err != nil {
		return tile38Counters{}
	}
	num := func(k string) float64 { v, _ := strconv.ParseFloat(info[k], 64); return v }
	return tile38Counters{ok: true, commands: m[0], bytes: m[1], trips: m[2],
		serverCommands: num("total_commands_processed"), serverCPUSecs: num("used_cpu_user") + num("used_cpu_sys")}
}

// costSince is the cost per fix between two readings (nil if either failed).
func (c tile38Counters) costSince(before tile38Counters, fixes int64) *tile38Cost {
	if !c.ok || !before.ok || fixes <= 0 {
		return nil
	}
	n := float64(fixes)
	return &tile38Cost{CommandsPerFix: (c.commands - before.commands) / n, BytesPerFix: (c.bytes - before.bytes) / n,
		RoundTripsPerFix: (c.trips - before.trips) / n, ServerCommandsPerFix: (c.serverCommands - before.serverCommands) / n,
		CPUUsPerFix: 1e6 * (c.serverCPUSecs - before.serverCPUSecs) / n}
}

// metrics returns the values of the named unlabelled metrics on the server's /metrics.
func (s *benchServer) metrics(ctx context.Context, names ...string) ([]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.http+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := make([]float64, len(names))
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		for i, n := range names {
			if name == n {
				if out[i], err = strconv.ParseFloat(v, 64); err != nil {
					return nil, fmt.Errorf("metric %s: %w", n, err)
				}
				found++
			}
		}
	}
	if found != len(names) {
		return nil, fmt.Errorf("bench: %d of the metrics %v on /metrics", found, names)
	}
	return out, sc.Err()
}

// tile38Info returns the fields of Tile38's INFO.
func tile38Info(ctx context.Context, addr string) (map[string]string, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write(appendCommand(nil, "INFO")); err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
	if !strings.HasPrefix(line, "$") || err != nil || n < 0 {
		return nil, fmt.Errorf("tile38 INFO: unexpected reply %q", line)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	info := map[string]string{}
	for _, l := range strings.Split(string(b), "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(k, "#") {
			info[k] = v
		}
	}
	return info, nil
}
