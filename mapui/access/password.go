package access

import (
	"crypto/rand"
	"sync"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// CheckPassword enforces the password policy: at least 10 characters from at least three of
// lower case, upper case, digits and other characters. It refuses with a PolicyError.
func CheckPassword(pw string) error {
	if len([]rune(pw)) < 10 {
		return PolicyError("password must have at least 10 characters")
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
		return PolicyError("password must mix at least three of: lower case, upper case, digits, other characters")
	}
	return nil
}

// hashPassword returns the bcrypt hash of pw.
func hashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), passwordCost)
	return string(h), err
}

// passwordCost is bcrypt's cost for every stored password.
const passwordCost = bcrypt.DefaultCost

// dummyHash makes a login for an unknown or disabled user cost as much as for a known one: it
// has the same cost as a stored password (a cheaper one would tell the names apart by timing).
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), passwordCost)
	return h
})

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
