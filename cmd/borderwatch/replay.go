package main

import (
	"context"
	"fmt"
	"time"

	"github.com/borderwatch/borderwatch/cluster"
	"github.com/borderwatch/borderwatch/tracker"
)

// restartReplayWindow is how much of each vehicle's track a starting server evaluates again:
// a cluster's take-over replays as much (cluster.Config.ReplayWindow), and it is three times
// the unauthorized stop's 10 minutes.
const restartReplayWindow = 30 * time.Minute

// replayRecent evaluates again, through a pipeline that stores and publishes nothing, the
// fixes each vehicle reported in the restartReplayWindow before its newest stored fix, for the
// vehicles whose newest fix is that recent: the rules' stops, stretches off a corridor and
// recent fixes go on across the restart. Alerts the replay raises were stored when the fixes
// were first evaluated, and the rules remember them: a stop alerted before the restart is not
// alerted again after it.
func (a *app) replayRecent(ctx context.Context, latest []tracker.Fix) error {
	now := time.Now
	if a.cfg.Now != nil {
		now = a.cfg.Now
	}
	p := cluster.NewReplay(a.rules, now, a.log)
	defer p.Close()
	began, since := time.Now(), now().Add(-restartReplayWindow)
	vehicles, fixes := 0, 0
	for _, l := range latest {
		if l.Time.Before(since) {
			continue
		}
		track, err := a.store.Track(ctx, l.VehicleID, l.Time.Add(-restartReplayWindow), l.Time.Add(time.Microsecond))
		if err != nil {
			return fmt.Errorf("the track of %s: %w", l.VehicleID, err)
		}
		if len(track) == 0 {
			continue
		}
		if err := p.Submit(ctx, track); err != nil {
			return fmt.Errorf("%s: %w", l.VehicleID, err)
		}
		vehicles, fixes = vehicles+1, fixes+len(track)
	}
	if vehicles > 0 {
		a.log.Info("recent fixes evaluated again after the start", "vehicles", vehicles, "fixes", fixes,
			"window", restartReplayWindow, "took", time.Since(began).Round(time.Millisecond))
	}
	return nil
}
