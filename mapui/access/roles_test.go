package access_test

import (
	"slices"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
)

// TestRoles pins the separation of duties: who may do what, and that Allowed and Permissions
// agree.
func TestRoles(t *testing.T) {
	all := []access.Permission{access.PermView, access.PermTrack, access.PermSearch, access.PermExport, access.PermHandleAlerts, access.PermRegistry,
		access.PermZones, access.PermDeclarations, access.PermGate, access.PermUsersRead, access.PermUsers, access.PermRoles, access.PermAudit, access.PermWebhooks,
		access.PermTarget, access.PermDispatch, access.PermInspect, access.PermCluster, access.PermWeighings}
	want := map[string][]access.Permission{
		// Three administrators (三权分立): nobody but the auditor reads the audit, nobody but the
		// security administrator gives roles.
		access.RoleAdmin: {access.PermView, access.PermTrack, access.PermSearch, access.PermExport, access.PermHandleAlerts, access.PermRegistry,
			access.PermZones, access.PermDeclarations, access.PermGate, access.PermUsersRead, access.PermUsers, access.PermWebhooks, access.PermCluster, access.PermWeighings},
		access.RoleSecurity: {access.PermUsersRead, access.PermRoles},
		access.RoleCommand: {access.PermView, access.PermTrack, access.PermHandleAlerts, access.PermDeclarations, access.PermGate,
			access.PermTarget, access.PermDispatch, access.PermInspect, access.PermWeighings},
		access.RolePatrol:       {access.PermView, access.PermTrack, access.PermHandleAlerts, access.PermInspect},
		access.RoleInvestigator: {access.PermView, access.PermTrack, access.PermSearch, access.PermExport},
		access.RoleAuditor:      {access.PermAudit},
		"":                      {},
		"root":                  {},
	}
	for role, perms := range want {
		got := access.Permissions(role)
		if got == nil || !slices.Equal(got, perms) {
			t.Errorf("Permissions(%q) = %#v, want %v", role, got, perms)
		}
		for _, p := range all {
			if access.Allowed(role, p) != slices.Contains(perms, p) {
				t.Errorf("Allowed(%q, %q) = %v", role, p, access.Allowed(role, p))
			}
		}
	}
	access.Permissions(access.RoleAuditor)[0] = access.PermUsers
	if access.Allowed(access.RoleAuditor, access.PermUsers) {
		t.Error("changing the slice Permissions returned changed the matrix")
	}
	for role, admin := range map[string]bool{access.RoleAdmin: true, access.RoleSecurity: true, access.RoleAuditor: true, access.RolePatrol: false, "root": false} {
		if access.IsAdministrator(role) != admin {
			t.Errorf("IsAdministrator(%q) = %v", role, !admin)
		}
	}
}
