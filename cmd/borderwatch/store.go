package main

import (
	"context"
	"time"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/notifier"
	"github.com/borderwatch/borderwatch/tracker/risk"
	"github.com/borderwatch/borderwatch/tracker/rules"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// store is what the server's parts need of a store, each through its own interface; the
// embedded and the PostgreSQL store implement all of them.
type store interface {
	mapui.Store
	access.Store
	notifier.Outbox
	risk.Store
	rules.Store
	targeting.Store
	tracker.Committer
	tracker.Registrar

	// Confirmations: the alerts officers confirmed as offences, for the repeat offenders.
	Confirmations(ctx context.Context, from time.Time) ([]tracker.Confirmation, error)

	Close() error
}
