package tracker_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

func TestAdmissionRegister(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	truck := tracker.Device{ID: "13912344329", Protocol: tracker.ProtocolJT808, VehicleID: "truck-1",
		AuthCode: "c0de", TerminalID: "T100001", Maker: "70111", Model: "KM-9"}
	bare := tracker.Device{ID: "13912344330", Protocol: tracker.ProtocolJT808, VehicleID: "truck-2"}
	right := tracker.Registration{TerminalID: "T100001", Maker: "70111", Model: "KM-9", Plate: "蒙H12345"}
	with := func(f func(*tracker.Registration)) tracker.Registration { r := right; f(&r); return r }
	tests := []struct {
		name   string
		dev    tracker.Device
		reg    tracker.Registration
		accept bool // unknown devices
		want   error
	}{
		{"matching record", truck, right, false, nil},
		{"plate as printed, lower case and spaced", truck, with(func(r *tracker.Registration) { r.Plate = " 蒙h·123 45" }), false, nil},
		{"terminal id, case and padding aside", truck, with(func(r *tracker.Registration) { r.TerminalID = "t100001 " }), false, nil},
		{"another terminal id", truck, with(func(r *tracker.Registration) { r.TerminalID = "T999999" }), false, tracker.ErrTerminalMismatch},
		{"another maker", truck, with(func(r *tracker.Registration) { r.Maker = "BW" }), false, tracker.ErrTerminalMismatch},
		{"another model", truck, with(func(r *tracker.Registration) { r.Model = "X1" }), false, tracker.ErrTerminalMismatch},
		{"another plate", truck, with(func(r *tracker.Registration) { r.Plate = "蒙H54321" }), false, tracker.ErrPlateMismatch},
		{"no plate for a plated vehicle", truck, with(func(r *tracker.Registration) { r.Plate = "" }), false, tracker.ErrPlateMismatch},
		{"nothing pre-registered, vehicle without plate", bare, tracker.Registration{TerminalID: "ANY", Plate: "ANY"}, false, nil},
		{"unknown device accepted", tracker.Device{ID: "19999999999", VehicleID: "19999999999"}, right, true, nil},
		{"unknown device deleted meanwhile", tracker.Device{ID: "19999999999", VehicleID: "19999999999"}, right, false, tracker.ErrUnknownDevice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { reg.Close() })
			for _, v := range []tracker.Vehicle{{ID: "truck-1", Plate: "蒙H·12345"}, {ID: "truck-2"}} {
				if err := reg.CreateVehicle(t.Context(), v); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range []tracker.Device{truck, bare} {
				if err := reg.CreateDevice(t.Context(), d); err != nil {
					t.Fatal(err)
				}
			}
			a := &tracker.Admission{Devices: reg, Registrations: reg, AcceptUnknown: tt.accept}
			err = a.Register(t.Context(), tt.dev, tt.reg, at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Register = %v, want %v", err, tt.want)
			}
			stored, lookup := reg.Device(t.Context(), tt.dev.ID)
			found := lookup == nil
			if found && (err == nil) != stored.RegisteredAt.Equal(at) {
				t.Errorf("RegisteredAt = %v after %v", stored.RegisteredAt, err)
			}
			if err != nil || !found {
				return
			}
			// The second registration is refused, whether the device was read before or after
			// the first.
			if err := a.Register(t.Context(), tt.dev, tt.reg, at.Add(time.Minute)); !errors.Is(err, tracker.ErrAlreadyRegistered) {
				t.Errorf("second Register (stale device) = %v, want ErrAlreadyRegistered", err)
			}
			if err := a.Register(t.Context(), stored, tt.reg, at.Add(time.Minute)); !errors.Is(err, tracker.ErrAlreadyRegistered) {
				t.Errorf("second Register = %v, want ErrAlreadyRegistered", err)
			}
		})
	}
}

func TestNormalPlate(t *testing.T) {
	for in, want := range map[string]string{"蒙H·12345": "蒙H12345", " 蒙h 12345\u3000": "蒙H12345", "京A-B123": "京A-B123"} {
		if got := tracker.NormalPlate(in); got != want {
			t.Errorf("NormalPlate(%q) = %q, want %q", in, got, want)
		}
	}
}
