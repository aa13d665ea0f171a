package access

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/borderwatch/borderwatch/tracker"
)

// PolicyError refuses a request that breaks a rule of access (the password policy, the valid
// roles, an administrator's hold on their own account); its text says which, to the requester.
type PolicyError string

func (e PolicyError) Error() string { return string(e) }

// ForbiddenError refuses a change the actor's role may not make (separation of duties); its
// text says which, to the requester.
type ForbiddenError string

func (e ForbiddenError) Error() string { return string(e) }

const errRole = PolicyError("role must be admin, security, auditor, command, patrol or investigator")

// MaxUsernameLen is the longest user name; a login with a longer one is refused unread.
const MaxUsernameLen = 64

var validUsername = regexp.MustCompile(`^[a-zA-Z0-9_.\-]{2,64}$`)

// Actor is who asks for a change: their user name and role, from their session.
type Actor struct {
	Username string
	Role     string
}

// A unit is "district" or a zone id; that the zone is a port is for the caller to check, which
// knows the zones.
var validUnit = regexp.MustCompile(`^[a-zA-Z0-9_.\-]{1,128}$`)

const errUnit = PolicyError("unit must be district or a port zone id")

// A device id as the registry takes it; that it is registered is for the caller to check.
var validDevice = regexp.MustCompile(`^[a-zA-Z0-9_.:\-]{1,64}$`)

const errDevice = PolicyError("device_id must be a registered device's id")

// NewUser is a user as an administrator creates it, with the password in clear.
type NewUser struct {
	Username string
	Password string
	Role     string
	Disabled bool
	Unit     string // "": tracker.UnitDistrict
	DeviceID string // the patrol's tablet, a registered device; "" none
}

// UserChange edits a user: an empty Role, Password or Unit, or a nil Disabled, stays as it is.
type UserChange struct {
	Role     string
	Password string
	Disabled *bool
	Unit     string
	// DeviceID: nil stays, "" unlinks the user's device.
	DeviceID *string
}

// User returns one user.
func (s *Service) User(ctx context.Context, name string) (tracker.User, error) {
	return s.store.User(ctx, name)
}

// Users lists the users.
func (s *Service) Users(ctx context.Context) ([]tracker.User, error) {
	return s.store.Users(ctx)
}

// CreateUser checks and stores a new user, and audits that actor created it. The system
// administrator creates accounts of the non-administrator roles; the administrators' roles are
// the security administrator's to give (UpdateUser), but for the bootstrap (mayAssign).
func (s *Service) CreateUser(ctx context.Context, actor Actor, nu NewUser) (tracker.User, error) {
	if !validUsername.MatchString(nu.Username) {
		return tracker.User{}, PolicyError("username must be 2–64 letters, digits, '_', '.', '-'")
	}
	if !validRole(nu.Role) {
		return tracker.User{}, errRole
	}
	if !Allowed(actor.Role, PermUsers) {
		return tracker.User{}, ForbiddenError("only the system administrator creates accounts")
	}
	if IsAdministrator(nu.Role) {
		if err := s.mayAssign(ctx, actor, nu.Role); err != nil {
			return tracker.User{}, err
		}
	}
	if nu.Unit == "" {
		nu.Unit = tracker.UnitDistrict
	}
	if !validUnit.MatchString(nu.Unit) {
		return tracker.User{}, errUnit
	}
	if nu.DeviceID != "" && !validDevice.MatchString(nu.DeviceID) {
		return tracker.User{}, errDevice
	}
	h, err := hashNewPassword(nu.Password)
	if err != nil {
		return tracker.User{}, err
	}
	now := s.now().UTC()
	u := tracker.User{Username: nu.Username, Role: nu.Role, Hash: h, CreatedAt: now, Disabled: nu.Disabled, PasswordChangedAt: now, Unit: nu.Unit, DeviceID: nu.DeviceID}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return tracker.User{}, err
	}
	detail := map[string]string{"role": u.Role, "unit": u.Unit}
	if u.DeviceID != "" {
		detail["device_id"] = u.DeviceID
	}
	return u, s.Record(ctx, actor.Username, "user.create", "user:"+u.Username, "ok", detail)
}

