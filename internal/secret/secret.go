// Package secret seals connection credentials at rest with XChaCha20-Poly1305.
//
// Every sealed value names the id of the key that sealed it, so keys can rotate: a keyring
// seals with its first key and opens with any key it holds.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// Keyring holds the key that seals and older keys that still open.
type Keyring struct {
	ids  []string // ids[0] seals
	keys map[string][]byte
}

// ErrUnknownKey means a value was sealed with a key this keyring does not hold.
var ErrUnknownKey = errors.New("sealed with an unknown key")

// NewKeyring builds a keyring from passphrases or random keys in text form; the first seals.
// Each is stretched to a 32-byte key with SHA-256, so any long random string works.
func NewKeyring(keys ...string) (*Keyring, error) {
	kr := &Keyring{keys: map[string][]byte{}}
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if len(k) < 16 {
			return nil, fmt.Errorf("secret key: too short (need at least 16 characters)")
		}
		sum := sha256.Sum256([]byte(k))
		idSum := sha256.Sum256(append([]byte("junction key id:"), sum[:]...)) // reveals nothing of the key
		id := hex.EncodeToString(idSum[:4])
		if _, dup := kr.keys[id]; dup {
			continue
		}
		kr.ids = append(kr.ids, id)
		kr.keys[id] = sum[:]
	}
	if len(kr.ids) == 0 {
		return nil, fmt.Errorf("secret key: none given")
	}
	return kr, nil
}

// LoadKeyring uses env (comma-separated keys, the first seals) when set; otherwise it reads
// the key file in dataDir, creating it with a random key (mode 0600) on first start.
func LoadKeyring(env, dataDir string) (*Keyring, error) {
	if strings.TrimSpace(env) != "" {
		return NewKeyring(strings.Split(env, ",")...)
	}
	path := filepath.Join(dataDir, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		b = []byte(base64.StdEncoding.EncodeToString(raw) + "\n")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("secret key file: %w", err)
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return nil, fmt.Errorf("secret key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("secret key file: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	return NewKeyring(strings.Split(strings.TrimSpace(string(b)), "\n")...)
}

// KeyID is the id of the key that seals.
func (kr *Keyring) KeyID() string { return kr.ids[0] }

// Seal encrypts plaintext bound to context (e.g. the workspace), so a sealed value copied to
// another place does not open. The result is "keyid:base64(nonce|ciphertext)".
func (kr *Keyring) Seal(plaintext []byte, context string) (string, error) {
	id := kr.ids[0]
	aead, err := chacha20poly1305.NewX(kr.keys[id])
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := aead.Seal(nonce, nonce, plaintext, []byte(context))
	return id + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal with the same context.
func (kr *Keyring) Open(sealed, context string) ([]byte, error) {
	id, body, ok := strings.Cut(sealed, ":")
	if !ok {
		return nil, fmt.Errorf("open sealed value: malformed")
	}
	key, ok := kr.keys[id]
	if !ok {
		return nil, fmt.Errorf("open sealed value (key %s): %w", id, ErrUnknownKey)
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("open sealed value: malformed")
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("open sealed value: %w", err)
	}
	if len(raw) < aead.NonceSize() {
		return nil, fmt.Errorf("open sealed value: too short")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("open sealed value: authentication failed")
	}
	return plain, nil
}

// NeedsReseal reports whether sealed was made with a key other than the sealing one.
func (kr *Keyring) NeedsReseal(sealed string) bool {
	id, _, _ := strings.Cut(sealed, ":")
	return id != kr.ids[0]
}
