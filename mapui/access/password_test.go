package access_test

import (
	"errors"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
)

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"Sh0rt-pw", false},
		{"alllowercaseletters", false},
		{"lowercase-and-symbols", false},
		{"lower1234567", false},
		{"Lower-case-and-Upper", true},
		{"lowercase-1234", true},
		{"Mixed1234567", true},
		{"边境口岸Erenhot2025", true},
		{"ÄÖÜäöü-ßéè", true},
	} {
		err := access.CheckPassword(tc.pw)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", tc.pw, err, tc.ok)
		}
		var pe access.PolicyError
		if err != nil && !errors.As(err, &pe) {
			t.Errorf("CheckPassword(%q) = %T, want a PolicyError", tc.pw, err)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pw := access.GeneratePassword()
		if err := access.CheckPassword(pw); err != nil {
			t.Fatalf("GeneratePassword() = %q: %v", pw, err)
		}
		if seen[pw] {
			t.Fatalf("GeneratePassword() repeated %q", pw)
		}
		seen[pw] = true
	}
}
