// Package passwords hashes the passwords of protected links with bcrypt
// (golang.org/x/crypto/bcrypt), the core.PasswordHasher the application
// gives the service. Core keeps only the contract, so that it imports the
// standard library alone.
package passwords

import "golang.org/x/crypto/bcrypt"

// Bcrypt is a core.PasswordHasher on bcrypt. Cost is the work factor of
// new hashes (bcrypt.DefaultCost when 0); a stored hash keeps the cost it
// was made with, so raising Cost leaves old links working.
type Bcrypt struct {
	Cost int
}

// Hash implements core.PasswordHasher.
func (b Bcrypt) Hash(password string) (string, error) {
	cost := b.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

// Verify implements core.PasswordHasher. A malformed hash matches nothing.
func (Bcrypt) Verify(hash, password string) bool {
	// bcrypt compares in constant time.
	if hash == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
