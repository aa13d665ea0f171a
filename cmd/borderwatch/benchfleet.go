package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/sim"
)

// fleetResult is what `borderwatch bench --fleet N` measures: the server's memory with N
// vehicles connected, each sending at the same pace for a while, rather than its highest rate.
type fleetResult struct {
	Vehicles       int     `json:"vehicles"`
	OfferedPerS    float64 `json:"offered_per_s"`
	SecondsPerFix  float64 `json:"seconds_per_fix"` // each vehicle's
	FramesPerWrite int     `json:"frames_per_write"`
	Seconds        float64 `json:"seconds"`
	AckedPerS      float64 `json:"acked_per_s"`
	AckP99Ms       float64 `json:"ack_p99_ms"`
	// The server's RSS: after two garbage collections before the fleet connects (empty), at
	// the end of its run with it connected (fleet), and once it disconnected, the vehicles'
	// state kept (after); peak is the highest of the samples taken every few seconds meanwhile.
	RSSEmptyMB float64 `json:"rss_empty_mb"`
	RSSFleetMB float64 `json:"rss_fleet_mb"`
	RSSPeakMB  float64 `json:"rss_peak_mb"`
	RSSAfterMB float64 `json:"rss_after_mb"`
	// RSSPer10kMB is (fleet - empty) for 10,000 vehicles: connections, vehicles' state and
	// their fixes waiting for a flush.
	RSSPer10kMB float64 `json:"rss_mb_per_10k_vehicles"`
	// The live heap after the same collections (go_memstats_heap_alloc_bytes), and its share
	// per 10,000 vehicles: RSS also holds what the collector has not given back.
	HeapEmptyMB  float64 `json:"heap_empty_mb"`
	HeapFleetMB  float64 `json:"heap_fleet_mb"`
	HeapPer10kMB float64 `json:"heap_mb_per_10k_vehicles"`
	// UnflushedMB is the embedded store's fixes waiting for a flush at the fleet's sample
	// (bw_sqlite_head_bytes; absent with PostgreSQL).
	UnflushedMB float64      `json:"unflushed_mb"`
	Zones       int          `json:"zones"`
	Geofence    string       `json:"geofence"`
	Store       string       `json:"store"`
	Items       bool         `json:"items"`
	LoadAvg     [2]string    `json:"load_avg"`
	Machine     benchMachine `json:"machine"`
}

// fleetOptions are bench's --fleet options.
type fleetOptions struct {
	vehicles int
	rate     int           // fixes/s over the fleet; 0: one a vehicle every 10 s
	run      time.Duration // how long the fleet sends
}

// benchFleet connects the fleet to srv, lets it send for o.run and reads the server's RSS.
// A vehicle sending at most one fix a second writes one frame at a time, as a terminal on
// the road does; a faster one pipelines bo.framesPerWrite, as the throughput bench does.
func benchFleet(ctx context.Context, srv *benchServer, o fleetOptions, bo benchOptions, res *fleetResult) error {
	if o.rate <= 0 {
		o.rate = max(o.vehicles/10, 1)
	}
	frames := bo.framesPerWrite
	if o.rate <= o.vehicles {
		frames = 1
	}
	res.Vehicles, res.OfferedPerS, res.FramesPerWrite = o.vehicles, float64(o.rate), frames
	res.SecondsPerFix = float64(o.vehicles) / float64(o.rate)
	srv.settle()
	empty := srv.collectedRSSKB(ctx)
	heapEmpty := srv.metric(ctx, "go_memstats_heap_alloc_bytes")

	// The fleet's figure is taken before the end, while every vehicle is still connected.
	sampleAt := o.run - 20*time.Second
	if o.run < time.Minute {
		sampleAt = o.run * 3 / 4
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var peak, fleet int64
	var unflushed, heap float64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
				mu.Lock()
				peak = max(peak, srv.rssKB())
				mu.Unlock()
			}
		}
	})
	wg.Go(func() {
		select {
		case <-runCtx.Done():
			return
		case <-time.After(sampleAt):
		}
		// Not runCtx: a server slow to answer must not lose the sample when the load ends.
		f := srv.collectedRSSKB(ctx)
		h, u := srv.metric(ctx, "go_memstats_heap_alloc_bytes"), srv.metric(ctx, "bw_sqlite_head_bytes")
		mu.Lock()
		fleet, heap, unflushed = f, h, u
		mu.Unlock()
	})
	bo.say("fleet: %d vehicles, one fix each every %.1f s (%d fixes/s, %d a write) for %s…", o.vehicles, res.SecondsPerFix, o.rate, frames, o.run)
	lr, err := sim.Load(ctx, sim.LoadConfig{Addr: srv.jt808, Terminals: o.vehicles, RatePerSecond: o.rate, Duration: o.run,
		FramesPerWrite: frames, Items: bo.items, PhoneBase: 15000000000})
	cancel()
	wg.Wait()
	if err != nil {
		return err
	}
	if lr.ConnectFailures > 0 {
		return fmt.Errorf("bench: --fleet: %d of %d vehicles could not connect", lr.ConnectFailures, o.vehicles)
	}
	time.Sleep(2 * time.Second) // the server closes the connections
	after := srv.collectedRSSKB(ctx)
	res.Seconds, res.AckedPerS, res.AckP99Ms = lr.Elapsed.Seconds(), lr.AckedPerSecond, ms(lr.P99)
	res.RSSEmptyMB, res.RSSFleetMB, res.RSSPeakMB, res.RSSAfterMB = mb(empty), mb(fleet), mb(max(peak, fleet)), mb(after)
	res.RSSPer10kMB = mb(fleet-empty) * 10000 / float64(o.vehicles)
	res.UnflushedMB = unflushed / (1 << 20)
	res.HeapEmptyMB, res.HeapFleetMB = heapEmpty/(1<<20), heap/(1<<20)
	res.HeapPer10kMB = (heap - heapEmpty) / (1 << 20) * 10000 / float64(o.vehicles)
	return nil
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

