package sqlitestore_test

import (
	"github.com/borderwatch/borderwatch/tracker/notifier"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

var _ notifier.Outbox = (*sqlitestore.Store)(nil)
