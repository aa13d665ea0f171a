package tracker

import (
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
