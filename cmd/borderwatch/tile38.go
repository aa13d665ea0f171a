package main

import (
	"context"
	"fmt"
	"time"

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
