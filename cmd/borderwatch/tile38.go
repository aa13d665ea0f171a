package main

import (
	"errors"

	"github.com/borderwatch/borderwatch/geofence"
)

func newTile38Engine(cfg config) (geofence.Engine, error) {
	return nil, errors.New("the Tile38 geofence backend is not in this build yet; use BW_GEOFENCE=embedded")
}
