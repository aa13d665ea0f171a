package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/geofence"
)

// newTile38Engine connects to the Tile38 server named by BW_GEOFENCE=tile38://host:port[/prefix]
// (the prefix names the server's keys, "bw" by default, so districts can share a server).
func newTile38Engine(cfg config) (geofence.Engine, error) {
	addr, err := geofence.ParseTile38URL(cfg.Geofence)
	if err != nil {
		return nil, fmt.Errorf("BW_GEOFENCE: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := geofence.NewTile38(ctx, addr, geofence.Options{})
	if err != nil {
		return nil, fmt.Errorf("BW_GEOFENCE=%s: Tile38 unreachable or unusable (is tile38-server running there?): %w", cfg.Geofence, err)
	}
	return e, nil
}

// registerTile38Metrics exposes the Tile38 backend's traffic: what a fix costs Tile38 is the
// commands and bytes it is sent per fix.
func registerTile38Metrics(reg prometheus.Registerer, e *geofence.Tile38) {
	for _, m := range []struct {
		name, help string
		v          func(geofence.Tile38Stats) uint64
	}{
		{"bw_tile38_commands_total", "Commands sent to Tile38 (SETs posted included).", func(s geofence.Tile38Stats) uint64 { return s.Commands }},
		{"bw_tile38_sent_bytes_total", "Bytes of the commands sent to Tile38.", func(s geofence.Tile38Stats) uint64 { return s.Bytes }},
		{"bw_tile38_round_trips_total", "Batches of commands sent to Tile38 and waited for.", func(s geofence.Tile38Stats) uint64 { return s.RoundTrips }},
		{"bw_tile38_cell_queries_total", "Queries of the zones around a vehicle (its cell).", func(s geofence.Tile38Stats) uint64 { return s.CellQueries }},
		{"bw_tile38_refused_posts_total", "Error replies of Tile38 to SETs whose replies are not waited for.", func(s geofence.Tile38Stats) uint64 { return s.RefusedPosts }},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help},
			func() float64 { return float64(m.v(e.Stats())) }))
	}
}
