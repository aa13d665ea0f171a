package access_test

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

const adminPassword = "Admin-Passw0rd-1"

// auditKey seals the audit log of newService's Service.
var auditKey, _ = tracker.NewAuditKey([]byte("access test audit key, 32 bytes or more"))

// newService returns a Service over a new store that has the user admin.
func newService(t *testing.T) (*access.Service, *sqlitestore.Store) {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := access.New(st, access.Options{AuditKey: auditKey})
	if _, err := svc.EnsureAdmin(t.Context(), adminPassword); err != nil {
		t.Fatal(err)
	}
	return svc, st
}

// tokenHash is the session scheme written out again: sessions are stored under the hex SHA-256
// of their token, and a change would end every open session.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// audited returns the audit log as "actor action object result" lines.
func audited(t *testing.T, svc *access.Service) []string {
	t.Helper()
	recs, err := svc.Audit(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Actor+" "+r.Action+" "+r.Object+" "+r.Result)
	}
	return out
}
