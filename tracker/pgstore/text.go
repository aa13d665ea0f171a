package pgstore

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/borderwatch/borderwatch/tracker"
)

// PostgreSQL's text holds neither NUL nor invalid UTF-8, nor does jsonb hold \u0000: one such
// string from a terminal would fail its whole batch, at every retry. They are stored with
// U+FFFD in their place.

// validText is s as text can hold it.
func validText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\ufffd"), "\x00", "\ufffd")
}

// validFixText makes the identifiers, flags and attributes of fixes what text and jsonb can
// hold, in place: the batch then holds what was stored, and a resent copy of a fix is judged
// against it. A flags slice or attributes map changed is a new one, never the caller's.
func validFixText(fixes []tracker.Fix) {
	for i := range fixes {
		f := &fixes[i]
		f.VehicleID, f.DeviceID, f.Protocol = validText(f.VehicleID), validText(f.DeviceID), validText(f.Protocol)
		cloned := false
		for j, fl := range f.Flags {
			if v := validText(fl); v != fl {
				if !cloned {
					f.Flags, cloned = slices.Clone(f.Flags), true
				}
				f.Flags[j] = v
			}
		}
		if !validValue(f.Attrs) {
			var attrs map[string]any
			if json.Unmarshal(jsonOrNil(f.Attrs).([]byte), &attrs) == nil {
				f.Attrs = attrs
			}
		}
	}
}

// validOutputText makes the text of events and alerts what text can hold, in place, as
// validFixText does for fixes: an alert's message or dedup key carries what a terminal sent (a
// plate, a driver's text), and one NUL in it failed the whole group commit at every retry.
func validOutputText(events []tracker.Event, alerts []tracker.Alert) {
	for i := range events {
		e := &events[i]
		e.Type, e.VehicleID, e.ZoneID = validText(e.Type), validText(e.VehicleID), validText(e.ZoneID)
	}
	for i := range alerts {
		a := &alerts[i]
		a.Type, a.Severity, a.Status = validText(a.Type), validText(a.Severity), validText(a.Status)
		a.VehicleID, a.Message, a.DedupKey = validText(a.VehicleID), validText(a.Message), validText(a.DedupKey)
		a.ZoneID, a.DeclarationID = validTextPtr(a.ZoneID), validTextPtr(a.DeclarationID)
	}
}

// validTextPtr is validText of *p, p itself when it is nil or already valid.
func validTextPtr(p *string) *string {
	if p == nil || validText(*p) == *p {
		return p
	}
	v := validText(*p)
	return &v
}

// validFix reports whether validFixText would leave f as it is.
func validFix(f *tracker.Fix) bool {
	if validText(f.VehicleID) != f.VehicleID || validText(f.DeviceID) != f.DeviceID || validText(f.Protocol) != f.Protocol {
		return false
	}
	for _, fl := range f.Flags {
		if validText(fl) != fl {
			return false
		}
	}
	return validValue(f.Attrs)
}

// validValue reports whether the strings of an attribute value, and of the maps and slices in
// it, are all valid text. JSON makes the rest so (invalid UTF-8 is U+FFFD, NUL see withoutNUL).
func validValue(v any) bool {
	switch x := v.(type) {
	case string:
		return validText(x) == x
	case map[string]any:
		for k, e := range x {
			if validText(k) != k || !validValue(e) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !validValue(e) {
				return false
			}
		}
	case []string:
		for _, e := range x {
			if validText(e) != e {
				return false
			}
		}
	}
	return true
}

// jsonNUL is how encoding/json writes a NUL, which jsonb refuses.
var jsonNUL = []byte(`\u0000`)

// withoutNUL is JSON text b with its \u0000 escapes made \ufffd (b itself when it has none).
func withoutNUL(b []byte) []byte {
	if !bytes.Contains(b, jsonNUL) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] != '\\' || i+1 == len(b):
			out = append(out, b[i])
		case bytes.HasPrefix(b[i:], jsonNUL):
			out = append(out, `\ufffd`...)
			i += len(jsonNUL) - 1
		default: // another escape, \\ among them: kept whole, so its second byte starts nothing
			out = append(out, b[i], b[i+1])
			i++
		}
	}
	return out
}
