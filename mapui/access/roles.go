package access

import "slices"

// Roles of the external contract.
const (
	RoleAdmin        = "admin"    // system administrator: accounts, devices, zones, operations
	RoleSecurity     = "security" // security administrator: roles, password and lockout policy, unlocks
	RoleAuditor      = "auditor"  // audit administrator: reads and verifies the audit, alone
	RoleCommand      = "command"
	RolePatrol       = "patrol"
	RoleInvestigator = "investigator"
)

// Permission is one thing a role may do. The matrix is the single place that decides it.
type Permission string

// Permissions checked by the API and the live hub.
const (
	PermView         Permission = "view"          // positions, vehicles, devices, zones, events, alerts, live
	PermTrack        Permission = "track"         // one vehicle's track
	PermSearch       Permission = "search"        // every vehicle in an area over a period
	PermExport       Permission = "export"        // track exports (evidence)
	PermHandleAlerts Permission = "alerts.handle" // acknowledge and resolve
	PermRegistry     Permission = "registry.edit" // vehicles and devices
	PermZones        Permission = "zones.edit"
	PermDeclarations Permission = "declarations.edit"
	PermGate         Permission = "gate.post"
	PermUsersRead    Permission = "users.read"  // list the accounts
	PermUsers        Permission = "users.edit"  // create, disable, delete and reset non-administrator accounts
	PermRoles        Permission = "users.roles" // assign roles; administrators' accounts; unlocks
	PermAudit        Permission = "audit.read"
	PermWebhooks     Permission = "webhooks.manage"  // see and resend webhook deliveries
	PermTarget       Permission = "targets.issue"    // issue and cancel targeting orders (布控)
	PermDispatch     Permission = "targets.dispatch" // send teams and patrols to orders and alerts
	PermInspect      Permission = "targets.inspect"  // accept, arrive, photograph and report inspections
	PermCluster      Permission = "cluster.read"     // the cluster's nodes, partitions and lag
	PermWeighings    Permission = "weighings.post"   // weighbridge readings, from the scales' systems or their officers
)

// rolePermissions separates duties as MLPS level 3 asks (三权分立): the system administrator
// runs accounts and operations, the security administrator alone assigns roles and looks after
// administrators' accounts, the audit administrator alone reads the audit, and nobody can
// change it.
var rolePermissions = map[string][]Permission{
	RoleAdmin:        {PermView, PermTrack, PermSearch, PermExport, PermHandleAlerts, PermRegistry, PermZones, PermDeclarations, PermGate, PermUsersRead, PermUsers, PermWebhooks, PermCluster, PermWeighings},
	RoleSecurity:     {PermUsersRead, PermRoles},
	RoleAuditor:      {PermAudit},
	RoleCommand:      {PermView, PermTrack, PermHandleAlerts, PermDeclarations, PermGate, PermTarget, PermDispatch, PermInspect, PermWeighings},
	RolePatrol:       {PermView, PermTrack, PermHandleAlerts, PermInspect},
	RoleInvestigator: {PermView, PermTrack, PermSearch, PermExport},
}

// administrators are the roles whose accounts only the security administrator manages, and
// which need a second factor.
var administrators = []string{RoleAdmin, RoleSecurity, RoleAuditor}

// Allowed reports whether role has perm.
func Allowed(role string, perm Permission) bool {
	return slices.Contains(rolePermissions[role], perm)
}

// Permissions returns what role may do, in the matrix's order; empty (not nil) for an unknown role.
func Permissions(role string) []Permission {
	return append([]Permission{}, rolePermissions[role]...)
}

// IsAdministrator reports whether role is one of the three administrators'.
func IsAdministrator(role string) bool {
	return slices.Contains(administrators, role)
}

func validRole(role string) bool {
	_, ok := rolePermissions[role]
	return ok
}
