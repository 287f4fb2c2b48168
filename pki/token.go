package pki

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// A join token, in k3s's shape: "K10" and the hex SHA-256 of the CA
// bundle, "::", then an ID and a secret joined by a dot (kubeadm's
// "abcdef.0123456789abcdef", longer):
//
//	K10<64 hex>::<6 of [a-z0-9]>.<32 of [a-z0-9]>
//
// The joining side fetches the CA bundle without trusting it, checks its
// hash against the token and only then sends the secret over TLS pinned to
// that CA. Masters keep the ID in the clear and only a hash of the secret.
type Token struct {
	CAHash string
	ID     string
	Secret string
}

// Parts of a token.
const (
	tokenPrefix    = "K10"
	tokenIDLen     = 6
	tokenSecretLen = 32
	tokenAlphabet  = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// NewToken mints a token for the CA of the given hash.
func NewToken(caHash string) (Token, error) {
	id, err := randomString(tokenIDLen)
	if err != nil {
		return Token{}, err
	}
	secret, err := randomString(tokenSecretLen)
	if err != nil {
		return Token{}, err
	}
	return Token{CAHash: caHash, ID: id, Secret: secret}, nil
}

// String is the token as users pass it around.
func (t Token) String() string { return tokenPrefix + t.CAHash + "::" + t.ID + "." + t.Secret }

// Errors of tokens.
var (
	// ErrBadToken is wrapped by every error of ParseToken.
	ErrBadToken = errors.New("not a join token")
	// ErrCAMismatch is returned when a server's CA is not the token's.
	ErrCAMismatch = errors.New("the server's CA does not match the token's CA hash: wrong server, or a token of another cluster")
)

// ParseToken reads a token. Surrounding white space (a file's newline) is
// ignored; anything else that is not the shape above is an error that
// says which part is wrong, and never repeats the secret.
func ParseToken(s string) (Token, error) {
	t, err := parseToken(s)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	return t, nil
}

func parseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	head, cred, ok := strings.Cut(s, "::")
	if !ok {
		if strings.Count(s, ".") == 1 && !strings.HasPrefix(s, tokenPrefix) {
			return Token{}, errors.New("token has no CA hash (want K10<sha256 of the CA>::ID.SECRET, as berth token create prints it)")
		}
		return Token{}, errors.New("token: want K10<sha256 of the CA>::ID.SECRET")
	}
	if !strings.HasPrefix(head, tokenPrefix) {
		return Token{}, fmt.Errorf("token: want it to start with %q", tokenPrefix)
	}
	hash := head[len(tokenPrefix):]
	if len(hash) != 64 || !isLowerHex(hash) {
		return Token{}, errors.New("token: the CA hash is not 64 lower-case hex digits")
	}
	id, secret, ok := strings.Cut(cred, ".")
	if !ok {
		return Token{}, errors.New("token: want ID.SECRET after '::'")
	}
	if len(id) != tokenIDLen || !inAlphabet(id) {
		return Token{}, fmt.Errorf("token: the ID is not %d of [a-z0-9]", tokenIDLen)
	}
	if len(secret) != tokenSecretLen || !inAlphabet(secret) {
		return Token{}, fmt.Errorf("token %s: the secret is not %d of [a-z0-9]", id, tokenSecretLen)
	}
	return Token{CAHash: hash, ID: id, Secret: secret}, nil
}

// CheckCA tells whether the token pins the CA bundle given, comparing in
// constant time.
func (t Token) CheckCA(bundlePEM []byte) error {
	if subtle.ConstantTimeCompare([]byte(HashBundle(bundlePEM)), []byte(t.CAHash)) != 1 {
		return ErrCAMismatch
	}
	return nil
}

// SecretHash is the hash of the token's secret that masters keep.
func (t Token) SecretHash() string { return HashSecret(t.Secret) }

// HashSecret hashes a token secret (SHA-256, hex). The secret is 32
// random characters of a 36-letter alphabet (165 bits), so a plain hash
// is enough: there is nothing to guess that a slow hash would protect.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretMatches compares a secret with a stored hash in constant time.
func SecretMatches(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(hash)) == 1
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	for i := range b {
		// 252 = 7×36: bytes from 252 up would favour the first letters.
		for b[i] >= 252 {
			var one [1]byte
			if _, err := rand.Read(one[:]); err != nil {
				return "", err
			}
			b[i] = one[0]
		}
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b), nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func inAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(tokenAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}
