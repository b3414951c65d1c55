package auth

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkPasswordCheck is one login's bcrypt comparison at hashCost:
// what a password check costs the gateway's CPU.
func BenchmarkPasswordCheck(b *testing.B) {
	hash, err := bcrypt.GenerateFromPassword([]byte("duty-room-2026"), hashCost)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if bcrypt.CompareHashAndPassword(hash, []byte("duty-room-2026")) != nil {
			b.Fatal("the password does not match its hash")
		}
	}
}
