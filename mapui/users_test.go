package mapui_test

import (
	"strings"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// TestSeparationOfDutiesHTTP: the system administrator tries the other administrators' duties
// over the API (reading the audit, giving roles, taking over the security administrator's
// account) and is refused; the security administrator's change of an administrator's account is
// in the audit, with before and after, for the auditor to see.
func TestSeparationOfDutiesHTTP(t *testing.T) {
	a := newAPI(t)
	a.do("GET", "/api/v1/audit", access.RoleAdmin, nil, 403)
	a.do("GET", "/api/v1/audit/verify", access.RoleAdmin, nil, 403)
	a.do("PUT", "/api/v1/users/patrol1", access.RoleAdmin, map[string]string{"role": "admin"}, 403)
	a.do("PUT", "/api/v1/users/admin", access.RoleAdmin, map[string]string{"role": "security"}, 400) // not even their own
	a.do("PUT", "/api/v1/users/security1", access.RoleAdmin, map[string]string{"password": "Taken-Over-Pw1"}, 403)
	a.do("PUT", "/api/v1/users/auditor1", access.RoleAdmin, map[string]any{"disabled": true}, 403)
	a.do("DELETE", "/api/v1/users/security1", access.RoleAdmin, nil, 403)
	a.do("POST", "/api/v1/users", access.RoleAdmin, map[string]string{"username": "auditor2", "password": "Good-Passw0rd-1", "role": "auditor"}, 403)
	a.do("PUT", "/api/v1/users/security1", access.RoleSecurity, map[string]string{"role": "admin"}, 400)
	a.do("GET", "/api/v1/positions", access.RoleSecurity, nil, 403)

	a.do("PUT", "/api/v1/users/admin", access.RoleSecurity, map[string]string{"password": "Reset-Passw0rd-1"}, 200)
	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit", a.tokens[access.RoleAuditor], nil, 200, &audit)
	var seen bool
	for _, r := range audit.Records {
		if r.Action == "user.update" && r.Object == "user:admin" {
			seen = r.Actor == "security1" && r.Addr == "127.0.0.1" &&
				strings.Contains(string(r.Detail), `"before":{"role":"admin","disabled":false}`) &&
				strings.Contains(string(r.Detail), `"password":"changed"`)
		}
	}
	if !seen {
		t.Errorf("the auditor does not see the security administrator's reset of admin's password: %+v", audit.Records)
	}
}
