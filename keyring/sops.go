package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	yaml "go.yaml.in/yaml/v3"
)

// A narrow reader of SOPS files (github.com/getsops/sops) whose data key
// is encrypted to age recipients, as Flux decrypts them: any YAML
// manifest with a top-level "sops" stanza. The sops library's decrypt
// path imports its key service and with it every cloud KMS SDK: linked
// into bin/berth (measured on this 2-core machine, cold cache) it took the
// build from 106 s to 200 s and the binary from 69 MB to 127 MB. This
// reads the one format berth takes, on filippo.io/age, and is tested
// against files the sops CLI wrote (testdata/sops).
//
// The format: every value to hide is replaced by
// ENC[AES256_GCM,data:B64,iv:B64,tag:B64,type:T], sealed with AES-256-GCM
// (a 32-byte IV) under a 32-byte data key, with the value's path of map
// keys, each followed by ":", as associated data. The data key is an age
// file (armored) per recipient under sops.age. sops.mac is the SHA-512 of
// every value's plaintext in document order, in upper-case hex, sealed the
// same way with sops.lastmodified as associated data.

// ErrSOPS is wrapped by every error of reading a SOPS file.
var ErrSOPS = errors.New("SOPS file")

// sopsMeta is the part of the sops stanza berth reads.
type sopsMeta struct {
	Age []struct {
		Recipient string `yaml:"recipient"`
		Enc       string `yaml:"enc"`
	} `yaml:"age"`
	LastModified      string `yaml:"lastmodified"`
	MAC               string `yaml:"mac"`
	MACOnlyEncrypted  bool   `yaml:"mac_only_encrypted"`
	UnencryptedSuffix string `yaml:"unencrypted_suffix"`
	EncryptedSuffix   string `yaml:"encrypted_suffix"`
	UnencryptedRegex  string `yaml:"unencrypted_regex"`
	EncryptedRegex    string `yaml:"encrypted_regex"`
	Version           string `yaml:"version"`
	// KMS, PGP and the other key kinds: a file that has only those
	// cannot be opened by berth, which says so.
	Others map[string]yaml.Node `yaml:",inline"`
}

// encRE reads one sealed value.
var encRE = regexp.MustCompile(`^ENC\[AES256_GCM,data:([^,]*),iv:([^,]+),tag:([^,]+),type:(str|int|float|bool|bytes|comment)\]$`)

// IsSOPS tells whether a YAML document has a top-level "sops" stanza.
func IsSOPS(doc []byte) bool {
	var root yaml.Node
	if yaml.Unmarshal(doc, &root) != nil {
		return false
	}
	_, meta := splitSOPS(&root)
	return meta != nil
}

// splitSOPS returns the document's top-level mapping and its sops stanza
// (nil when there is none), which it takes out of the mapping.
func splitSOPS(root *yaml.Node) (*yaml.Node, *yaml.Node) {
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "sops" {
			meta := m.Content[i+1]
			m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
			return m, meta
		}
	}
	return m, nil
}

// parseSOPS reads a SOPS document: its tree (without the stanza) and its
// metadata.
func parseSOPS(doc []byte) (*yaml.Node, *yaml.Node, *sopsMeta, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrSOPS, err)
	}
	tree, metaNode := splitSOPS(&root)
	if metaNode == nil {
		return nil, nil, nil, fmt.Errorf("%w: no top-level sops stanza", ErrSOPS)
	}
	var meta sopsMeta
	if err := metaNode.Decode(&meta); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: the sops stanza: %v", ErrSOPS, err)
	}
	if err := meta.check(); err != nil {
		return nil, nil, nil, err
	}
	return &root, tree, &meta, nil
}

