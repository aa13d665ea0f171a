package sim

import (
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func alert(typ, vehicle string, t time.Time) tracker.Alert {
	return tracker.Alert{Type: typ, VehicleID: vehicle, Time: t}
}

func alerts(as ...tracker.Alert) []tracker.Alert { return as }
