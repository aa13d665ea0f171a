package access_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

func TestCreateUser(t *testing.T) {
	svc, _ := newService(t)
	for _, nu := range []access.NewUser{
		{Username: "a", Password: "Good-Passw0rd", Role: access.RolePatrol},
		{Username: "patrol 1", Password: "Good-Passw0rd", Role: access.RolePatrol},
		{Username: "patrol1", Password: "Good-Passw0rd", Role: "root"},
		{Username: "patrol1", Password: "weakpassword", Role: access.RolePatrol},
		{Username: "patrol1", Password: strings.Repeat("Ab1-", 19), Role: access.RolePatrol}, // over bcrypt's 72 bytes
		{Username: "patrol1", Password: "Good-Passw0rd", Role: access.RolePatrol, Unit: "port 'erenhot'"},
	} {
		var pe access.PolicyError
		if _, err := svc.CreateUser(t.Context(), admin, nu); !errors.As(err, &pe) {
			t.Errorf("CreateUser(%+v) = %v, want a PolicyError", nu, err)
		}
	}
	u, err := svc.CreateUser(t.Context(), admin, access.NewUser{Username: "patrol1", Password: "Good-Passw0rd", Role: access.RolePatrol})
	if err != nil || u.Username != "patrol1" || u.Role != access.RolePatrol || u.Hash == "" || u.Hash == "Good-Passw0rd" || u.Unit != tracker.UnitDistrict {
		t.Fatalf("CreateUser = %+v, %v", u, err)
	}
	if _, err := svc.CreateUser(t.Context(), admin, access.NewUser{Username: "patrol1", Password: "Good-Passw0rd", Role: access.RolePatrol}); !errors.Is(err, tracker.ErrConflict) {
		t.Errorf("a second patrol1: %v, want ErrConflict", err)
	}
	if _, _, err := svc.Login(t.Context(), access.Credentials{Username: "patrol1", Password: "Good-Passw0rd"}, "10.0.0.1"); err != nil {
		t.Errorf("the new user cannot log in: %v", err)
	}
	recs, err := svc.Audit(t.Context(), 0, 1)
	if err != nil || len(recs) != 1 || recs[0].Action != "user.create" || string(recs[0].Detail) != `{"role":"patrol","unit":"district"}` {
		t.Errorf("audit %+v, %v", recs, err)
	}
}