func (m *sopsMeta) check() error {
	switch {
	case len(m.Age) == 0:
		kinds := make([]string, 0, len(m.Others))
		for k, v := range m.Others {
			if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
				kinds = append(kinds, k)
			}
		}
		return fmt.Errorf("%w: no age recipient under sops.age (it has %v): berth decrypts age only", ErrSOPS, kinds)
	case m.MAC == "" || m.LastModified == "":
		return fmt.Errorf("%w: sops.mac and sops.lastmodified are required", ErrSOPS)
	case !encRE.MatchString(m.MAC):
		return fmt.Errorf("%w: sops.mac is not ENC[AES256_GCM,…]", ErrSOPS)
	}
	for i, a := range m.Age {
		if !strings.Contains(a.Enc, "BEGIN AGE ENCRYPTED FILE") {
			return fmt.Errorf("%w: sops.age[%d].enc is not an armored age file", ErrSOPS, i)
		}
	}
	return nil
}

// CheckSOPS checks a SOPS document's structure without a key: the
// stanza, and that every sealed value is well formed.
func CheckSOPS(doc []byte) error {
	_, tree, _, err := parseSOPS(doc)
	if err != nil {
		return err
	}
	return walkValues(tree, nil, func(n *yaml.Node, path []string) error {
		if strings.HasPrefix(n.Value, "ENC[") && !encRE.MatchString(n.Value) {
			return fmt.Errorf("%w: %s: a malformed ENC[…] value", ErrSOPS, strings.Join(path, "."))
		}
		return nil
	})
}

// DecryptSOPS opens a SOPS document with age identities, checks its MAC,
// and returns the plain document without the sops stanza.
func DecryptSOPS(doc []byte, identities []age.Identity) ([]byte, error) {
	root, tree, meta, err := parseSOPS(doc)
	if err != nil {
		return nil, err
	}
	key, err := meta.dataKey(identities)
	if err != nil {
		return nil, err
	}
	h := sha512.New()
	err = walkValues(tree, nil, func(n *yaml.Node, path []string) error {
		sealed := encRE.MatchString(n.Value)
		if sealed {
			if err := openValue(n, key, strings.Join(path, ":")+":"); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrSOPS, strings.Join(path, "."), err)
			}
		}
		if sealed || !meta.MACOnlyEncrypted {
			h.Write(macBytes(n))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := meta.checkMAC(key, h.Sum(nil)); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSOPS, err)
	}
	return out.Bytes(), nil
}

// dataKey opens the data key with the first identity that fits.
func (m *sopsMeta) dataKey(identities []age.Identity) ([]byte, error) {
	if len(identities) == 0 {
		return nil, fmt.Errorf("%w: no age identity to decrypt it with (--age-identity)", ErrSOPS)
	}
	var last error
	for _, a := range m.Age {
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(a.Enc)), identities...)
		if err != nil {
			last = err
			continue
		}
		key, err := io.ReadAll(io.LimitReader(r, 64))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%w: the data key for %s is not 32 bytes", ErrSOPS, a.Recipient)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w: no age identity given opens its data key (recipients %s): %v", ErrSOPS, m.recipients(), last)
}

func (m *sopsMeta) recipients() string {
	var r []string
	for _, a := range m.Age {
		r = append(r, a.Recipient)
	}
	return strings.Join(r, ", ")
}

// checkMAC compares the document's hash with the sealed MAC.
func (m *sopsMeta) checkMAC(key, sum []byte) error {
	parts := encRE.FindStringSubmatch(m.MAC)
	mac, err := openGCM(key, parts[1], parts[2], parts[3], m.LastModified)
	if err != nil {
		return fmt.Errorf("%w: sops.mac does not open: %v", ErrSOPS, err)
	}
	want := []byte(strings.ToUpper(fmt.Sprintf("%x", sum)))
	if subtle.ConstantTimeCompare(bytes.ToUpper(mac), want) != 1 {
		return fmt.Errorf("%w: the MAC does not match the values: the file was changed after it was encrypted", ErrSOPS)
	}
	return nil
}

// walkValues calls f on every scalar value under n in document order,
// with its path of map keys (sequence items keep their parent's path, as
// sops has it).
func walkValues(n *yaml.Node, path []string, f func(*yaml.Node, []string) error) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := walkValues(n.Content[i+1], append(path[:len(path):len(path)], n.Content[i].Value), f); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := walkValues(c, path, f); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		return f(n, path)
	case yaml.AliasNode:
		return fmt.Errorf("%w: %s: YAML aliases are not taken", ErrSOPS, strings.Join(path, "."))
	}
	return nil
}

