package pgstore_test

import (
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker/pgstore"
)

// The store keeps access's users, sessions and audit log.
var _ access.Store = (*pgstore.Store)(nil)