// mayAssign refuses unless actor may create an account of role: the security administrator
// gives any role; while no security administrator exists, the system administrator may create
// the first security and audit administrators, or nobody ever could.
func (s *Service) mayAssign(ctx context.Context, actor Actor, role string) error {
	if Allowed(actor.Role, PermRoles) {
		return nil
	}
	if actor.Role == RoleAdmin && (role == RoleSecurity || role == RoleAuditor) {
		list, err := s.store.Users(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(list, func(u tracker.User) bool { return u.Role == RoleSecurity && !u.Disabled }) {
			return nil
		}
	}
	return ForbiddenError("only the security administrator assigns roles")
}

// mayManage refuses unless actor may change the password or the state of target's account:
// an administrator's account is the security administrator's, any other the system
// administrator's.
func mayManage(actor Actor, target tracker.User) error {
	if IsAdministrator(target.Role) {
		if !Allowed(actor.Role, PermRoles) {
			return ForbiddenError("only the security administrator manages an administrator's account")
		}
		return nil
	}
	if !Allowed(actor.Role, PermUsers) {
		return ForbiddenError("only the system administrator manages accounts")
	}
	return nil
}

// accountState is what an update changes, as the audit shows it before and after.
type accountState struct {
	Role     string  `json:"role"`
	Disabled bool    `json:"disabled"`
	Unit     string  `json:"unit,omitempty"`      // only when it changes
	DeviceID *string `json:"device_id,omitempty"` // only when it changes
	Password string  `json:"password,omitempty"`  // "changed", never the password or its hash
}

// UpdateUser changes a role, a password, the disabled flag or the unit of the user name, on
// behalf of actor, and audits it with the account's state before and after. Nobody changes their own
// role, disables themselves or sets their own password here (ChangePassword asks for the old
// one). Any change ends the user's sessions (and tells the watchers), so a demoted, moved or
// disabled user loses access at once, live sockets included.
func (s *Service) UpdateUser(ctx context.Context, actor Actor, name string, ch UserChange) (tracker.User, error) {
	u, err := s.store.User(ctx, name)
	if err != nil {
		return tracker.User{}, err
	}
	self := strings.EqualFold(u.Username, actor.Username)
	before := accountState{Role: u.Role, Disabled: u.Disabled}
	after := before
	changed := []string{}
	if (ch.Password != "" || ch.Disabled != nil && *ch.Disabled != u.Disabled || ch.Unit != "" && ch.Unit != u.Unit) && !self {
		if err := mayManage(actor, u); err != nil {
			return tracker.User{}, err
		}
	}
	if ch.Role != "" && ch.Role != u.Role {
		if !validRole(ch.Role) {
			return tracker.User{}, errRole
		}
		if self {
			return tracker.User{}, PolicyError("nobody can change their own role")
		}
		if !Allowed(actor.Role, PermRoles) {
			return tracker.User{}, ForbiddenError("only the security administrator assigns roles")
		}
		u.Role, after.Role = ch.Role, ch.Role
		changed = append(changed, "role")
	}
	if ch.Password != "" {
		if self {
			return tracker.User{}, PolicyError("change your own password with your old one (POST /api/v1/me/password)")
		}
		if u.Hash, err = hashNewPassword(ch.Password); err != nil {
			return tracker.User{}, err
		}
		u.PasswordChangedAt = s.now().UTC()
		after.Password = "changed"
		changed = append(changed, "password")
	}
	if ch.Disabled != nil && *ch.Disabled != u.Disabled {
		if self {
			return tracker.User{}, PolicyError("nobody can disable themselves")
		}
		u.Disabled, after.Disabled = *ch.Disabled, *ch.Disabled
		changed = append(changed, "disabled")
	}
	if ch.Unit != "" && ch.Unit != u.Unit {
		if !validUnit.MatchString(ch.Unit) {
			return tracker.User{}, errUnit
		}
		if self {
			return tracker.User{}, PolicyError("nobody can change their own unit")
		}
		before.Unit, after.Unit, u.Unit = u.Unit, ch.Unit, ch.Unit
		changed = append(changed, "unit")
	}
	// The device says where the patrol is, not what they may see: their sessions stay.
	deviceChanged := ch.DeviceID != nil && *ch.DeviceID != u.DeviceID
	if deviceChanged {
		if *ch.DeviceID != "" && !validDevice.MatchString(*ch.DeviceID) {
			return tracker.User{}, errDevice
		}
		if err := mayManage(actor, u); err != nil {
			return tracker.User{}, err
		}
		old := u.DeviceID
		before.DeviceID, after.DeviceID, u.DeviceID = &old, ch.DeviceID, *ch.DeviceID
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return tracker.User{}, err
	}
	if deviceChanged {
		changed = append(changed, "device_id")
	}
	if len(changed) > 0 && !(deviceChanged && len(changed) == 1) {
		if err := s.store.DeleteUserSessions(ctx, u.Username); err != nil {
			return tracker.User{}, err
		}
		s.userSessionsEnded(u.Username)
	}
	return u, s.Record(ctx, actor.Username, "user.update", "user:"+u.Username, "ok",
		map[string]any{"changed": changed, "before": before, "after": after})
}

// DeleteUser deletes the user name on behalf of actor, and audits it.
func (s *Service) DeleteUser(ctx context.Context, actor Actor, name string) error {
	u, err := s.store.User(ctx, name)
	if err != nil {
		return err
	}
	if strings.EqualFold(u.Username, actor.Username) {
		return PolicyError("nobody can delete themselves")
	}
	if err := mayManage(actor, u); err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, u.Username); err != nil {
		return err
	}
	if err := s.store.DeleteUserSessions(ctx, u.Username); err != nil {
		return err
	}
	s.userSessionsEnded(u.Username)
	return s.Record(ctx, actor.Username, "user.delete", "user:"+u.Username, "ok", map[string]string{"role": u.Role})
}

