package mapui_test

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui"
)

// The web app learns from /api/v1/config whether the data's clock is the wall clock or a
// simulated one (the demo's), and how fast it runs.
func TestConfigSaysWhetherTheClockIsSimulated(t *testing.T) {
	type answer struct {
		ServerTime     time.Time `json:"server_time"`
		SimulatedClock bool      `json:"simulated_clock"`
		ClockSpeedup   float64   `json:"clock_speedup"`
		Timezone       string    `json:"timezone"`
	}
	wall := newAPI(t)
	tok := wall.login("command1", "Role-command-Pw1", 200)
	var got answer
	wall.req("GET", "/api/v1/config", tok, nil, 200, &got)
	if got.SimulatedClock || got.ClockSpeedup != 1 || got.Timezone != "Asia/Shanghai" || time.Since(got.ServerTime).Abs() > time.Minute {
		t.Errorf("wall clock: %+v", got)
	}
	simStart := time.Date(2026, 5, 4, 1, 0, 0, 0, time.UTC)
	demo := newAPI(t, func(c *mapui.Config) {
		c.Now, c.ClockSpeedup = func() time.Time { return simStart }, 60
	})
	tok = demo.login("command1", "Role-command-Pw1", 200)
	demo.req("GET", "/api/v1/config", tok, nil, 200, &got)
	if !got.SimulatedClock || got.ClockSpeedup != 60 || !got.ServerTime.Equal(simStart) {
		t.Errorf("simulated clock: %+v", got)
	}
}
