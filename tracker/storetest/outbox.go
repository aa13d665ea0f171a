package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Outbox semantics: every committed alert change that a receiver acts on —
// opened, acknowledged, resolved, and updated when Severity or Active changes — is one outbox
// entry written in the change's own transaction, carrying the alert as it was right after the
// change; a failed Commit leaves none. Route turns entries into pending deliveries once; a
// hook's deliveries for one alert are claimable one at a time, oldest first; a lease keeps a
// claimed delivery from other owners until it ends or an attempt is recorded.

// route routes everything to the hooks and returns the changes it saw.
func route(t *testing.T, ob Store, now time.Time, hooks func(tracker.AlertChange) []string) []tracker.AlertChange {
	t.Helper()
	var seen []tracker.AlertChange
	for {
		n, err := ob.Route(t.Context(), 3, now, func(c tracker.AlertChange) []string {
			seen = append(seen, c)
			return hooks(c)
		})
		if err != nil {
			t.Fatalf("Route: %v", err)
		}
		if n == 0 {
			return seen
		}
	}
}

func claim(t *testing.T, ob Store, hook, owner string, now time.Time) []tracker.Delivery {
	t.Helper()
	ds, err := ob.ClaimDeliveries(t.Context(), hook, owner, now, time.Minute, 10)
	if err != nil {
		t.Fatalf("ClaimDeliveries(%s, %s): %v", hook, owner, err)
	}
	return ds
}

func changesOf(ds []tracker.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Event.Change + ":" + d.Event.Alert.DedupKey
	}
	return out
}

func record(t *testing.T, ob Store, owner string, as ...tracker.DeliveryAttempt) {
	t.Helper()
	if err := ob.RecordAttempts(t.Context(), owner, as); err != nil {
		t.Fatalf("RecordAttempts: %v", err)
	}
}

