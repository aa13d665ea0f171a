package main

import (
	"slices"
	"testing"
)

func TestTrustedProxies(t *testing.T) {
	got, err := trustedProxies(" 10.0.0.0/8, 127.0.0.1,,::1 ")
	if want := []string{"10.0.0.0/8", "127.0.0.1", "::1"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("trustedProxies = %q, %v; want %q", got, err, want)
	}
	if got, err := trustedProxies(""); err != nil || got != nil {
		t.Errorf("empty: %q, %v; want none", got, err)
	}
	for _, bad := range []string{"*", "10.0.0.0/33", "proxy.example"} {
		if _, err := trustedProxies(bad); err == nil {
			t.Errorf("trustedProxies(%q) accepted", bad)
		}
	}
}
