package tracker

import (
	"encoding/json"
	"time"
)

// Event types of the external contract.
const (
	EventZoneEnter   = "zone_enter"
	EventZoneExit    = "zone_exit"
	EventBorderCross = "border_cross"
	EventStopStart   = "stop_start"
	EventStopEnd     = "stop_end"
	EventGateRead    = "gate_read"
	// EventDriverIdentity: a driver's IC card inserted or removed (JT/T 808 0x0702). Attrs:
	// inserted, card_id, driver_name, certificate, authority, valid_to (YYYY-MM-DD), id_number,
	// read_result (non-zero: the card could not be read), device_id.
	EventDriverIdentity = "driver_identity"
	// EventWaybill: an electronic waybill from the terminal (JT/T 808 0x0701). Attrs: content
	// (text) or content_hex, device_id.
	EventWaybill = "waybill"
	// EventSealUnlocked: an e-seal unlocked or tampered with (an alert too where it must not be).
	EventSealUnlocked = "seal_unlocked"
	// EventDeviceAlarm: an alarm a device reported without a position (GT06 0x19, 0xA5, the
	// short 0x95). Lat and Lon are 0. Attrs: flags ([]string, FlagSOS among them for an SOS),
	// alarm_code, device_id, protocol, and the serving cell (mcc, mnc, lac, cell_id) when sent.
	EventDeviceAlarm = "device_alarm"
	// EventEmergencyHeld: an alert an emergency window held back instead of raising (or its
	// update), kept so that a restart in the window still reviews it. Attrs: declaration_id,
	// alert (the alert as its JSON object).
	EventEmergencyHeld = "emergency_held"
)

// Event is something a vehicle did: entered or left a zone, crossed the border, stopped.
// Attrs carries type-specific fields (port_zone_id, direction, duration_s, …), flattened into
// the JSON object beside the common ones.
type Event struct {
	ID        int64
	Type      string
	Time      time.Time
	VehicleID string
	ZoneID    string
	Lat, Lon  float64
	FixID     int64
	FixSeq    uint64 // the Seq of the fix that caused it (0: none); Commit sets FixID from it
	Late      bool
	Attrs     map[string]any
}

// MarshalJSON flattens Attrs beside the common fields.
func (e Event) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 10+len(e.Attrs))
	for k, v := range e.Attrs {
		m[k] = v
	}
	m["id"] = e.ID
	m["type"] = e.Type
	m["time"] = e.Time.UTC()
	m["vehicle_id"] = e.VehicleID
	if e.ZoneID != "" {
		m["zone_id"] = e.ZoneID
	} else {
		m["zone_id"] = nil
	}
	m["lat"] = e.Lat
	m["lon"] = e.Lon
	if e.FixID != 0 {
		m["fix_id"] = e.FixID
	}
	m["late"] = e.Late
	return json.Marshal(m)
}

// UnmarshalJSON is MarshalJSON's inverse.
func (e *Event) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	var out Event
	for k, v := range m {
		switch k {
		case "id":
			f, _ := v.(float64)
			out.ID = int64(f)
		case "type":
			out.Type, _ = v.(string)
		case "time":
			s, _ := v.(string)
			out.Time, _ = time.Parse(time.RFC3339Nano, s)
		case "vehicle_id":
			out.VehicleID, _ = v.(string)
		case "zone_id":
			out.ZoneID, _ = v.(string)
		case "lat":
			out.Lat, _ = v.(float64)
		case "lon":
			out.Lon, _ = v.(float64)
		case "fix_id":
			f, _ := v.(float64)
			out.FixID = int64(f)
		case "late":
			out.Late, _ = v.(bool)
		default:
			if out.Attrs == nil {
				out.Attrs = map[string]any{}
			}
			out.Attrs[k] = v
		}
	}
	*e = out
	return nil
}