func TestUpdateUser(t *testing.T) {
	svc, _ := newService(t)
	sec := newSecurity(t, svc)
	if _, err := svc.CreateUser(t.Context(), admin, access.NewUser{Username: "inv1", Password: "Inv-Passw0rd", Role: access.RoleInvestigator}); err != nil {
		t.Fatal(err)
	}
	token, _, err := svc.Login(t.Context(), access.Credentials{Username: "inv1", Password: "Inv-Passw0rd"}, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changes: the session stays.
	if _, err := svc.UpdateUser(t.Context(), sec, "inv1", access.UserChange{Role: access.RoleInvestigator}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(t.Context(), token); err != nil {
		t.Fatalf("an update that changed nothing ended the session: %v", err)
	}
	u, err := svc.UpdateUser(t.Context(), sec, "inv1", access.UserChange{Role: access.RolePatrol})
	if err != nil || u.Role != access.RolePatrol {
		t.Fatalf("UpdateUser = %+v, %v", u, err)
	}
	if _, err := svc.Authenticate(t.Context(), token); !errors.Is(err, access.ErrInvalidToken) {
		t.Errorf("a demoted user's session: %v, want ErrInvalidToken", err)
	}
	if _, err := svc.UpdateUser(t.Context(), admin, "inv1", access.UserChange{Password: "New-Passw0rd"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Login(t.Context(), access.Credentials{Username: "inv1", Password: "New-Passw0rd"}, "10.0.0.1"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	yes := true
	for _, tc := range []struct {
		actor access.Actor
		name  string
		ch    access.UserChange
	}{
		{sec, "inv1", access.UserChange{Role: "root"}},
		{admin, "inv1", access.UserChange{Password: "short"}},
		{sec, "sec1", access.UserChange{Role: access.RolePatrol}},       // nobody changes their own role,
		{admin, "admin", access.UserChange{Disabled: &yes}},             // disables themselves
		{admin, "admin", access.UserChange{Password: "New-Passw0rd-9"}}, // or sets their own password without the old one
	} {
		var pe access.PolicyError
		if _, err := svc.UpdateUser(t.Context(), tc.actor, tc.name, tc.ch); !errors.As(err, &pe) {
			t.Errorf("UpdateUser(%s by %s, %+v) = %v, want a PolicyError", tc.name, tc.actor.Username, tc.ch, err)
		}
	}
	if _, err := svc.UpdateUser(t.Context(), sec, "nobody", access.UserChange{}); !errors.Is(err, tracker.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
	got := audited(t, svc)
	want := []string{"sec1 user.update user:inv1 ok", "sec1 user.update user:inv1 ok", "admin user.update user:inv1 ok"}
	if updates := slices.DeleteFunc(got, func(s string) bool { return !strings.Contains(s, "update") }); !slices.Equal(updates, want) {
		t.Errorf("audit %q, want %q", updates, want)
	}
}

// TestSeparationOfDuties performs the attacks of one administrator on the others' duties: the
// system administrator gives roles, creates administrators, takes over or removes another
// administrator's account; each is refused, and what the security administrator may do to an
// administrator's account is audited with the state before and after.
func TestSeparationOfDuties(t *testing.T) {
	svc, _ := newService(t)
	// Before any security administrator exists, the system administrator creates the first.
	sec := newSecurity(t, svc)
	if _, err := svc.CreateUser(t.Context(), admin, access.NewUser{Username: "mole", Password: "Mole-Passw0rd", Role: access.RolePatrol}); err != nil {
		t.Fatal(err)
	}
	forbidden := func(what string, err error) {
		t.Helper()
		var fe access.ForbiddenError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a ForbiddenError", what, err)
		}
	}
	yes := true
	for _, role := range []string{access.RoleAdmin, access.RoleSecurity, access.RoleAuditor} {
		_, err := svc.CreateUser(t.Context(), admin, access.NewUser{Username: "new-" + role, Password: "Good-Passw0rd-1", Role: role})
		forbidden("the system administrator creates a "+role, err)
		_, err = svc.UpdateUser(t.Context(), admin, "mole", access.UserChange{Role: role})
		forbidden("the system administrator makes a patrol "+role, err)
	}
	_, err := svc.UpdateUser(t.Context(), admin, "mole", access.UserChange{Role: access.RoleCommand})
	forbidden("the system administrator changes a role", err)
	_, err = svc.UpdateUser(t.Context(), admin, "sec1", access.UserChange{Password: "Taken-Over-Pw1"})
	forbidden("the system administrator sets the security administrator's password", err)
	_, err = svc.UpdateUser(t.Context(), admin, "sec1", access.UserChange{Disabled: &yes})
	forbidden("the system administrator disables the security administrator", err)
	forbidden("the system administrator deletes the security administrator", svc.DeleteUser(t.Context(), admin, "sec1"))
	_, err = svc.CreateUser(t.Context(), sec, access.NewUser{Username: "sock", Password: "Good-Passw0rd-1", Role: access.RoleAuditor})
	forbidden("the security administrator creates an account", err)
	_, err = svc.UpdateUser(t.Context(), sec, "mole", access.UserChange{Password: "Good-Passw0rd-2"})
	forbidden("the security administrator sets a patrol's password", err)
	aud := access.Actor{Username: "mole", Role: access.RoleAuditor}
	_, err = svc.UpdateUser(t.Context(), aud, "admin", access.UserChange{Role: access.RolePatrol})
	forbidden("the auditor changes a role", err)

	// The security administrator resets the system administrator's password: allowed, audited.
	if _, err := svc.UpdateUser(t.Context(), sec, "admin", access.UserChange{Password: "Reset-Passw0rd-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser(t.Context(), sec, "mole", access.UserChange{Role: access.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	recs, err := svc.Audit(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var updates []string
	for _, r := range recs {
		if r.Action == "user.update" {
			updates = append(updates, r.Actor+" "+r.Object+" "+string(r.Detail))
		}
	}
	want := []string{
		`sec1 user:admin {"after":{"role":"admin","disabled":false,"password":"changed"},"before":{"role":"admin","disabled":false},"changed":["password"]}`,
		`sec1 user:mole {"after":{"role":"admin","disabled":false},"before":{"role":"patrol","disabled":false},"changed":["role"]}`,
	}
	if !slices.Equal(updates, want) {
		t.Errorf("audited updates:\n%s\nwant:\n%s", strings.Join(updates, "\n"), strings.Join(want, "\n"))
	}
}

func TestDeleteUser(t *testing.T) {
	svc, _ := newService(t)
	var pe access.PolicyError
	if err := svc.DeleteUser(t.Context(), admin, "admin"); !errors.As(err, &pe) {
		t.Errorf("an administrator deleting themselves: %v, want a PolicyError", err)
	}
	sec := newSecurity(t, svc)
	if err := svc.DeleteUser(t.Context(), sec, "sec1"); !errors.As(err, &pe) {
		t.Errorf("the security administrator deleting themselves: %v, want a PolicyError", err)
	}
	if err := svc.DeleteUser(t.Context(), sec, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.1"); !errors.Is(err, access.ErrBadCredentials) {
		t.Errorf("a deleted user logs in: %v", err)
	}
	if err := svc.DeleteUser(t.Context(), sec, "admin"); !errors.Is(err, tracker.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
}

func TestEnsureAdmin(t *testing.T) {
	svc, st := newService(t)
	if pw, err := svc.EnsureAdmin(t.Context(), ""); err != nil || pw != "" {
		t.Errorf("with users: EnsureAdmin = %q, %v; want nothing done", pw, err)
	}
	if err := st.DeleteUser(t.Context(), "admin"); err != nil {
		t.Fatal(err)
	}
	pw, err := svc.EnsureAdmin(t.Context(), "")
	if err != nil || access.CheckPassword(pw) != nil {
		t.Fatalf("EnsureAdmin generated %q, %v", pw, err)
	}
	if _, se, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: pw}, "10.0.0.1"); err != nil || se.Role != access.RoleAdmin {
		t.Errorf("login with the generated password: %+v, %v", se, err)
	}
}

// TestFirstLoginMustChange: a generated first password opens only a session that must change
// it; the change asks for the old password, follows the policy, ends the old sessions and is
// audited. An operator's weak first password is refused.
func TestFirstLoginMustChange(t *testing.T) {
	_, st := newService(t)
	if err := st.DeleteUser(t.Context(), "admin"); err != nil {
		t.Fatal(err)
	}
	svc := access.New(st, access.Options{AuditKey: auditKey})
	var pe access.PolicyError
	if _, err := svc.EnsureAdmin(t.Context(), "password"); !errors.As(err, &pe) {
		t.Errorf("a weak operator password: %v, want a PolicyError", err)
	}
	pw, err := svc.EnsureAdmin(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	_, se, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: pw}, "10.0.0.1")
	if err != nil || !se.MustChange {
		t.Fatalf("first login with the generated password: %+v, %v; want a session that must change it", se, err)
	}
	if _, _, err := svc.ChangePassword(t.Context(), se, "wrong-password", "New-Admin-Pw-1"); !errors.Is(err, access.ErrBadCredentials) {
		t.Errorf("a change with a wrong old password: %v", err)
	}
	for _, bad := range []string{pw, "short"} {
		if _, _, err := svc.ChangePassword(t.Context(), se, pw, bad); !errors.As(err, &pe) {
			t.Errorf("ChangePassword to %q: %v, want a PolicyError", bad, err)
		}
	}
	token, next, err := svc.ChangePassword(t.Context(), se, pw, "New-Admin-Pw-1")
	if err != nil || next.MustChange || token == "" {
		t.Fatalf("ChangePassword = %+v, %v", next, err)
	}
	if _, err := st.Session(t.Context(), se.TokenHash); !errors.Is(err, tracker.ErrNotFound) {
		t.Errorf("the session that changed the password lives on: %v", err)
	}
	if _, err := svc.Authenticate(t.Context(), token); err != nil {
		t.Errorf("the new session: %v", err)
	}
	if _, se, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: "New-Admin-Pw-1"}, "10.0.0.1"); err != nil || se.MustChange {
		t.Errorf("login with the new password: %+v, %v", se, err)
	}
	got := audited(t, svc)
	want := []string{"admin user.password user:admin denied", "admin user.password user:admin ok"}
	if changes := slices.DeleteFunc(got, func(s string) bool { return !strings.Contains(s, "user.password") }); !slices.Equal(changes, want) {
		t.Errorf("audit %q, want %q", changes, want)
	}
}

// TestPasswordExpiry: a password older than the maximum age logs in only to be changed; a
// negative maximum age never expires one.
func TestPasswordExpiry(t *testing.T) {
	svc, st := newService(t)
	later := time.Now().Add(91 * 24 * time.Hour)
	access.SetClock(svc, func() time.Time { return later })
	cr := access.Credentials{Username: "admin", Password: adminPassword}
	if _, se, err := svc.Login(t.Context(), cr, "10.0.0.1"); err != nil || !se.MustChange {
		t.Errorf("after 91 days: %+v, %v; want a session that must change the password", se, err)
	}
	never := access.New(st, access.Options{AuditKey: auditKey, PasswordMaxAge: -1})
	access.SetClock(never, func() time.Time { return later })
	if _, se, err := never.Login(t.Context(), cr, "10.0.0.1"); err != nil || se.MustChange {
		t.Errorf("without expiry: %+v, %v", se, err)
	}
}

// TestUsernamesIgnoreCase: a name that differs only in case is taken, and the case a person
// types changes nothing: not the login, not the rule on one's own account.
func TestUsernamesIgnoreCase(t *testing.T) {
	svc, _ := newService(t)
	if _, err := svc.CreateUser(t.Context(), admin, access.NewUser{Username: "Admin", Password: "Good-Passw0rd", Role: access.RolePatrol}); !errors.Is(err, tracker.ErrConflict) {
		t.Errorf("a second admin in another case: %v, want ErrConflict", err)
	}
	if _, se, err := svc.Login(t.Context(), access.Credentials{Username: "ADMIN", Password: adminPassword}, "10.0.0.1"); err != nil || se.Username != "admin" {
		t.Errorf("login as ADMIN: %+v, %v", se, err)
	}
	var pe access.PolicyError
	if err := svc.DeleteUser(t.Context(), admin, "ADMIN"); !errors.As(err, &pe) {
		t.Errorf("deleting oneself in another case: %v, want a PolicyError", err)
	}
}
