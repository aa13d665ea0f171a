package tracker

import (
	"context"
	"time"
)

// Alert changes the outbox records. Both stores write them from database triggers on the
// alerts table, so a change and its outbox entry commit together or not at all, whatever code
// path made the change.
const (
	ChangeOpened       = "opened"
	ChangeUpdated      = "updated" // severity changed, or the condition ended (Active turned false) or came back
	ChangeAcknowledged = "acknowledged"
	ChangeResolved     = "resolved"
)

// AlertChange is one outbox entry: the alert as it was right after the change.
type AlertChange struct {
	Seq    int64     `json:"seq"`    // increases with commit order for one alert
	Change string    `json:"change"` // Change*
	At     time.Time `json:"at"`     // when the change was committed (database clock)
	Alert  Alert     `json:"alert"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // permanently: the receiver refused it; RetryDelivery sends it again
)

// Delivery is one alert change on its way to one webhook.
type Delivery struct {
	ID        string      `json:"id"` // random and stable across attempts: receivers deduplicate on it
	Hook      string      `json:"hook"`
	Status    string      `json:"status"`
	Attempts  int         `json:"attempts"`
	NextAt    time.Time   `json:"next_at"`
	LastCode  int         `json:"last_code,omitempty"` // HTTP status of the last attempt; 0 when none came back
	LastError string      `json:"last_error,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	DoneAt    *time.Time  `json:"done_at,omitempty"`
	Event     AlertChange `json:"event"`
}

// DeliveryAttempt is the outcome of sending a delivery once.
type DeliveryAttempt struct {
	ID     string
	Status string    // DeliveryDelivered, DeliveryFailed, or DeliveryPending to try again at NextAt
	At     time.Time // when the attempt ended
	NextAt time.Time
	Code   int
	Error  string
}

// DeliveryQuery selects deliveries; empty fields match everything.
type DeliveryQuery struct {
	Hook    string
	Status  string
	AlertID int64
	Limit   int
}

// Outbox is the durable queue of alert changes for webhooks (package notifier). Changes are
// routed into one delivery per interested hook; a delivery stays pending until it is delivered
// or fails permanently, across restarts. Several servers may share one PostgreSQL outbox:
// leases keep them from sending the same delivery at once.
type Outbox interface {
	// Route takes up to limit changes not yet routed, oldest first, and adds for each a pending
	// delivery due at now to every hook that hooks names, in one transaction. It returns how
	// many changes it took. Servers sharing a database route one at a time.
	Route(ctx context.Context, limit int, now time.Time, hooks func(AlertChange) []string) (int, error)
	// ClaimDeliveries leases to owner, until now+lease, up to limit of hook's pending deliveries
	// due by now. Only the oldest pending delivery of each alert is due, so one alert's changes
	// reach a hook in order; a delivery another owner holds a lease on is skipped.
	ClaimDeliveries(ctx context.Context, hook, owner string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// RecordAttempts stores outcomes, counts the attempts and ends the leases. An outcome other
	// than delivered for a delivery whose lease owner has changed is ignored.
	RecordAttempts(ctx context.Context, owner string, attempts []DeliveryAttempt) error
	// Deliveries lists deliveries, newest first.
	Deliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error)
	// RetryDelivery makes a failed delivery pending again, due at now. ErrNotFound when no
	// failed delivery has that ID.
	RetryDelivery(ctx context.Context, id string, now time.Time) error
	// OutboxBacklog counts changes not yet routed and pending deliveries by hook.
	OutboxBacklog(ctx context.Context) (unrouted int, pending map[string]int, err error)
	// PruneOutbox deletes deliveries that ended before before, and routed changes no delivery
	// refers to any more. It returns how many rows it deleted.
	PruneOutbox(ctx context.Context, before time.Time) (int, error)
}
