package main

import (
	"flag"
	"testing"
)

// TestRequireTOTPAdminsDefault: serve requires administrators' second factor unless told not
// to; demo does not.
func TestRequireTOTPAdminsDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		demo bool
		env  map[string]string
		want bool
	}{
		{"serve", false, nil, true},
		{"demo", true, nil, false},
		{"serve with BW_REQUIRE_TOTP_ADMINS=false", false, map[string]string{"BW_REQUIRE_TOTP_ADMINS": "false"}, false},
	} {
		var cfg config
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		if err := bindConfig(flag.NewFlagSet(tc.name, flag.ContinueOnError), &cfg, tc.demo, lookup); err != nil {
			t.Fatal(err)
		}
		if cfg.RequireTOTPAdmins != tc.want {
			t.Errorf("%s: RequireTOTPAdmins %v, want %v", tc.name, cfg.RequireTOTPAdmins, tc.want)
		}
	}
}

// TestRequireTOTPAdmins: with the setting the server gives the admin logging in with the
// password alone a session that may only enrol a second factor.
func TestRequireTOTPAdmins(t *testing.T) {
	a := startApp(t, func(c *config) { c.RequireTOTPAdmins = true })
	a.mustCall("GET", "/api/v1/vehicles", nil, nil, 403)
	a.mustCall("GET", "/api/v1/me", nil, nil, 200)
	var en struct {
		Secret string `json:"secret"`
	}
	a.mustCall("POST", "/api/v1/me/totp", nil, &en, 200)
	if en.Secret == "" {
		t.Error("no secret")
	}
}
