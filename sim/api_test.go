package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// A declaration survives a server that answers 503 twice (restarting) and then accepts it; a
// refusal for a bad request is not retried.
func TestAPIRetriesTransientFailures(t *testing.T) {
	var declarations, bad atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/login":
			json.NewEncoder(w).Encode(map[string]string{"token": "t"})
		case "/api/v1/declarations":
			if declarations.Add(1) <= 2 {
				http.Error(w, "store unavailable", http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusCreated)
		case "/api/v1/gate-events":
			bad.Add(1)
			http.Error(w, "gate_zone_id: unknown zone", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := login(ctx, srv.URL, "admin", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.declare(ctx, declaration{ID: "d1", VehicleID: "v1"}); err != nil {
		t.Fatalf("declare after two 503s: %v", err)
	}
	if n := declarations.Load(); n != 3 {
		t.Errorf("declaration calls = %d, want 3", n)
	}
	if err := c.gate(ctx, gateEvent{GateZoneID: "nowhere"}); err == nil {
		t.Fatal("gate event with a 400 answer: no error")
	}
	if n := bad.Load(); n != 1 {
		t.Errorf("gate calls after a 400 = %d, want 1 (not retried)", n)
	}
}
