package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	old, _ := NewKeyring("old-key-0123456789abcdef")
	cur, _ := NewKeyring("new-key-0123456789abcdef", "old-key-0123456789abcdef")
	sealedOld, err := old.Seal([]byte("hunter2-password"), "ws:1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealedOld, "hunter2") {
		t.Fatal("sealed value contains the plaintext")
	}
	tests := []struct {
		name    string
		kr      *Keyring
		sealed  string
		context string
		want    string
		wantErr error
	}{
		{"same key", old, sealedOld, "ws:1", "hunter2-password", nil},
		{"rotated keyring opens old value", cur, sealedOld, "ws:1", "hunter2-password", nil},
		{"other context", old, sealedOld, "ws:2", "", errors.New("any")},
		{"tampered", old, sealedOld[:len(sealedOld)-2] + "AA", "ws:1", "", errors.New("any")},
	}
	only, _ := NewKeyring("new-key-0123456789abcdef")
	tests = append(tests, struct {
		name    string
		kr      *Keyring
		sealed  string
		context string
		want    string
		wantErr error
	}{"unknown key", only, sealedOld, "ws:1", "", ErrUnknownKey})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.kr.Open(tt.sealed, tt.context)
			if tt.wantErr == nil {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Open = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatal("Open succeeded, want error")
			}
			if errors.Is(tt.wantErr, ErrUnknownKey) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("err = %v, want ErrUnknownKey", err)
			}
		})
	}
	if !cur.NeedsReseal(sealedOld) || old.NeedsReseal(sealedOld) {
		t.Fatal("NeedsReseal wrong")
	}
}

func TestLoadKeyringCreatesPrivateFile(t *testing.T) {
	dir := t.TempDir()
	kr1, err := LoadKeyring("", dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	kr2, err := LoadKeyring("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if kr1.KeyID() != kr2.KeyID() {
		t.Fatal("second load made a different key")
	}
	if _, err := NewKeyring("short"); err == nil {
		t.Fatal("short key accepted")
	}
}