// openValue replaces a sealed value with its plaintext, of its type.
func openValue(n *yaml.Node, key []byte, aad string) error {
	parts := encRE.FindStringSubmatch(n.Value)
	plain, err := openGCM(key, parts[1], parts[2], parts[3], aad)
	if err != nil {
		return err
	}
	n.Value, n.Style = string(plain), 0
	switch parts[4] {
	case "str", "bytes", "comment":
		n.Tag = "!!str"
	case "int":
		n.Tag = "!!int"
	case "float":
		n.Tag = "!!float"
	case "bool":
		n.Tag, n.Value = "!!bool", strings.ToLower(n.Value)
	}
	return nil
}

// macBytes is a value as the MAC hashes it (sops's ToBytes).
func macBytes(n *yaml.Node) []byte {
	switch n.Tag {
	case "!!bool":
		if b, err := strconv.ParseBool(n.Value); err == nil {
			if b {
				return []byte("True")
			}
			return []byte("False")
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return []byte(strconv.FormatFloat(f, 'f', -1, 64))
		}
	case "!!null":
		return nil
	}
	return []byte(n.Value)
}

// openGCM opens AES-256-GCM with sops's 32-byte IVs.
func openGCM(key []byte, data, iv, tag, aad string) ([]byte, error) {
	var raw [3][]byte
	for i, s := range []string{data, iv, tag} {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("base64: %v", err)
		}
		raw[i] = b
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(raw[1]))
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, raw[1], append(raw[0], raw[2]...), []byte(aad))
	if err != nil {
		return nil, errors.New("does not decrypt with the data key (a changed value, or another key)")
	}
	return plain, nil
}

// ParseAgeIdentities reads age identities (AGE-SECRET-KEY-1…, one per
// line, # comments) from a file's contents.
func ParseAgeIdentities(data []byte) ([]age.Identity, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("age identities: %w", err)
	}
	return ids, nil
}

// StubSOPS checks a SOPS document's structure without a key and returns
// it with every sealed value replaced by an empty one of its type, and
// without the sops stanza: what `berth validate` decodes when it has no
// identity to open the file with.
func StubSOPS(doc []byte) ([]byte, error) {
	if err := CheckSOPS(doc); err != nil {
		return nil, err
	}
	root, tree, _, _ := parseSOPS(doc)
	walkValues(tree, nil, func(n *yaml.Node, _ []string) error {
		if parts := encRE.FindStringSubmatch(n.Value); parts != nil {
			n.Style = 0
			switch parts[4] {
			case "int", "float":
				n.Tag, n.Value = "!!int", "0"
			case "bool":
				n.Tag, n.Value = "!!bool", "false"
			default:
				n.Tag, n.Value = "!!str", ""
			}
		}
		return nil
	})
	return yaml.Marshal(root)
}

// SOPSFiles returns a function that opens the SOPS files among manifest
// files (any YAML file with a top-level sops stanza) with the identities
// (an error without any); other files pass as they are.
func SOPSFiles(identities []age.Identity) func(name string, data []byte) ([]byte, error) {
	return func(name string, data []byte) ([]byte, error) {
		if !IsSOPSFile(data) {
			return data, nil
		}
		return DecryptSOPS(data, identities)
	}
}

// StubSOPSFiles is SOPSFiles without a key: SOPS files are checked and
// stubbed (StubSOPS).
func StubSOPSFiles(name string, data []byte) ([]byte, error) {
	if !IsSOPSFile(data) {
		return data, nil
	}
	return StubSOPS(data)
}

// IsSOPSFile tells whether a manifest file is a SOPS document.
func IsSOPSFile(data []byte) bool { return mayBeSOPS(data) && IsSOPS(data) }

// mayBeSOPS is a cheap test before the YAML is parsed: a top-level sops
// key starts a line.
func mayBeSOPS(data []byte) bool {
	return bytes.HasPrefix(data, []byte("sops:")) || bytes.Contains(data, []byte("\nsops:"))
}
