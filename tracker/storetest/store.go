package storetest

import (
	"context"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// Store is the whole contract of a BorderWatch store as this suite checks it, each method's
// semantics written here once. The server's parts each declare the few methods they use
// (rules.Store, risk.Store, access.Store, notifier.Outbox, mapui.Store and the pipeline's
// tracker.Committer); a store that passes this suite serves them all.
type Store interface {
	// Positions. Commit stores the batch in one transaction. Fixes already stored (a stored report
	// of the same device and device time covers them) are skipped, marked in b.Duplicates and
	// given the stored copy's ID; every new fix gets a new ID. A report of a stored device time
	// that none covers gets a record of its own, merged with a stored report at its position or
	// else flagged tracker.FlagConflict (tracker.AgainstStored); a conflicting report never
	// becomes its vehicle's latest fix. The events of a fix already stored are skipped too (their ID stays 0): they
	// were stored with it, and a commit retried after its reply was lost must not store them
	// twice.
	Commit(ctx context.Context, b *tracker.Batch) error
	// Track returns a vehicle's fixes with from <= time < to, in device-time order.
	Track(ctx context.Context, vehicleID string, from, to time.Time) ([]tracker.Fix, error)
	// LatestFixes returns the newest fix of every vehicle.
	LatestFixes(ctx context.Context) ([]tracker.Fix, error)
	// SearchArea returns fixes inside the box over the period, at most limit, in time order.
	SearchArea(ctx context.Context, box tracker.Box, from, to time.Time, limit int) ([]tracker.Fix, error)

	// Vehicles and devices.
	tracker.DeviceLookup
	CreateDevice(ctx context.Context, d tracker.Device) error
	UpdateDevice(ctx context.Context, d tracker.Device) error
	DeleteDevice(ctx context.Context, id string) error
	Devices(ctx context.Context) ([]tracker.Device, error)
	// MarkRegistered records a terminal's first registration, atomically: the second is
	// tracker.ErrAlreadyRegistered until ResetRegistration. UpdateDevice leaves both alone.
	MarkRegistered(ctx context.Context, id string, at time.Time) error
	ResetRegistration(ctx context.Context, id string) error
	CreateVehicle(ctx context.Context, v tracker.Vehicle) error
	UpdateVehicle(ctx context.Context, v tracker.Vehicle) error
	DeleteVehicle(ctx context.Context, id string) error
	Vehicle(ctx context.Context, id string) (tracker.Vehicle, error)
	Vehicles(ctx context.Context) ([]tracker.Vehicle, error)

	// Geofences. PutZones replaces or adds all zones in one transaction, so an import is
	// all-or-nothing; each stored zone's Version is incremented.
	PutZones(ctx context.Context, zones []geofence.Zone) ([]geofence.Zone, error)
	DeleteZone(ctx context.Context, id string) error
	Zone(ctx context.Context, id string) (geofence.Zone, error)
	Zones(ctx context.Context) ([]geofence.Zone, error)

	// Declarations.
	CreateDeclaration(ctx context.Context, d tracker.Declaration) error
	// CloseDeclaration moves an active declaration to completed, expired or cancelled.
	CloseDeclaration(ctx context.Context, id, status, reason string, at time.Time) (tracker.Declaration, error)
	Declaration(ctx context.Context, id string) (tracker.Declaration, error)
	Declarations(ctx context.Context, q tracker.DeclarationQuery) ([]tracker.Declaration, error)

	// Weighbridge readings. AddWeighing stores one and returns its new ID (the ID given is
	// ignored); Weighings lists those matching the query, oldest first.
	AddWeighing(ctx context.Context, w tracker.Weighing) (int64, error)
	Weighings(ctx context.Context, q tracker.WeighingQuery) ([]tracker.Weighing, error)

	// Webhook receivers added from the screens. CreateWebhook stores a new one (a taken name is
	// tracker.ErrConflict); Webhooks lists them by name; SetWebhookEnabled enables or disables
	// one and returns it; DeleteWebhook removes one. Both of the last are tracker.ErrNotFound
	// for an unknown name.
	CreateWebhook(ctx context.Context, r tracker.WebhookReceiver) error
	Webhooks(ctx context.Context) ([]tracker.WebhookReceiver, error)
	SetWebhookEnabled(ctx context.Context, name string, enabled bool, at time.Time) (tracker.WebhookReceiver, error)
	DeleteWebhook(ctx context.Context, name string) error

	// Events and alerts, as Commit wrote them; alerts change along their lifecycle.
	Events(ctx context.Context, q tracker.EventQuery) ([]tracker.Event, error)
	// LatestEvents returns the newest event of a type of each vehicle that has one (of two at
	// the same time, the later stored), in vehicle order.
	LatestEvents(ctx context.Context, typ string) ([]tracker.Event, error)
	Alerts(ctx context.Context, q tracker.AlertQuery) ([]tracker.Alert, error)
	// CrossingCounts counts the border_cross events with from <= time < to by China day (UTC+8),
	// port (attribute port_zone_id) and direction; AlertCounts the alerts by the China day of
	// their first time, zone and type. Both ordered by day, zone, key.
	CrossingCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error)
	AlertCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error)
	Alert(ctx context.Context, id int64) (tracker.Alert, error)
	// SetAlertStatus moves an alert along open → acknowledged → resolved.
	SetAlertStatus(ctx context.Context, id int64, status, user, note string, at time.Time) (tracker.Alert, error)
	// ConfirmAlert records an alert as an offence, once (again: tracker.ErrTransition), with the
	// vehicle's plate of the moment, resolving it if it is not yet and noting it
	// (tracker.ConfirmedNote); Confirmations lists those at or after from, oldest first.
	ConfirmAlert(ctx context.Context, id int64, user, note string, at time.Time) (tracker.Alert, error)
	Confirmations(ctx context.Context, from time.Time) ([]tracker.Confirmation, error)

	// Users and sessions.
	CreateUser(ctx context.Context, u tracker.User) error
	UpdateUser(ctx context.Context, u tracker.User) error
	DeleteUser(ctx context.Context, username string) error
	User(ctx context.Context, username string) (tracker.User, error)
	Users(ctx context.Context) ([]tracker.User, error)
	CreateSession(ctx context.Context, s tracker.Session) error
	Session(ctx context.Context, tokenHash string) (tracker.Session, error)
	TouchSession(ctx context.Context, tokenHash string, at time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteUserSessions(ctx context.Context, username string) error

	// Login lockouts, shared by the servers on one store. AddLoginFailure counts a failure of
	// (username, addr) at at and returns the count: the first failure opens a window, and the
	// first failure once window has passed since it opens a new one. LoginFailures reads a count
	// (zero when there is none); ClearLoginFailures forgets one pair, or with addr "" every
	// address of username; SweepLoginFailures forgets the windows that began before before.
	AddLoginFailure(ctx context.Context, username, addr string, at time.Time, window time.Duration) (tracker.LoginFailures, error)
	LoginFailures(ctx context.Context, username, addr string) (tracker.LoginFailures, error)
	ClearLoginFailures(ctx context.Context, username, addr string) error
	SweepLoginFailures(ctx context.Context, before time.Time) error

	// The audit log is append-only: there is no update or delete. AppendAudit sets Seq and
	// PrevHash, seals the record with key (Alg, KeyID, Hash) and stores it.
	AppendAudit(ctx context.Context, r tracker.AuditRecord, key *tracker.AuditKey) (tracker.AuditRecord, error)
	Audit(ctx context.Context, afterSeq int64, limit int) ([]tracker.AuditRecord, error)
	AuditHead(ctx context.Context) (tracker.AuditRecord, error)

	// The webhook outbox: the durable queue of alert changes for webhooks (package notifier).
	// Changes are routed into one delivery per interested hook; a delivery stays pending until it
	// is delivered or fails permanently, across restarts. Several servers may share one
	// PostgreSQL outbox: leases keep them from sending the same delivery at once.
	//
	// Route takes up to limit changes not yet routed, oldest first, and adds for each a pending
	// delivery due at now to every hook that hooks names, in one transaction. It returns how
	// many changes it took. Servers sharing a database route one at a time.
	Route(ctx context.Context, limit int, now time.Time, hooks func(tracker.AlertChange) []string) (int, error)
	// ClaimDeliveries leases to owner, until now+lease, up to limit of hook's pending deliveries
	// due by now. Only the oldest pending delivery of each alert is due, so one alert's changes
	// reach a hook in order; a delivery another owner holds a lease on is skipped.
	ClaimDeliveries(ctx context.Context, hook, owner string, now time.Time, lease time.Duration, limit int) ([]tracker.Delivery, error)
	// RecordAttempts stores outcomes, counts the attempts and ends the leases. An outcome other
	// than delivered for a delivery whose lease owner has changed is ignored.
	RecordAttempts(ctx context.Context, owner string, attempts []tracker.DeliveryAttempt) error
	// Deliveries lists deliveries, newest first.
	Deliveries(ctx context.Context, q tracker.DeliveryQuery) ([]tracker.Delivery, error)
	// RetryDelivery makes a failed delivery pending again, due at now. ErrNotFound when no
	// failed delivery has that ID.
	RetryDelivery(ctx context.Context, id string, now time.Time) error
	// OutboxBacklog counts changes not yet routed and pending deliveries by hook.
	OutboxBacklog(ctx context.Context) (unrouted int, pending map[string]int, err error)
	// PruneOutbox deletes deliveries that ended before before, and routed changes no delivery
	// refers to any more. It returns how many rows it deleted.
	PruneOutbox(ctx context.Context, before time.Time) (int, error)

	// Targeting (package tracker/targeting): orders, assignments and inspection photos.
	CreateTarget(ctx context.Context, o tracker.TargetOrder) error
	UpdateTarget(ctx context.Context, o tracker.TargetOrder) (tracker.TargetOrder, error)
	Target(ctx context.Context, id string) (tracker.TargetOrder, error)
	Targets(ctx context.Context, q tracker.TargetQuery) ([]tracker.TargetOrder, error)
	CreateAssignment(ctx context.Context, a tracker.Assignment) error
	UpdateAssignment(ctx context.Context, a tracker.Assignment) (tracker.Assignment, error)
	Assignment(ctx context.Context, id string) (tracker.Assignment, error)
	Assignments(ctx context.Context, q tracker.AssignmentQuery) ([]tracker.Assignment, error)
	PutPhoto(ctx context.Context, p tracker.Photo) error
	Photo(ctx context.Context, orderID, sha256 string) (tracker.Photo, error)
	Photos(ctx context.Context, orderID string) ([]tracker.Photo, error)

	// Ping reports whether the store can take writes now (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}
