package sqlitestore_test

import (
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// The store keeps access's users, sessions and audit log.
var _ access.Store = (*sqlitestore.Store)(nil)