// metric reads one gauge of the server's /metrics (0 when it has none).
func (s *benchServer) metric(ctx context.Context, name string) float64 {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.http+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// printFleet prints a fleet run, as JSON or as text.
func printFleet(w io.Writer, res *fleetResult, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(res)
	}
	fmt.Fprintf(w, "\n%d vehicles, one fix each every %.1f s (%.0f fixes/s offered, %.0f acknowledged, ack p99 %.1f ms), %.0f s\n",
		res.Vehicles, res.SecondsPerFix, res.OfferedPerS, res.AckedPerS, res.AckP99Ms, res.Seconds)
	fmt.Fprintf(w, "server RSS: %.0f MB empty, %.0f MB with the fleet (peak %.0f MB; %.1f MB of fixes waiting for a flush), %.0f MB once it disconnected\n",
		res.RSSEmptyMB, res.RSSFleetMB, res.RSSPeakMB, res.UnflushedMB, res.RSSAfterMB)
	fmt.Fprintf(w, "live heap: %.0f MB empty, %.0f MB with the fleet\n", res.HeapEmptyMB, res.HeapFleetMB)
	fmt.Fprintf(w, "per 10,000 vehicles connected: %.0f MB of RSS, %.0f MB of live heap (load average %s → %s)\n",
		res.RSSPer10kMB, res.HeapPer10kMB, res.LoadAvg[0], res.LoadAvg[1])
	return nil
}

// benchFleetCommand is `borderwatch bench --fleet N`: a server as the throughput bench starts
// it (the district and synthetic zones), the fleet run, its figures.
func benchFleetCommand(ctx context.Context, fo fleetOptions, be benchBackends, zones int, asJSON, items bool, framesPerWrite int, stdout, stderr io.Writer) error {
	if be.store != "sqlite" && !strings.HasPrefix(be.store, "postgres://") && !strings.HasPrefix(be.store, "postgresql://") {
		return fmt.Errorf("bench: --store %q: want sqlite or postgres://…", be.store)
	}
	res := fleetResult{Geofence: be.geofence, Store: "sqlite", Items: items}
	if be.store != "sqlite" {
		res.Store = "postgres"
	}
	res.LoadAvg[0] = loadAvg()
	res.Machine = benchMachine{CPUModel: cpuModel(), CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	bo := benchOptions{items: items, framesPerWrite: framesPerWrite, say: func(format string, a ...any) {
		if !asJSON {
			fmt.Fprintf(stdout, format+"\n", a...)
		}
	}}
	bo.say("machine: %s, %d CPUs, load average %s", res.Machine.CPUModel, res.Machine.CPUs, res.LoadAvg[0])
	srv, err := startBenchServer(ctx, false, be, stderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	if res.Zones, err = srv.importSynthetic(ctx, zones); err != nil {
		return err
	}
	if err := benchFleet(ctx, srv, fo, bo, &res); err != nil {
		return err
	}
	res.LoadAvg[1] = loadAvg()
	return printFleet(stdout, &res, asJSON)
}
