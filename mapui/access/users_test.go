package access_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

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
		if _, err := svc.CreateUser(t.Context(), "admin", nu); !errors.As(err, &pe) {
			t.Errorf("CreateUser(%+v) = %v, want a PolicyError", nu, err)
		}
	}
	u, err := svc.CreateUser(t.Context(), "admin", access.NewUser{Username: "patrol1", Password: "Good-Passw0rd", Role: access.RolePatrol})
	if err != nil || u.Username != "patrol1" || u.Role != access.RolePatrol || u.Hash == "" || u.Hash == "Good-Passw0rd" || u.Unit != tracker.UnitDistrict {
		t.Fatalf("CreateUser = %+v, %v", u, err)
	}
	if _, err := svc.CreateUser(t.Context(), "admin", access.NewUser{Username: "patrol1", Password: "Good-Passw0rd", Role: access.RolePatrol}); !errors.Is(err, tracker.ErrConflict) {
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
	if _, err := svc.CreateUser(t.Context(), "admin", access.NewUser{Username: "inv1", Password: "Inv-Passw0rd", Role: access.RoleInvestigator}); err != nil {
		t.Fatal(err)
	}
	token, _, err := svc.Login(t.Context(), access.Credentials{Username: "inv1", Password: "Inv-Passw0rd"}, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changes: the session stays.
	if _, err := svc.UpdateUser(t.Context(), "admin", "inv1", access.UserChange{Role: access.RoleInvestigator}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(t.Context(), token); err != nil {
		t.Fatalf("an update that changed nothing ended the session: %v", err)
	}
	u, err := svc.UpdateUser(t.Context(), "admin", "inv1", access.UserChange{Role: access.RolePatrol, Password: "New-Passw0rd"})
	if err != nil || u.Role != access.RolePatrol {
		t.Fatalf("UpdateUser = %+v, %v", u, err)
	}
	if _, err := svc.Authenticate(t.Context(), token); !errors.Is(err, access.ErrInvalidToken) {
		t.Errorf("a demoted user's session: %v, want ErrInvalidToken", err)
	}
	if _, _, err := svc.Login(t.Context(), access.Credentials{Username: "inv1", Password: "New-Passw0rd"}, "10.0.0.1"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	yes := true
	for _, ch := range []access.UserChange{{Role: "root"}, {Password: "short"}, {Role: access.RolePatrol}, {Disabled: &yes}} {
		name := "inv1"
		if ch.Role == access.RolePatrol || ch.Disabled != nil {
			name = "admin" // an administrator may neither demote nor disable themselves
		}
		var pe access.PolicyError
		if _, err := svc.UpdateUser(t.Context(), "admin", name, ch); !errors.As(err, &pe) {
			t.Errorf("UpdateUser(%s, %+v) = %v, want a PolicyError", name, ch, err)
		}
	}
	if _, err := svc.UpdateUser(t.Context(), "admin", "nobody", access.UserChange{}); !errors.Is(err, tracker.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
	got := audited(t, svc)
	want := []string{"admin user.update user:inv1 ok", "admin user.update user:inv1 ok"}
	if updates := slices.DeleteFunc(got, func(s string) bool { return !strings.Contains(s, "update") }); !slices.Equal(updates, want) {
		t.Errorf("audit %q, want %q", updates, want)
	}
}

func TestDeleteUser(t *testing.T) {
	svc, _ := newService(t)
	var pe access.PolicyError
	if err := svc.DeleteUser(t.Context(), "admin", "admin"); !errors.As(err, &pe) {
		t.Errorf("an administrator deleting themselves: %v, want a PolicyError", err)
	}
	if _, err := svc.CreateUser(t.Context(), "admin", access.NewUser{Username: "admin2", Password: "Admin-Passw0rd-2", Role: access.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteUser(t.Context(), "admin2", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Login(t.Context(), access.Credentials{Username: "admin", Password: adminPassword}, "10.0.0.1"); !errors.Is(err, access.ErrBadCredentials) {
		t.Errorf("a deleted user logs in: %v", err)
	}
	if err := svc.DeleteUser(t.Context(), "admin2", "admin"); !errors.Is(err, tracker.ErrNotFound) {
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
