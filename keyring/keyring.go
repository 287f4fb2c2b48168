// Package keyring encrypts Secrets at rest: each value is sealed with
// XChaCha20-Poly1305 under a data key, with the Secret's namespace, name
// and key as associated data (a value moved under another name does not
// open). Data keys are kept in Raft only wrapped by the cluster's
// key-encryption key (KEK), which never enters Raft: it is a file under
// each master's data directory.
package keyring

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of every key, the KEK's and data keys'.
const KeySize = chacha20poly1305.KeySize

// KEK is the cluster's key-encryption key.
type KEK [KeySize]byte

// NewKEK makes a random KEK.
func NewKEK() (KEK, error) {
	var k KEK
	if _, err := rand.Read(k[:]); err != nil {
		return k, fmt.Errorf("making the key-encryption key: %w", err)
	}
	return k, nil
}

// String is the KEK in hex, as its file holds it.
func (k KEK) String() string { return hex.EncodeToString(k[:]) }

// ParseKEK reads a KEK in hex (64 digits; white space around ignored).
func ParseKEK(s string) (KEK, error) {
	var k KEK
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != KeySize {
		return k, fmt.Errorf("key-encryption key: want %d hex digits", 2*KeySize)
	}
	copy(k[:], b)
	return k, nil
}

// ReadKEK reads a KEK file.
func ReadKEK(path string) (KEK, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return KEK{}, err
	}
	k, err := ParseKEK(string(data))
	if err != nil {
		return KEK{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// DataKey is a key that seals Secret values.
type DataKey struct {
	ID  string
	Key [KeySize]byte
}

// NewDataKey makes a random data key with an ID of its own.
func NewDataKey() (DataKey, error) {
	var d DataKey
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return d, err
	}
	if _, err := rand.Read(d.Key[:]); err != nil {
		return d, fmt.Errorf("making a data key: %w", err)
	}
	d.ID = "k" + hex.EncodeToString(id[:])
	return d, nil
}

// Wrap seals a data key under the KEK, bound to its ID.
func (k KEK) Wrap(d DataKey) []byte { return seal(k[:], "berth data key "+d.ID, d.Key[:]) }

// Unwrap opens a wrapped data key of the given ID.
func (k KEK) Unwrap(id string, wrapped []byte) (DataKey, error) {
	key, err := open(k[:], "berth data key "+id, wrapped)
	if err != nil {
		return DataKey{}, fmt.Errorf("data key %s does not open with this key-encryption key: %w", id, err)
	}
	d := DataKey{ID: id}
	copy(d.Key[:], key)
	return d, nil
}

// Seal encrypts a value, bound to aad.
func (d DataKey) Seal(aad string, plaintext []byte) []byte { return seal(d.Key[:], aad, plaintext) }

// Open decrypts a value sealed with the same aad.
func (d DataKey) Open(aad string, sealed []byte) ([]byte, error) { return open(d.Key[:], aad, sealed) }

// seal is XChaCha20-Poly1305 with a random 192-bit nonce (random nonces
// of that size never repeat in practice), the nonce first.
func seal(key []byte, aad string, plaintext []byte) []byte {
	aead, _ := chacha20poly1305.NewX(key)
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("keyring: no randomness: " + err.Error()) // crypto/rand never fails on Linux
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(aad))
}

// ErrOpen is wrapped by every failure to open a sealed value.
var ErrOpen = errors.New("does not decrypt")

func open(key []byte, aad string, sealed []byte) ([]byte, error) {
	aead, _ := chacha20poly1305.NewX(key)
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrOpen, len(sealed))
	}
	out, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	return out, nil
}