// EnsureAdmin creates the user admin when no user exists yet, with password, which must pass
// the policy (an operator chose it), or else a generated one, which must be changed at the first
// login. It returns the password when it generated one (to print once), "" otherwise.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	list, err := s.store.Users(ctx)
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
	h, err := hashNewPassword(password)
	if err != nil {
		return "", fmt.Errorf("the admin password: %w", err)
	}
	now := s.now().UTC()
	u := tracker.User{Username: "admin", Role: RoleAdmin, Hash: h, CreatedAt: now, PasswordChangedAt: now, MustChange: generated != "", Unit: tracker.UnitDistrict}
	if err := s.store.CreateUser(ctx, u); err != nil && !errors.Is(err, tracker.ErrConflict) {
		return "", err
	}
	return generated, nil
}

// ChangePassword sets the password of the session's user, who gives the old one, and audits it.
// It ends every session of the user and opens a new one in place of se, which it returns with
// its token, as Login does. A wrong old password counts as a failed login from the client's
// address.
func (s *Service) ChangePassword(ctx context.Context, se tracker.Session, old, new string) (token string, next tracker.Session, err error) {
	u, err := s.store.User(ctx, se.Username)
	if err != nil {
		return "", tracker.Session{}, err
	}
	now := s.now()
	addr := clientAddr(ctx)
	if wait, err := s.loginBlocked(ctx, u.Username, addr, now); err != nil || wait > 0 {
		if err == nil {
			err = &ThrottledError{RetryAfter: wait}
		}
		return "", tracker.Session{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.Hash), []byte(old)) != nil {
		if err := s.loginFailed(ctx, u.Username, addr, now); err != nil {
			return "", tracker.Session{}, err
		}
		s.Record(ctx, u.Username, "user.password", "user:"+u.Username, "denied", nil)
		return "", tracker.Session{}, ErrBadCredentials
	}
	if old == new {
		return "", tracker.Session{}, PolicyError("the new password must differ from the old one")
	}
	if u.Hash, err = hashNewPassword(new); err != nil {
		return "", tracker.Session{}, err
	}
	u.MustChange, u.PasswordChangedAt = false, now.UTC()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return "", tracker.Session{}, err
	}
	if err := s.store.DeleteUserSessions(ctx, u.Username); err != nil {
		return "", tracker.Session{}, err
	}
	if err := s.Record(ctx, u.Username, "user.password", "user:"+u.Username, "ok", nil); err != nil {
		return "", tracker.Session{}, err
	}
	return s.openSession(ctx, u, now)
}

// hashNewPassword checks pw against the policy and hashes it; both refusals are PolicyErrors
// (bcrypt refuses passwords over 72 bytes).
func hashNewPassword(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	h, err := hashPassword(pw)
	if err != nil {
		return "", PolicyError(err.Error())
	}
	return h, nil
}
