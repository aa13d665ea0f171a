package mapui

import (
	"context"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// Store is what the API's handlers read and write. Both stores implement it; the conformance
// suite (tracker/storetest) documents and checks each method's semantics. Users, sessions and
// the audit log are access's, through Config.Access.
type Store interface {
	// Ping reports whether the store takes writes now (/readyz).
	Ping(ctx context.Context) error

	Track(ctx context.Context, vehicleID string, from, to time.Time) ([]tracker.Fix, error)
	LatestFixes(ctx context.Context) ([]tracker.Fix, error)
	SearchArea(ctx context.Context, box tracker.Box, from, to time.Time, limit int) ([]tracker.Fix, error)

	Device(ctx context.Context, id string) (tracker.Device, error)
	Devices(ctx context.Context) ([]tracker.Device, error)
	CreateDevice(ctx context.Context, d tracker.Device) error
	UpdateDevice(ctx context.Context, d tracker.Device) error
	DeleteDevice(ctx context.Context, id string) error
	ResetRegistration(ctx context.Context, id string) error
	Vehicle(ctx context.Context, id string) (tracker.Vehicle, error)
	Vehicles(ctx context.Context) ([]tracker.Vehicle, error)
	CreateVehicle(ctx context.Context, v tracker.Vehicle) error
	UpdateVehicle(ctx context.Context, v tracker.Vehicle) error
	DeleteVehicle(ctx context.Context, id string) error

	Zone(ctx context.Context, id string) (geofence.Zone, error)
	Zones(ctx context.Context) ([]geofence.Zone, error)
	PutZones(ctx context.Context, zones []geofence.Zone) ([]geofence.Zone, error)
	DeleteZone(ctx context.Context, id string) error

	Declaration(ctx context.Context, id string) (tracker.Declaration, error)
	Declarations(ctx context.Context, q tracker.DeclarationQuery) ([]tracker.Declaration, error)
	CreateDeclaration(ctx context.Context, d tracker.Declaration) error
	CloseDeclaration(ctx context.Context, id, status, reason string, at time.Time) (tracker.Declaration, error)

	Events(ctx context.Context, q tracker.EventQuery) ([]tracker.Event, error)
	// LatestEvents is the newest event of a type of every vehicle (their drivers).
	LatestEvents(ctx context.Context, typ string) ([]tracker.Event, error)
	Alert(ctx context.Context, id int64) (tracker.Alert, error)
	Alerts(ctx context.Context, q tracker.AlertQuery) ([]tracker.Alert, error)
	SetAlertStatus(ctx context.Context, id int64, status, user, note string, at time.Time) (tracker.Alert, error)
	// ConfirmAlert records an alert as an offence, once (POST /alerts/:id/confirm).
	ConfirmAlert(ctx context.Context, id int64, user, note string, at time.Time) (tracker.Alert, error)

	// AddWeighing and Weighings keep the weighbridge readings.
	AddWeighing(ctx context.Context, w tracker.Weighing) (int64, error)
	Weighings(ctx context.Context, q tracker.WeighingQuery) ([]tracker.Weighing, error)

	// Deliveries and RetryDelivery serve the webhook outbox's screens.
	Deliveries(ctx context.Context, q tracker.DeliveryQuery) ([]tracker.Delivery, error)
	RetryDelivery(ctx context.Context, id string, now time.Time) error
	// CreateWebhook, Webhooks, SetWebhookEnabled and DeleteWebhook keep the webhook
	// receivers added from the screens.
	CreateWebhook(ctx context.Context, r tracker.WebhookReceiver) error
	Webhooks(ctx context.Context) ([]tracker.WebhookReceiver, error)
	SetWebhookEnabled(ctx context.Context, name string, enabled bool, at time.Time) (tracker.WebhookReceiver, error)
	DeleteWebhook(ctx context.Context, name string) error

	// CrossingCounts, AlertCounts and Targets serve the daily report (tracker/daily).
	CrossingCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error)
	AlertCounts(ctx context.Context, from, to time.Time) ([]tracker.DayCount, error)
	Targets(ctx context.Context, q tracker.TargetQuery) ([]tracker.TargetOrder, error)
}
