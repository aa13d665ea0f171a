package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// apiClient speaks the server's HTTP API as admin.
type apiClient struct {
	base       string
	user, pass string
	hc         *http.Client

	loginMu sync.Mutex // one login at a time
	mu      sync.Mutex
	token   string
}

type declaration struct {
	ID             string    `json:"id"`
	VehicleID      string    `json:"vehicle_id"`
	Direction      string    `json:"direction"`
	PortZoneID     string    `json:"port_zone_id"`
	CorridorZoneID string    `json:"corridor_zone_id,omitempty"`
	YardZoneID     string    `json:"yard_zone_id,omitempty"`
	ValidFrom      time.Time `json:"valid_from"`
	ValidTo        time.Time `json:"valid_to"`
	DriverCard     string    `json:"driver_card,omitempty"`
	DeclaredNetKg  float64   `json:"declared_net_kg,omitempty"`
	Type           string    `json:"type,omitempty"`
}

// weighing is a weighbridge reading (POST /api/v1/weighings).
type weighing struct {
	ScaleID  string    `json:"scale_id"`
	ZoneID   string    `json:"zone_id"`
	Time     time.Time `json:"time"`
	Plate    string    `json:"plate"`
	GrossKg  float64   `json:"gross_kg"`
	TareKg   float64   `json:"tare_kg"`
	Operator string    `json:"operator"`
}

type gateEvent struct {
	GateZoneID string    `json:"gate_zone_id"`
	Time       time.Time `json:"time"`
	Plate      string    `json:"plate"`
	CardID     string    `json:"card_id"`
	Direction  string    `json:"direction"`
}

func login(ctx context.Context, base, user, pass string) (*apiClient, error) {
	c := &apiClient{base: strings.TrimSuffix(base, "/") + "/api/v1", user: user, pass: pass, hc: &http.Client{Timeout: 30 * time.Second}}
	if err := c.login(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *apiClient) login(ctx context.Context) error {
	var out struct {
		Token string `json:"token"`
	}
	if err := c.call(ctx, http.MethodPost, "/login", "", map[string]string{"username": c.user, "password": c.pass}, &out); err != nil {
		return fmt.Errorf("sim: login: %w", err)
	}
	c.mu.Lock()
	c.token = out.Token
	c.mu.Unlock()
	return nil
}

// Login returns a client for the server's API; Alerts lists alerts through it.
func Login(ctx context.Context, baseURL, username, password string) (*APIClient, error) {
	c, err := login(ctx, baseURL, username, password)
	return (*APIClient)(c), err
}

// APIClient is a logged-in client of the server's HTTP API.
type APIClient apiClient

// Alerts returns every alert the server holds.
func (c *APIClient) Alerts(ctx context.Context) ([]tracker.Alert, error) {
	var out struct {
		Alerts []tracker.Alert `json:"alerts"`
	}
	err := (*apiClient)(c).do(ctx, http.MethodGet, "/alerts", nil, &out)
	return out.Alerts, err
}

// statusError is a refused API call.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// do calls the API with the session's token, logging in again once when the server says it
// expired: sessions last hours on the server's clock, which the demo runs 60 times faster.
//
// Transient failures (the server restarting, overloaded or briefly unreachable) are retried
// with backoff for up to a minute: one lost declaration would stop a simulated vehicle.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	wait := 200 * time.Millisecond
	deadline := time.Now().Add(time.Minute)
	for {
		err := c.doOnce(ctx, method, path, in, out)
		if err == nil || !transient(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// transient reports whether a call may succeed if repeated unchanged.
func transient(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.status >= 500 || se.status == http.StatusTooManyRequests
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET)
}

func (c *apiClient) doOnce(ctx context.Context, method, path string, in, out any) error {
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	err := c.call(ctx, method, path, token, in, out)
	if se, ok := err.(*statusError); ok && se.status == http.StatusUnauthorized {
		if token, err = c.relogin(ctx, token); err != nil {
			return err
		}
		err = c.call(ctx, method, path, token, in, out)
	}
	return err
}

// relogin replaces the expired token once, however many vehicles found it expired: the
// server throttles logins.
func (c *apiClient) relogin(ctx context.Context, expired string) (string, error) {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	if token != expired {
		return token, nil
	}
	if err := c.login(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token, nil
}

func (c *apiClient) call(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return &statusError{resp.StatusCode, strings.TrimSpace(string(b))}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// create POSTs a registry record; one that exists already (from an earlier run) is kept.
func (c *apiClient) create(ctx context.Context, path string, v any) error {
	err := c.do(ctx, http.MethodPost, path, v, nil)
	if se, ok := err.(*statusError); ok && se.status == http.StatusConflict {
		return nil
	}
	return err
}

func (c *apiClient) register(ctx context.Context, v *vehicle) error {
	err := c.create(ctx, "/vehicles", tracker.Vehicle{ID: v.id, Plate: v.plate, Kind: v.fleet.Kind, CardID: v.card,
		Name: v.fleet.Name})
	if err != nil {
		return fmt.Errorf("sim: vehicle %s: %w", v.id, err)
	}
	proto := tracker.ProtocolJT808
	switch v.fleet.Terminal {
	case TerminalGT06:
		proto = tracker.ProtocolGT06
	case TerminalOsmAnd:
		proto = tracker.ProtocolOsmAnd
	case TerminalJT701:
		proto = tracker.ProtocolJT600
	}
	if err := c.create(ctx, "/devices", tracker.Device{ID: v.deviceID, Protocol: proto, VehicleID: v.id}); err != nil {
		return fmt.Errorf("sim: device %s: %w", v.deviceID, err)
	}
	return nil
}

func (c *apiClient) declare(ctx context.Context, d declaration) error {
	if err := c.create(ctx, "/declarations", d); err != nil {
		return fmt.Errorf("sim: declaration %s: %w", d.ID, err)
	}
	return nil
}

func (c *apiClient) weigh(ctx context.Context, wg weighing) error {
	return c.do(ctx, http.MethodPost, "/weighings", wg, nil)
}

func (c *apiClient) gate(ctx context.Context, g gateEvent) error {
	return c.do(ctx, http.MethodPost, "/gate-events", g, nil)
}
