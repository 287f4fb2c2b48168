package gitsource

import (
	"fmt"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/berth-dev/berth/api"
)

// Signature states.
const (
	SignatureUnsigned = "unsigned"
	SignatureSigned   = "signed" // present, not checked (no trusted keys)
)

// ReadKeyRing reads an armored OpenPGP key ring (the --trusted-keys file).
func ReadKeyRing(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading trusted keys: %w", err)
	}
	if _, err := openpgp.ReadArmoredKeyRing(strings.NewReader(string(data))); err != nil {
		return "", fmt.Errorf("trusted keys %s: not an armored OpenPGP key ring: %w", path, err)
	}
	return string(data), nil
}

// signature checks a commit's OpenPGP signature against the key ring.
func signature(c *object.Commit, keyRing string) string {
	switch {
	case c.PGPSignature == "":
		return SignatureUnsigned
	case keyRing == "":
		return SignatureSigned
	}
	entity, err := c.Verify(keyRing)
	if err != nil {
		return "bad: " + oneLine(err.Error())
	}
	return "verified " + strings.ToUpper(entity.PrimaryKey.KeyIdString())
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }

// Verified reports whether a signature state is a verified one.
func Verified(state string) bool { return strings.HasPrefix(state, "verified ") }

// checkSignatures returns an error naming the first commit of the chain
// that is not signed by a trusted key, or "".
func checkSignatures(chain []api.CommitInfo) string {
	for _, c := range chain {
		if !Verified(c.Signature) {
			return fmt.Sprintf("commit %s is not signed by a trusted key (%s): every commit from the live one to the new head must be", c.Commit, c.Signature)
		}
	}
	return ""
}

// SignatureError returns why the chain fails the trusted-keys rule, or ""
// when no keys are configured or every commit is verified.
func (s *Source) SignatureError(chain []api.CommitInfo) string {
	if s.cfg.TrustedKeys == "" {
		return ""
	}
	return checkSignatures(chain)
}

// commitSignature is the signature state of a commit by hash.
func (s *Source) commitSignature(sha string) string {
	c, err := s.repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return "bad: " + err.Error()
	}
	return signature(c, s.cfg.TrustedKeys)
}
