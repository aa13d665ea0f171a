package mapui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/crypto/bcrypt"

	"github.com/borderwatch/borderwatch/tracker"
)

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
	RoleAdmin:        {PermView, PermTrack, PermExport, PermHandleAlerts, PermRegistry, PermZones, PermDeclarations, PermGate, PermUsers, PermAudit, PermWebhooks},
	RoleCommand:      {PermView, PermTrack, PermHandleAlerts, PermDeclarations, PermGate},
	RolePatrol:       {PermView, PermTrack, PermHandleAlerts},
	RoleInvestigator: {PermView, PermTrack, PermExport},
	RoleAuditor:      {PermAudit},
}

// Allowed reports whether role has perm.
func Allowed(role string, perm Permission) bool {
	for _, p := range rolePermissions[role] {
		if p == perm {
			return true
		}
	}
	return false
}

func validRole(role string) bool {
	_, ok := rolePermissions[role]
	return ok
}

// CheckPassword enforces the password policy: at least 10 characters from at least three of
// lower case, upper case, digits and other characters.
func CheckPassword(pw string) error {
	if len([]rune(pw)) < 10 {
		return errors.New("password must have at least 10 characters")
	}
	var lower, upper, digit, other int
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	if lower+upper+digit+other < 3 {
		return errors.New("password must mix at least three of: lower case, upper case, digits, other characters")
	}
	return nil
}

// HashPassword returns the bcrypt hash of pw.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	return string(h), err
}

// GeneratePassword returns a random password that satisfies CheckPassword.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	rand.Read(b)
	out := make([]byte, 0, 20)
	for i, c := range b {
		out = append(out, alphabet[int(c)%len(alphabet)])
		if i%4 == 3 && i < 15 {
			out = append(out, '-')
		}
	}
	// Guarantee all classes whatever the random draw gave.
	return string(out) + "-Aa9"
}

func newToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = hex.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// EnsureAdmin creates the user admin when no user exists yet. It returns the password when it
// generated one (to print once), "" otherwise.
func EnsureAdmin(ctx context.Context, users tracker.UserStore, password string) (generated string, err error) {
	list, err := users.Users(ctx)
	if err != nil {
		return "", err
	}
	if len(list) > 0 {
		return "", nil
	}
	if password == "" {
		password = GeneratePassword()
		generated = password
	}
	h, err := HashPassword(password)
	if err != nil {
		return "", err
	}
	if err := users.CreateUser(ctx, tracker.User{Username: "admin", Role: RoleAdmin, Hash: h, CreatedAt: time.Now().UTC()}); err != nil && !errors.Is(err, tracker.ErrConflict) {
		return "", err
	}
	return generated, nil
}

// throttle counts failed logins per user and per address; past the limit within the window,
// logins are refused with 429 until the window has passed.
type throttle struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	fails  map[string][]time.Time
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, fails: map[string][]time.Time{}}
}

// blocked reports how long key must still wait, or 0.
func (t *throttle) blocked(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.prune(key, now)
	if len(f) < t.limit {
		return 0
	}
	return f[0].Add(t.window).Sub(now)
}

func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fails[key] = append(t.prune(key, now), now)
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, key)
}

func (t *throttle) prune(key string, now time.Time) []time.Time {
	f := t.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) > t.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(t.fails, key)
	} else {
		t.fails[key] = f
	}
	return f
}

// loginThrottles: five failures lock a user name for the window; an address, which many
// officers may share behind one gateway, gets twenty.
type loginThrottles struct{ user, addr *throttle }

func newLoginThrottles() loginThrottles {
	return loginThrottles{user: newThrottle(5, 15*time.Minute), addr: newThrottle(20, 15*time.Minute)}
}

// blocked reports how long a login of username from addr must still wait, or 0.
func (l loginThrottles) blocked(username, addr string, now time.Time) time.Duration {
	return max(l.user.blocked(strings.ToLower(username), now), l.addr.blocked(addr, now))
}

func (l loginThrottles) fail(username, addr string, now time.Time) {
	l.user.fail(strings.ToLower(username), now)
	l.addr.fail(addr, now)
}

// succeed clears the user's failures; the address keeps its count, so one valid account does
// not let an address go on guessing others' passwords.
func (l loginThrottles) succeed(username string) {
	l.user.reset(strings.ToLower(username))
}

var errBadCredentials = fmt.Errorf("wrong username or password")
