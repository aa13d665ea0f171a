package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func testDevices(t *testing.T, s Store) {
	ctx := t.Context()
	created := base.Truncate(time.Second)
	d1 := tracker.Device{ID: "13912344329", Protocol: tracker.ProtocolJT808, VehicleID: "truck-1", AuthCode: "A1B2", CreatedAt: created}
	d2 := tracker.Device{ID: "868120145233604", Protocol: tracker.ProtocolGT06, VehicleID: "car-2"}
	for _, d := range []tracker.Device{d2, d1} {
		if err := s.CreateDevice(ctx, d); err != nil {
			t.Fatalf("CreateDevice(%s): %v", d.ID, err)
		}
	}
	wantErr(t, "CreateDevice of an existing id", s.CreateDevice(ctx, d1), tracker.ErrConflict)

	got, err := s.Device(ctx, d1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != d1.ID || got.Protocol != d1.Protocol || got.VehicleID != d1.VehicleID || got.AuthCode != d1.AuthCode || !sameTime(created, got.CreatedAt) {
		t.Errorf("Device = %+v, want %+v", got, d1)
	}
	if got, _ := s.Device(ctx, d2.ID); got.CreatedAt.IsZero() {
		t.Error("a zero CreatedAt was not set on create")
	}

	upd := d1
	upd.VehicleID, upd.AuthCode, upd.CreatedAt = "truck-9", "", created.Add(time.Hour)
	if err := s.UpdateDevice(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Device(ctx, d1.ID)
	if got.VehicleID != "truck-9" || got.AuthCode != "" || !sameTime(created, got.CreatedAt) {
		t.Errorf("after UpdateDevice: %+v, want vehicle truck-9, no auth code, created %v", got, created)
	}
	wantErr(t, "UpdateDevice of a missing id", s.UpdateDevice(ctx, tracker.Device{ID: "nope", Protocol: tracker.ProtocolGT06}), tracker.ErrNotFound)

	list, err := s.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != d1.ID || list[1].ID != d2.ID {
		t.Errorf("Devices = %+v, want %s then %s", list, d1.ID, d2.ID)
	}

	if err := s.DeleteDevice(ctx, d1.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Device(ctx, d1.ID)
	wantErr(t, "Device after delete", err, tracker.ErrNotFound)
	wantErr(t, "DeleteDevice twice", s.DeleteDevice(ctx, d1.ID), tracker.ErrNotFound)
	if list, _ := s.Devices(ctx); len(list) != 1 {
		t.Errorf("Devices after delete = %d, want 1", len(list))
	}
	// The id is free again.
	if err := s.CreateDevice(ctx, d1); err != nil {
		t.Errorf("CreateDevice after delete: %v", err)
	}
}

// testDeviceRegistration: the pre-registered terminal round-trips; a registration is recorded
// once, by one of many at once, survives UpdateDevice and is forgotten by ResetRegistration.
func testDeviceRegistration(t *testing.T, s Store) {
	ctx := t.Context()
	d := tracker.Device{ID: "13912344329", Protocol: tracker.ProtocolJT808, VehicleID: "truck-1", AuthCode: "A1B2",
		TerminalID: "T100001", Maker: "70111", Model: "KM-9"}
	if err := s.CreateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.Device(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TerminalID != d.TerminalID || got.Maker != d.Maker || got.Model != d.Model || !got.RegisteredAt.IsZero() {
		t.Errorf("Device = %+v, want terminal %s/%s/%s, not registered", got, d.Maker, d.Model, d.TerminalID)
	}

	at := base.Add(time.Minute)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = s.MarkRegistered(ctx, d.ID, at.Add(time.Duration(i)*time.Second)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, tracker.ErrAlreadyRegistered):
			t.Errorf("MarkRegistered: %v, want nil or ErrAlreadyRegistered", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent registrations recorded, want 1", won, len(errs))
	}
	got, _ = s.Device(ctx, d.ID)
	if got.RegisteredAt.IsZero() || got.RegisteredAt.Before(at.Add(-time.Millisecond)) {
		t.Errorf("RegisteredAt = %v, want from %v", got.RegisteredAt, at)
	}
	first := got.RegisteredAt

	upd := got
	upd.RegisteredAt, upd.TerminalID, upd.Maker, upd.Model = time.Time{}, "T100002", "", ""
	if err := s.UpdateDevice(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Device(ctx, d.ID)
	if !sameTime(first, got.RegisteredAt) || got.TerminalID != "T100002" || got.Maker != "" || got.Model != "" {
		t.Errorf("after UpdateDevice: %+v, want registered at %v, terminal T100002 without maker and model", got, first)
	}
	wantErr(t, "MarkRegistered again", s.MarkRegistered(ctx, d.ID, at), tracker.ErrAlreadyRegistered)
	wantErr(t, "MarkRegistered of a missing id", s.MarkRegistered(ctx, "nope", at), tracker.ErrNotFound)

	if err := s.ResetRegistration(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Device(ctx, d.ID); !got.RegisteredAt.IsZero() {
		t.Errorf("RegisteredAt after reset = %v, want zero", got.RegisteredAt)
	}
	if err := s.MarkRegistered(ctx, d.ID, at); err != nil {
		t.Errorf("MarkRegistered after reset: %v", err)
	}
	wantErr(t, "ResetRegistration of a missing id", s.ResetRegistration(ctx, "nope"), tracker.ErrNotFound)
}

func testVehicles(t *testing.T, s Store) {
	ctx := t.Context()
	created := base
	v1 := tracker.Vehicle{ID: "truck-1", Plate: "蒙H·12345", Kind: tracker.KindTruck, CardID: "IC-0042", Name: "Coal 1",
		Attrs: map[string]any{"axles": 6.0, "carrier": "Erlian Logistics", "hazmat": false}, CreatedAt: created}
	v2 := tracker.Vehicle{ID: "car-2", Plate: "蒙H·A0001", Kind: tracker.KindResidentCar}
	for _, v := range []tracker.Vehicle{v1, v2} {
		if err := s.CreateVehicle(ctx, v); err != nil {
			t.Fatalf("CreateVehicle(%s): %v", v.ID, err)
		}
	}
	wantErr(t, "CreateVehicle of an existing id", s.CreateVehicle(ctx, v2), tracker.ErrConflict)

	got, err := s.Vehicle(ctx, v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != v1.ID || got.Plate != v1.Plate || got.Kind != v1.Kind || got.CardID != v1.CardID || got.Name != v1.Name ||
		!sameTime(created, got.CreatedAt) || !sameJSON(t, got.Attrs, v1.Attrs) {
		t.Errorf("Vehicle = %+v, want %+v", got, v1)
	}
	if got, _ := s.Vehicle(ctx, v2.ID); got.CreatedAt.IsZero() || len(got.Attrs) != 0 {
		t.Errorf("Vehicle without attrs and time = %+v, want no attrs and CreatedAt set", got)
	}

	upd := v1
	upd.Plate, upd.Attrs, upd.CardID, upd.CreatedAt = "蒙H·54321", map[string]any{"axles": 4.0}, "", time.Time{}
	if err := s.UpdateVehicle(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Vehicle(ctx, v1.ID)
	if got.Plate != upd.Plate || got.CardID != "" || !sameJSON(t, got.Attrs, upd.Attrs) || !sameTime(created, got.CreatedAt) {
		t.Errorf("after UpdateVehicle: %+v, want %+v created %v", got, upd, created)
	}
	wantErr(t, "UpdateVehicle of a missing id", s.UpdateVehicle(ctx, tracker.Vehicle{ID: "nope", Kind: tracker.KindPatrol}), tracker.ErrNotFound)

	list, err := s.Vehicles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "car-2" || list[1].ID != "truck-1" {
		t.Errorf("Vehicles = %+v, want car-2 then truck-1", list)
	}
	if err := s.DeleteVehicle(ctx, v2.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Vehicle(ctx, v2.ID)
	wantErr(t, "Vehicle after delete", err, tracker.ErrNotFound)
	wantErr(t, "DeleteVehicle twice", s.DeleteVehicle(ctx, v2.ID), tracker.ErrNotFound)
}

func testUsers(t *testing.T, s Store) {
	ctx := t.Context()
	u1 := tracker.User{Username: "admin", Role: "admin", Hash: "$2a$10$abcdefghijklmnopqrstuv", CreatedAt: base, MustChange: true}
	u2 := tracker.User{Username: "batu", Role: "patrol", Hash: "$2a$10$zyxwvutsrqponmlkjihgfe", Disabled: true, PasswordChangedAt: base.Add(-time.Hour), Unit: "port-erenhot",
		DeviceID: "tablet-7"}
	for _, u := range []tracker.User{u2, u1} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Username, err)
		}
	}
	wantErr(t, "CreateUser of an existing name", s.CreateUser(ctx, u1), tracker.ErrConflict)
	wantErr(t, "CreateUser of an existing name in another case", s.CreateUser(ctx, tracker.User{Username: "Admin", Role: "patrol", Hash: "h"}), tracker.ErrConflict)
	got, err := s.User(ctx, "ADMIN")
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != u1.Username || got.Role != u1.Role || got.Hash != u1.Hash || got.Disabled || !sameTime(base, got.CreatedAt) ||
		!got.MustChange || !sameTime(base, got.PasswordChangedAt) {
		t.Errorf("User(ADMIN) = %+v, want %+v with the password set when created", got, u1)
	}
	if got.Unit != tracker.UnitDistrict {
		t.Errorf("User without a unit has unit %q, want %q", got.Unit, tracker.UnitDistrict)
	}
	if got, _ := s.User(ctx, "batu"); !got.Disabled || got.CreatedAt.IsZero() || got.MustChange || !sameTime(u2.PasswordChangedAt, got.PasswordChangedAt) || got.Unit != "port-erenhot" {
		t.Errorf("User batu = %+v, want disabled with CreatedAt set, of port-erenhot", got)
	}
	_, err = s.User(ctx, "nobody")
	wantErr(t, "User of a missing name", err, tracker.ErrNotFound)

	upd := u2
	upd.Role, upd.Disabled, upd.Hash, upd.MustChange, upd.PasswordChangedAt, upd.Unit = "command", false, "$2a$10$new", true, base.Add(time.Hour), ""
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, "batu"); got.Role != "command" || got.Disabled || got.Hash != "$2a$10$new" || !got.MustChange || !sameTime(upd.PasswordChangedAt, got.PasswordChangedAt) || got.Unit != "port-erenhot" {
		t.Errorf("after UpdateUser without a unit: %+v, want the unit kept", got)
	}
	upd.Unit = "port-ceke"
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, "batu"); got.Unit != "port-ceke" || got.DeviceID != "tablet-7" {
		t.Errorf("after UpdateUser to port-ceke: unit %q, device %q (want tablet-7 kept)", got.Unit, got.DeviceID)
	}
	upd.DeviceID = ""
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, "batu"); got.DeviceID != "" {
		t.Errorf("after UpdateUser unlinking the device: device %q", got.DeviceID)
	}
	upd.DeviceID = "tablet-7"
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "UpdateUser of a missing name", s.UpdateUser(ctx, tracker.User{Username: "nobody", Role: "admin"}), tracker.ErrNotFound)
	if got, _ := s.User(ctx, "batu"); got.TOTPSecret != "" || got.TOTPConfirmed || got.TOTPLastStep != 0 || got.TOTPRecovery != nil {
		t.Errorf("User batu without a second factor = %+v", got)
	}
	upd.TOTPSecret, upd.TOTPConfirmed, upd.TOTPLastStep, upd.TOTPRecovery = "JBSWY3DPEHPK3PXP", true, 59000000, []string{"r1", "r2"}
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, "batu"); got.TOTPSecret != upd.TOTPSecret || !got.TOTPConfirmed || got.TOTPLastStep != upd.TOTPLastStep || !slices.Equal(got.TOTPRecovery, upd.TOTPRecovery) {
		t.Errorf("after UpdateUser with a second factor: %+v", got)
	}
	upd.TOTPRecovery = nil
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, "batu"); got.TOTPRecovery != nil {
		t.Errorf("after UpdateUser with the recovery codes used up: %q", got.TOTPRecovery)
	}

	list, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Username != "admin" || list[1].Username != "batu" {
		t.Errorf("Users = %+v, want admin then batu", list)
	}
	if err := s.DeleteUser(ctx, "Batu"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteUser twice", s.DeleteUser(ctx, "batu"), tracker.ErrNotFound)
	if list, _ := s.Users(ctx); len(list) != 1 {
		t.Errorf("Users after delete = %d, want 1", len(list))
	}
}

func testSessions(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.CreateUser(ctx, tracker.User{Username: "admin", Role: "admin", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	mk := func(hash, user string) tracker.Session {
		return tracker.Session{TokenHash: hash, Username: user, Role: "admin", CreatedAt: base, ExpiresAt: base.Add(12 * time.Hour), LastSeen: base}
	}
	s1, s2, s3 := mk("h1", "admin"), mk("h2", "admin"), mk("h3", "batu")
	s2.MustChange = true
	s3.TOTPEnrol = true
	for _, se := range []tracker.Session{s1, s2, s3} {
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatalf("CreateSession(%s): %v", se.TokenHash, err)
		}
	}
	wantErr(t, "CreateSession of an existing hash", s.CreateSession(ctx, s1), tracker.ErrConflict)
	got, err := s.Session(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got.TokenHash != "h1" || got.Username != "admin" || got.Role != "admin" || !sameTime(base, got.CreatedAt) ||
		!sameTime(s1.ExpiresAt, got.ExpiresAt) || !sameTime(base, got.LastSeen) {
		t.Errorf("Session = %+v, want %+v", got, s1)
	}
	if got.MustChange {
		t.Error("Session h1 must change the password")
	}
	if got, _ := s.Session(ctx, "h2"); !got.MustChange {
		t.Error("Session h2 lost MustChange")
	}
	if got, _ := s.Session(ctx, "h3"); !got.TOTPEnrol {
		t.Error("Session h3 lost TOTPEnrol")
	}
	seen := base.Add(90*time.Minute + 250*time.Millisecond)
	if err := s.TouchSession(ctx, "h1", seen); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, "h1"); !sameTime(seen, got.LastSeen) || !sameTime(s1.ExpiresAt, got.ExpiresAt) {
		t.Errorf("after TouchSession: last seen %v expires %v, want %v and %v", got.LastSeen, got.ExpiresAt, seen, s1.ExpiresAt)
	}
	wantErr(t, "TouchSession of a missing hash", s.TouchSession(ctx, "nope", seen), tracker.ErrNotFound)
	_, err = s.Session(ctx, "nope")
	wantErr(t, "Session of a missing hash", err, tracker.ErrNotFound)

	if err := s.DeleteSession(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteSession twice", s.DeleteSession(ctx, "h2"), tracker.ErrNotFound)
	if err := s.DeleteUserSessions(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Session(ctx, "h1")
	wantErr(t, "Session after DeleteUserSessions", err, tracker.ErrNotFound)
	if _, err := s.Session(ctx, "h3"); err != nil {
		t.Errorf("another user's session went too: %v", err)
	}
	if err := s.DeleteUserSessions(ctx, "nobody"); err != nil {
		t.Errorf("DeleteUserSessions of a user without sessions: %v", err)
	}
}

func testLoginLockouts(t *testing.T, s Store) {
	ctx := t.Context()
	const window = 15 * time.Minute
	count := func(user, addr string) int {
		t.Helper()
		f, err := s.LoginFailures(ctx, user, addr)
		if err != nil {
			t.Fatal(err)
		}
		return f.Count
	}
	if n := count("admin", "10.0.0.1"); n != 0 {
		t.Errorf("no failures yet: %d", n)
	}
	for i := range 3 {
		f, err := s.AddLoginFailure(ctx, "admin", "10.0.0.1", base.Add(time.Duration(i)*time.Minute), window)
		if err != nil || f.Count != i+1 || !sameTime(f.Since, base) {
			t.Fatalf("failure %d: %+v, %v; want count %d since %v", i+1, f, err, i+1, base)
		}
	}
	if _, err := s.AddLoginFailure(ctx, "admin", "10.0.0.2", base, window); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLoginFailure(ctx, "", "10.0.0.1", base, window); err != nil {
		t.Fatal(err)
	}
	if f, err := s.LoginFailures(ctx, "admin", "10.0.0.1"); err != nil || f.Count != 3 || !sameTime(f.Since, base) || f.Username != "admin" || f.Addr != "10.0.0.1" {
		t.Errorf("LoginFailures = %+v, %v", f, err)
	}
	// A failure after the window opens a new one.
	later := base.Add(window + time.Second)
	if f, err := s.AddLoginFailure(ctx, "admin", "10.0.0.1", later, window); err != nil || f.Count != 1 || !sameTime(f.Since, later) {
		t.Errorf("after the window: %+v, %v; want a new window", f, err)
	}
	if err := s.ClearLoginFailures(ctx, "admin", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if count("admin", "10.0.0.1") != 0 || count("admin", "10.0.0.2") != 1 || count("", "10.0.0.1") != 1 {
		t.Error("ClearLoginFailures of one pair cleared another")
	}
	s.AddLoginFailure(ctx, "admin", "10.0.0.3", later, window)
	if err := s.ClearLoginFailures(ctx, "admin", ""); err != nil {
		t.Fatal(err)
	}
	if count("admin", "10.0.0.2") != 0 || count("admin", "10.0.0.3") != 0 || count("", "10.0.0.1") != 1 {
		t.Error("ClearLoginFailures of every address: wrong pairs cleared")
	}
	s.AddLoginFailure(ctx, "batu", "10.0.0.4", later, window)
	if err := s.SweepLoginFailures(ctx, later); err != nil {
		t.Fatal(err)
	}
	if count("", "10.0.0.1") != 0 || count("batu", "10.0.0.4") != 1 {
		t.Error("SweepLoginFailures: wrong windows forgotten")
	}
}
