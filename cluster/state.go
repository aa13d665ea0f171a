package cluster

import (
	"context"
	"log/slog"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/rules"
)

// RulesState is the State of a tracker whose pipeline evaluates with a rules engine: the rules'
// vehicles embed the pipeline's.
type RulesState struct {
	Rules    *rules.Engine
	Pipeline *tracker.Pipeline
}

// Forget drops the selected vehicles' state in the rules, the pipeline and the geofence engine.
func (s RulesState) Forget(match func(vehicleID string) bool) { s.Rules.Forget(match) }

// Restore takes the selected vehicles' state from the store, as the rules do at a restart.
func (s RulesState) Restore(ctx context.Context, match func(vehicleID string) bool) error {
	return s.Rules.Restore(ctx, match)
}

// Seed gives the vehicles their newest stored fix.
func (s RulesState) Seed(fixes []tracker.Fix) {
	s.Rules.Seed(fixes)
	s.Pipeline.Seed(fixes)
}

// NewReplay returns a tracker's Replay sink: a pipeline over ev whose commits go nowhere, so
// that fixes already stored move the vehicles' state without being stored or published again.
// now is the server's clock (nil: the wall clock). A single server replays through it too
// when it starts (see the README's "After a restart").
func NewReplay(ev tracker.Evaluator, now func() time.Time, log *slog.Logger) *tracker.Pipeline {
	return tracker.NewPipeline(tracker.PipelineConfig{Store: discard{}, Evaluator: ev, Logger: log, Now: now})
}

// discard commits nothing: a replay's output was stored when the fixes were first evaluated.
type discard struct{}

func (discard) Commit(_ context.Context, b *tracker.Batch) error {
	b.Duplicates = append(b.Duplicates[:0], make([]bool, len(b.Fixes))...)
	return nil
}
