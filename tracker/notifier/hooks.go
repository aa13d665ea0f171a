package notifier

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/borderwatch/borderwatch/tracker"
)

// Hook is one webhook receiver and the alert changes it wants.
type Hook struct {
	// Name identifies the hook in the outbox, in metrics and in the deliveries API; renaming a
	// hook strands its pending deliveries under the old name.
	Name string `json:"name"`
	URL  string `json:"url"`
	// Secret signs every request (X-BorderWatch-Signature); empty sends unsigned requests.
	Secret string `json:"secret,omitempty"`
	// MinSeverity drops changes of alerts below it: info (default), warning or critical.
	MinSeverity string `json:"min_severity,omitempty"`
	// Types and Changes narrow the alert types and changes sent; empty sends all.
	Types   []string `json:"types,omitempty"`
	Changes []string `json:"changes,omitempty"`
	// Zones, when set, sends only the alerts of these zones (a port and its zones).
	Zones []string `json:"zones,omitempty"`
	// Guarded hooks connect to public addresses only (see target.go): receivers added from
	// the screens are.
	Guarded bool `json:"-"`
}

var severityRank = map[string]int{"": 0, tracker.SeverityInfo: 0, tracker.SeverityWarning: 1, tracker.SeverityCritical: 2}

var changeNames = []string{tracker.ChangeOpened, tracker.ChangeUpdated, tracker.ChangeAcknowledged, tracker.ChangeResolved}

// wants reports whether the hook is sent the change.
func (h *Hook) wants(c tracker.AlertChange) bool {
	return severityRank[c.Alert.Severity] >= severityRank[h.MinSeverity] &&
		(len(h.Types) == 0 || slices.Contains(h.Types, c.Alert.Type)) &&
		(len(h.Changes) == 0 || slices.Contains(h.Changes, c.Change)) &&
		(len(h.Zones) == 0 || c.Alert.ZoneID != nil && slices.Contains(h.Zones, *c.Alert.ZoneID))
}

func (h *Hook) validate() error {
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook %q: url %q: want http(s)://host/…", h.Name, h.URL)
	}
	if h.Name == "" {
		return fmt.Errorf("webhook %s: no name", h.URL)
	}
	if _, ok := severityRank[h.MinSeverity]; !ok {
		return fmt.Errorf("webhook %q: min_severity %q: want info, warning or critical", h.Name, h.MinSeverity)
	}
	for _, c := range h.Changes {
		if !slices.Contains(changeNames, c) {
			return fmt.Errorf("webhook %q: change %q: want one of %s", h.Name, c, strings.Join(changeNames, ", "))
		}
	}
	return nil
}

// ParseHooks reads the settings: urls is a comma-separated list of receivers, each sent every
// change and signed with secret, named after its host; file, when set, names a JSON file
// {"hooks": [Hook…]} for receivers with a name, a secret or filters of their own.
func ParseHooks(urls, secret, file string) ([]Hook, error) {
	var hooks []Hook
	hosts := map[string]bool{}
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		name := u
		if p, err := url.Parse(u); err == nil {
			// The host only: the name labels metrics anyone may scrape, and receivers such as
			// Slack's and Feishu's keep their secret in the path.
			name = p.Host
		}
		if hosts[name] {
			return nil, fmt.Errorf("webhook URLs: two go to %s: name them in a webhooks file", name)
		}
		hosts[name] = true
		hooks = append(hooks, Hook{Name: name, URL: u, Secret: secret})
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("webhooks file: %w", err)
		}
		var f struct{ Hooks []Hook }
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("webhooks file %s: %w", file, err)
		}
		hooks = append(hooks, f.Hooks...)
	}
	if err := checkHooks(hooks); err != nil {
		return nil, err
	}
	return hooks, nil
}

// checkHooks validates each hook and that names are unique.
func checkHooks(hooks []Hook) error {
	names := map[string]bool{}
	for i := range hooks {
		if err := hooks[i].validate(); err != nil {
			return err
		}
		if names[hooks[i].Name] {
			return fmt.Errorf("webhook %q named twice", hooks[i].Name)
		}
		names[hooks[i].Name] = true
	}
	return nil
}
