package access

import "slices"

// Roles of the external contract.
const (
	RoleAdmin        = "admin"
	RoleCommand      = "command"
	RolePatrol       = "patrol"
	RoleInvestigator = "investigator"
	RoleAuditor      = "auditor"
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
	PermUsers        Permission = "users.edit"
	PermAudit        Permission = "audit.read"
	PermWebhooks     Permission = "webhooks.manage" // see and resend webhook deliveries
)

// rolePermissions separates duties as MLPS level 3 asks: the administrator manages users and
// configuration, the auditor alone (with the administrator) reads the audit, and nobody can
// change it.
var rolePermissions = map[string][]Permission{
	RoleAdmin:        {PermView, PermTrack, PermSearch, PermExport, PermHandleAlerts, PermRegistry, PermZones, PermDeclarations, PermGate, PermUsers, PermAudit, PermWebhooks},
	RoleCommand:      {PermView, PermTrack, PermHandleAlerts, PermDeclarations, PermGate},
	RolePatrol:       {PermView, PermTrack, PermHandleAlerts},
	RoleInvestigator: {PermView, PermTrack, PermSearch, PermExport},
	RoleAuditor:      {PermAudit},
}

// Allowed reports whether role has perm.
func Allowed(role string, perm Permission) bool {
	return slices.Contains(rolePermissions[role], perm)
}

// Permissions returns what role may do, in the matrix's order; empty (not nil) for an unknown role.
func Permissions(role string) []Permission {
	return append([]Permission{}, rolePermissions[role]...)
}

func validRole(role string) bool {
	_, ok := rolePermissions[role]
	return ok
}
