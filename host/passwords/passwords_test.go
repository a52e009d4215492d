package passwords

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/curtainhq/curtain/core"
)

var _ core.PasswordHasher = Bcrypt{}

func TestBcrypt(t *testing.T) {
	h := Bcrypt{Cost: bcrypt.MinCost}
	hash, err := h.Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hash, "s3cret") || !strings.HasPrefix(hash, "$2a$04$") {
		t.Fatalf("hash %q: want a bcrypt hash of cost 4 without the password", hash)
	}
	if !h.Verify(hash, "s3cret") {
		t.Error("the right password does not verify")
	}
	for _, wrong := range []string{"", "s3cre", "s3cret ", "S3CRET"} {
		if h.Verify(hash, wrong) {
			t.Errorf("wrong password %q verifies", wrong)
		}
	}
	if h.Verify("", "") || h.Verify("not-a-hash", "s3cret") {
		t.Error("a malformed hash verifies")
	}
	again, _ := h.Hash("s3cret")
	if again == hash {
		t.Error("two hashes of one password are equal: no salt")
	}
}