func testOutbox(t *testing.T, s Store) {
	ob := s
	ctx := t.Context()
	now := base

	// A: opened, evidence refreshed (no change), severity raised (updated), acknowledged, resolved.
	a := newAlert("v1", "detour:v1", base)
	b := &tracker.Batch{Alerts: []tracker.Alert{a}}
	commit(t, s, b)
	idA := b.Alerts[0].ID
	refreshed := a
	refreshed.Evidence, refreshed.Message, refreshed.UpdatedAt = json.RawMessage(`{"fix_ids":[1,2,3]}`), "still off", base.Add(time.Minute)
	commit(t, s, &tracker.Batch{Alerts: []tracker.Alert{refreshed}})
	raised := refreshed
	raised.Severity, raised.UpdatedAt = tracker.SeverityCritical, base.Add(2*time.Minute)
	commit(t, s, &tracker.Batch{Alerts: []tracker.Alert{raised}})
	if _, err := s.SetAlertStatus(ctx, idA, tracker.StatusAcknowledged, "officer1", "", base.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// B: opened, then the condition ends (Active false: updated).
	bAlert := newAlert("v2", "stop:v2", base)
	commit(t, s, &tracker.Batch{Alerts: []tracker.Alert{bAlert}})
	ended := bAlert
	ended.Active, ended.UpdatedAt = false, base.Add(time.Minute)
	commit(t, s, &tracker.Batch{Alerts: []tracker.Alert{ended}})
	// A batch that fails leaves no outbox entry for its alert.
	bad := &tracker.Batch{Fixes: []tracker.Fix{fix("d9", "v9", base, 43, 112)},
		Events: []tracker.Event{{Type: "zone_enter", VehicleID: "v9", Time: base, FixSeq: 5}}, // not the fix's
		Alerts: []tracker.Alert{newAlert("v9", "detour:v9", base)}}
	if err := s.Commit(ctx, bad); err == nil {
		t.Fatal("Commit with a FixSeq outside the batch succeeded")
	}

	unrouted, _, err := ob.OutboxBacklog(ctx)
	if err != nil || unrouted != 5 {
		t.Fatalf("OutboxBacklog unrouted = %d, %v; want 5", unrouted, err)
	}
	// h1 takes everything, h2 only critical alerts.
	seen := route(t, ob, now, func(c tracker.AlertChange) []string {
		if c.Alert.Severity == tracker.SeverityCritical {
			return []string{"h1", "h2"}
		}
		return []string{"h1"}
	})
	var got []string
	for _, c := range seen {
		got = append(got, c.Change+":"+c.Alert.DedupKey)
	}
	want := []string{"opened:detour:v1", "updated:detour:v1", "acknowledged:detour:v1", "opened:stop:v2", "updated:stop:v2"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes = %q, want %q", got, want)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Seq <= seen[i-1].Seq {
			t.Errorf("seq %d after %d: want increasing", seen[i].Seq, seen[i-1].Seq)
		}
	}
	// Each change carries the alert as it was then.
	if o := seen[0].Alert; o.ID != idA || o.Status != tracker.StatusOpen || o.Severity != tracker.SeverityWarning || o.AckedBy != "" {
		t.Errorf("opened change carries %+v, want the alert as opened", o)
	}
	if k := seen[2].Alert; k.Status != tracker.StatusAcknowledged || k.AckedBy != "officer1" || k.AckedAt == nil || k.Severity != tracker.SeverityCritical {
		t.Errorf("acknowledged change carries %+v", k)
	}
	if !sameRaw(t, seen[1].Alert.Evidence, refreshed.Evidence) || seen[1].At.IsZero() || seen[1].At.Location() != time.UTC {
		t.Errorf("updated change evidence %s at %v, want %s at a UTC time", seen[1].Alert.Evidence, seen[1].At, refreshed.Evidence)
	}
	if again := route(t, ob, now, func(tracker.AlertChange) []string { return []string{"h1"} }); len(again) != 0 {
		t.Errorf("routing again saw %d changes, want none", len(again))
	}
	unrouted, pending, err := ob.OutboxBacklog(ctx)
	if err != nil || unrouted != 0 || pending["h1"] != 5 || pending["h2"] != 2 {
		t.Fatalf("OutboxBacklog = %d %v, %v; want 0 map[h1:5 h2:2]", unrouted, pending, err)
	}

	// Only each alert's oldest pending delivery is due; a lease hides it from other owners.
	ds := claim(t, ob, "h1", "one", now)
	if got := changesOf(ds); !slices.Equal(got, []string{"opened:detour:v1", "opened:stop:v2"}) {
		t.Fatalf("first claim = %q, want each alert's opening", got)
	}
	if ds[0].ID == "" || ds[0].ID == ds[1].ID || ds[0].Hook != "h1" || ds[0].Status != tracker.DeliveryPending || ds[0].Attempts != 0 {
		t.Errorf("claimed delivery = %+v", ds[0])
	}
	if other := claim(t, ob, "h1", "two", now); len(other) != 0 {
		t.Fatalf("another owner claimed %q during the lease", changesOf(other))
	}
	// A retry later, then delivered; stale owners' outcomes other than delivered are ignored.
	record(t, ob, "one",
		tracker.DeliveryAttempt{ID: ds[0].ID, Status: tracker.DeliveryDelivered, At: now, Code: 204},
		tracker.DeliveryAttempt{ID: ds[1].ID, Status: tracker.DeliveryPending, At: now, NextAt: now.Add(30 * time.Second), Code: 503, Error: "503 Service Unavailable"})
	record(t, ob, "two", tracker.DeliveryAttempt{ID: ds[1].ID, Status: tracker.DeliveryFailed, At: now, Code: 400})
	ds2 := claim(t, ob, "h1", "one", now)
	if got := changesOf(ds2); !slices.Equal(got, []string{"updated:detour:v1"}) {
		t.Fatalf("claim after A's opening was delivered = %q, want A's update only (B waits for its retry)", got)
	}
	later := claim(t, ob, "h1", "two", now.Add(30*time.Second))
	if got := changesOf(later); !slices.Equal(got, []string{"opened:stop:v2"}) {
		t.Fatalf("claim at B's retry time = %q, want B's opening", got)
	}
	if later[0].Attempts != 1 || later[0].LastCode != 503 || later[0].LastError != "503 Service Unavailable" {
		t.Errorf("retried delivery = %+v, want 1 attempt with its 503", later[0])
	}
	// The first owner's lease on A's update ended (B's has not): anyone may take it.
	if expired := claim(t, ob, "h1", "two", now.Add(80*time.Second)); !slices.Equal(changesOf(expired), []string{"updated:detour:v1"}) {
		t.Fatalf("claim after the lease = %q, want A's update", changesOf(expired))
	}
	record(t, ob, "two",
		tracker.DeliveryAttempt{ID: ds2[0].ID, Status: tracker.DeliveryFailed, At: now.Add(2 * time.Minute), Code: 410, Error: "410 Gone"},
		tracker.DeliveryAttempt{ID: later[0].ID, Status: tracker.DeliveryDelivered, At: now.Add(2 * time.Minute), Code: 200})

	// A permanent failure is listed and no longer blocks the alert's next change.
	failed, err := ob.Deliveries(ctx, tracker.DeliveryQuery{Status: tracker.DeliveryFailed})
	if err != nil || len(failed) != 1 || failed[0].ID != ds2[0].ID || failed[0].LastCode != 410 || failed[0].DoneAt == nil || failed[0].Attempts != 1 {
		t.Fatalf("failed deliveries = %+v, %v; want A's update with its 410", failed, err)
	}
	if got := changesOf(claim(t, ob, "h1", "one", now.Add(3*time.Minute))); !slices.Equal(got, []string{"acknowledged:detour:v1", "updated:stop:v2"}) {
		t.Fatalf("claim after the failure = %q", got)
	}
	if err := ob.RetryDelivery(ctx, failed[0].ID, now.Add(3*time.Minute)); err != nil {
		t.Fatalf("RetryDelivery: %v", err)
	}
	wantErr(t, "RetryDelivery of a delivered one", ob.RetryDelivery(ctx, ds[0].ID, now), tracker.ErrNotFound)
	if got, err := ob.Deliveries(ctx, tracker.DeliveryQuery{Hook: "h1", AlertID: idA, Status: tracker.DeliveryPending}); err != nil || len(got) != 2 {
		t.Fatalf("A's pending deliveries after the retry = %d, %v; want 2", len(got), err)
	}
	all, err := ob.Deliveries(ctx, tracker.DeliveryQuery{Limit: 3})
	if err != nil || len(all) != 3 {
		t.Fatalf("Deliveries(limit 3) = %d, %v", len(all), err)
	}

	// Pruning keeps what is pending and what ended recently.
	if _, err := ob.PruneOutbox(ctx, now); err != nil {
		t.Fatal(err)
	}
	if n, err := ob.PruneOutbox(ctx, now.Add(time.Hour)); err != nil || n != 4 {
		t.Fatalf("PruneOutbox = %d, %v; want 4: the 2 delivered deliveries and their changes, which no other hook wanted", n, err)
	}
	left, err := ob.Deliveries(ctx, tracker.DeliveryQuery{})
	if err != nil || len(left) != 5 {
		t.Fatalf("deliveries after pruning = %d, %v; want 5", len(left), err)
	}
	for _, d := range left {
		if d.Status == tracker.DeliveryDelivered {
			t.Errorf("delivered delivery %s survived pruning", d.ID)
		}
	}
}
