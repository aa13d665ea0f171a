package tracker

import "time"

// WebhookReceiver is a webhook receiver an administrator added from the screens. The store
// keeps it beside the receivers of the configuration; the notifier reads both.
type WebhookReceiver struct {
	Name string
	URL  string
	// Secret signs every request; the API never returns it after the receiver is created.
	Secret string
	// MinSeverity drops alerts below it: "" or info (all), warning or critical.
	MinSeverity string
	// Types and Ports narrow the alerts sent (ports: the port zones' ids, an alert belonging to
	// the port or to a zone of it); empty sends all.
	Types []string
	Ports []string
	// Enabled receivers are sent changes; a disabled one keeps its pending deliveries until
	// it is enabled again.
	Enabled   bool
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}
