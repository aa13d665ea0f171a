package tracker

import "time"

// GateRead is a plate or IC card read at a port gate.
type GateRead struct {
	GateZoneID string    `json:"gate_zone_id"`
	Time       time.Time `json:"time"`
	Plate      string    `json:"plate"`
	CardID     string    `json:"card_id"`
	Direction  string    `json:"direction"` // "in" or "out"
}

// Event turns the read into the gate_read event stored for it; vehicleID is the vehicle its
// plate or card matched, "" for an unknown plate (recorded, not refused).
func (g GateRead) Event(vehicleID string) Event {
	return Event{
		Type:      EventGateRead,
		Time:      g.Time.UTC(),
		VehicleID: vehicleID,
		ZoneID:    g.GateZoneID,
		Attrs: map[string]any{
			"plate":     g.Plate,
			"card_id":   g.CardID,
			"direction": g.Direction,
			"matched":   vehicleID != "",
		},
	}
}
