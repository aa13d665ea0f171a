package sim

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultScenario(t *testing.T) {
	s := DefaultScenario()
	n := 0
	for _, f := range s.Fleets {
		n += f.Count
	}
	if n < 450 || n > 550 {
		t.Errorf("default scenario has %d vehicles, want about 500", n)
	}
}

func TestScenarioErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"syntax", "{\n \"name\": \"x\",\n \"fleets\": [\n  {\"name\": \"a\",}\n ]\n}", 4, "invalid character"},
		{"unknown top field", "{\n \"name\": \"x\",\n \"colour\": 1\n}", 3, `unknown field "colour"`},
		{"unknown fleet field", "{\n \"fleets\": [\n  {\"name\": \"a\"},\n  {\"name\": \"b\", \"speed\": 3}\n ]\n}", 4, `unknown field "speed"`},
		{"wrong type", "{\n \"fleets\": [\n  {\"name\": \"a\",\n   \"count\": \"ten\"}\n ]\n}", 4, "count"},
		{"bad road", "{\n \"fleets\": [\n  {\"name\": \"a\", \"count\": 1, \"kind\": \"truck\", \"terminal\": \"gt06\", \"trip\": \"haul\",\n   \"feeder\": \"road-nowhere\", \"route\": \"road-ceke-yard1\", \"cruise_kmh\": [50, 80]}\n ]\n}", 3, `feeder "road-nowhere" is not a district road`},
		{"feeder of another port", "{\n \"fleets\": [\n\n  {\"name\": \"a\", \"count\": 1, \"kind\": \"truck\", \"terminal\": \"gt06\", \"trip\": \"haul\",\n   \"feeder\": \"road-khangi-mandula\", \"route\": \"road-ceke-yard1\", \"cruise_kmh\": [50, 80]}\n ]\n}", 4, "does not lead to port-ceke"},
		{"bad terminal", "{\"fleets\": [\n {\"name\": \"a\", \"count\": 1, \"kind\": \"car\", \"terminal\": \"tk103\", \"trip\": \"rover\", \"port\": \"port-ceke\", \"cruise_kmh\": [30, 40]}]}", 2, "terminal \"tk103\""},
		{"bad anomaly", "{\"fleets\": [\n {\"name\": \"a\", \"count\": 1, \"kind\": \"car\", \"terminal\": \"gt06\", \"trip\": \"rover\", \"port\": \"port-ceke\", \"cruise_kmh\": [30, 40]}],\n \"anomalies\": [\n  {\"type\": \"detour\", \"every\": \"20m\"},\n  {\"type\": \"teleport\", \"every\": \"20m\"}]}", 5, `anomaly type "teleport"`},
		{"bad duration", "{\"report_interval\": [\"10s\", \"30s\"],\n \"anomalies\": [\n  {\"type\": \"detour\", \"every\": \"often\"}]}", 3, "invalid duration"},
		{"truncated", "{\"fleets\": [\n", 2, "unexpected end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario("f.json", []byte(tc.src))
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *ScenarioError", err)
			}
			if se.File != "f.json" || se.Line != tc.line || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("got %q, want f.json:%d: …%s…", err, tc.line, tc.msg)
			}
		})
	}
}
