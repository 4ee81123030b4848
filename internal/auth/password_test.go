package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPassword(t *testing.T) {
	hash, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=1,p=2$") {
		t.Fatalf("hash %q is not a PHC argon2id string with the default costs", hash)
	}
	again, _ := HashPassword("correct horse battery")
	if again == hash {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}

	tests := []struct {
		name     string
		encoded  string
		password string
		want     bool
		wantErr  error
	}{
		{"right password", hash, "correct horse battery", true, nil},
		{"wrong password", hash, "correct horse battery!", false, nil},
		{"empty password", hash, "", false, nil},
		{"empty hash", "", "x", false, ErrBadHash},
		{"other algorithm", strings.Replace(hash, "argon2id", "argon2i", 1), "correct horse battery", false, ErrBadHash},
		{"other version", strings.Replace(hash, "v=19", "v=16", 1), "correct horse battery", false, ErrBadHash},
		{"bad params", strings.Replace(hash, "m=65536", "m=x", 1), "correct horse battery", false, ErrBadHash},
		{"huge memory", strings.Replace(hash, "m=65536", "m=99999999", 1), "correct horse battery", false, ErrBadHash},
		{"bad salt", replacePart(hash, 4, "!!"), "correct horse battery", false, ErrBadHash},
		{"truncated", hash[:strings.LastIndex(hash, "$")], "correct horse battery", false, ErrBadHash},
		{"changed costs", strings.Replace(hash, "t=1", "t=2", 1), "correct horse battery", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.encoded, tt.password)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if ok != tt.want {
				t.Fatalf("ok = %v, want %v", ok, tt.want)
			}
		})
	}
}

func TestPasswordOtherCosts(t *testing.T) {
	old := DefaultPasswordParams
	t.Cleanup(func() { DefaultPasswordParams = old })
	DefaultPasswordParams = PasswordParams{Memory: 1024, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 16}
	hash, err := HashPassword("a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	DefaultPasswordParams = old
	if ok, err := VerifyPassword(hash, "a long enough password"); !ok || err != nil {
		t.Fatalf("a hash made with other costs does not verify: %v %v", ok, err)
	}
}

func replacePart(hash string, i int, v string) string {
	parts := strings.Split(hash, "$")
	parts[i] = v
	return strings.Join(parts, "$")
}
