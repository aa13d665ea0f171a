package pgstore_test

import (
	"github.com/borderwatch/borderwatch/tracker/notifier"
	"github.com/borderwatch/borderwatch/tracker/pgstore"
)

var _ notifier.Outbox = (*pgstore.Store)(nil)
