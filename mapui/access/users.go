package access

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// PolicyError refuses a request that breaks a rule of access (the password policy, the valid
// roles, an administrator's hold on their own account); its text says which, to the requester.
type PolicyError string

func (e PolicyError) Error() string { return string(e) }

const errRole = PolicyError("role must be admin, command, patrol, investigator or auditor")

var validUsername = regexp.MustCompile(`^[a-zA-Z0-9_.\-]{2,64}$`)

// NewUser is a user as an administrator creates it, with the password in clear.
type NewUser struct {
	Username string
	Password string
	Role     string
	Disabled bool
}

// UserChange edits a user: an empty Role or Password, or a nil Disabled, stays as it is.
type UserChange struct {
	Role     string
	Password string
	Disabled *bool
}

// Users lists the users.
func (s *Service) Users(ctx context.Context) ([]tracker.User, error) {
	return s.store.Users(ctx)
}

// CreateUser checks and stores a new user, and audits that actor created it.
func (s *Service) CreateUser(ctx context.Context, actor string, nu NewUser) (tracker.User, error) {
	if !validUsername.MatchString(nu.Username) {
		return tracker.User{}, PolicyError("username must be 2–64 letters, digits, '_', '.', '-'")
	}
	if !validRole(nu.Role) {
		return tracker.User{}, errRole
	}
	h, err := hashNewPassword(nu.Password)
	if err != nil {
		return tracker.User{}, err
	}
	u := tracker.User{Username: nu.Username, Role: nu.Role, Hash: h, CreatedAt: time.Now().UTC(), Disabled: nu.Disabled}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return tracker.User{}, err
	}
	return u, s.Record(ctx, actor, "user.create", "user:"+u.Username, "ok", map[string]string{"role": u.Role})
}

// UpdateUser changes a role, a password or the disabled flag of the user name, on behalf of
// actor, and audits it. Any change ends the user's sessions, so a demoted or disabled user
// loses access at once.
func (s *Service) UpdateUser(ctx context.Context, actor, name string, ch UserChange) (tracker.User, error) {
	u, err := s.store.User(ctx, name)
	if err != nil {
		return tracker.User{}, err
	}
	changed := []string{}
	if ch.Role != "" && ch.Role != u.Role {
		if !validRole(ch.Role) {
			return tracker.User{}, errRole
		}
		if name == actor {
			return tracker.User{}, PolicyError("an administrator cannot change their own role")
		}
		u.Role = ch.Role
		changed = append(changed, "role")
	}
	if ch.Password != "" {
		if u.Hash, err = hashNewPassword(ch.Password); err != nil {
			return tracker.User{}, err
		}
		changed = append(changed, "password")
	}
	if ch.Disabled != nil && *ch.Disabled != u.Disabled {
		if name == actor {
			return tracker.User{}, PolicyError("an administrator cannot disable themselves")
		}
		u.Disabled = *ch.Disabled
		changed = append(changed, "disabled="+strconv.FormatBool(u.Disabled))
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return tracker.User{}, err
	}
	if len(changed) > 0 {
		if err := s.store.DeleteUserSessions(ctx, name); err != nil {
			return tracker.User{}, err
		}
	}
	return u, s.Record(ctx, actor, "user.update", "user:"+name, "ok", map[string][]string{"changed": changed})
}

// DeleteUser deletes the user name on behalf of actor, and audits it.
func (s *Service) DeleteUser(ctx context.Context, actor, name string) error {
	if name == actor {
		return PolicyError("an administrator cannot delete themselves")
	}
	if err := s.store.DeleteUser(ctx, name); err != nil {
		return err
	}
	return s.Record(ctx, actor, "user.delete", "user:"+name, "ok", nil)
}

// EnsureAdmin creates the user admin when no user exists yet. It returns the password when it
// generated one (to print once), "" otherwise.
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
	h, err := hashPassword(password)
	if err != nil {
		return "", err
	}
	if err := s.store.CreateUser(ctx, tracker.User{Username: "admin", Role: RoleAdmin, Hash: h, CreatedAt: time.Now().UTC()}); err != nil && !errors.Is(err, tracker.ErrConflict) {
		return "", err
	}
	return generated, nil
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
