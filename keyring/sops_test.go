package keyring

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"filippo.io/age"
	yaml "go.yaml.in/yaml/v3"
)

// The files in testdata/sops were written by the sops CLI (v3.13.3, with
// age): see testdata/sops/README.md.

func sopsIdentities(t testing.TB) []age.Identity {
	t.Helper()
	data, err := os.ReadFile("testdata/sops/age.key")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ParseAgeIdentities(data)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func yamlValue(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return v
}

func TestDecryptSOPSFilesOfTheCLI(t *testing.T) {
	ids := sopsIdentities(t)
	for _, name := range []string{"secret", "mixed"} {
		t.Run(name, func(t *testing.T) {
			enc, err := os.ReadFile(filepath.Join("testdata/sops", name+".sops.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := os.ReadFile(filepath.Join("testdata/sops", name+".plain.yaml"))
			if !IsSOPSFile(enc) || IsSOPSFile(plain) {
				t.Fatal("IsSOPSFile")
			}
			if err := CheckSOPS(enc); err != nil {
				t.Fatalf("CheckSOPS: %v", err)
			}
			got, err := DecryptSOPS(enc, ids)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := yamlValue(t, got), yamlValue(t, plain); !reflect.DeepEqual(a, b) {
				t.Errorf("decrypted:\n%s\nwant:\n%s", got, plain)
			}
			if _, err := StubSOPS(enc); err != nil {
				t.Errorf("StubSOPS: %v", err)
			}
		})
	}
}

func TestSOPSRefusesChangesAndOtherKeys(t *testing.T) {
	ids := sopsIdentities(t)
	enc, err := os.ReadFile("testdata/sops/secret.sops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := DecryptSOPS(enc, []age.Identity{other}); err == nil || !strings.Contains(err.Error(), "no age identity given opens its data key") {
		t.Errorf("another identity: %v", err)
	}
	if _, err := DecryptSOPS(enc, nil); err == nil || !strings.Contains(err.Error(), "--age-identity") {
		t.Errorf("no identity: %v", err)
	}
	// A value in the clear changed after encryption: the MAC says so.
	changed := strings.Replace(string(enc), "name: db", "name: dbx", 1)
	if _, err := DecryptSOPS([]byte(changed), ids); err == nil || !strings.Contains(err.Error(), "MAC does not match") {
		t.Errorf("a changed name: %v", err)
	}
	// A sealed value moved under another key does not open.
	var doc yaml.Node
	yaml.Unmarshal(enc, &doc)
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "stringData" {
			sd := m.Content[i+1]
			sd.Content[0].Value, sd.Content[2].Value = sd.Content[2].Value, sd.Content[0].Value
		}
	}
	swapped, _ := yaml.Marshal(&doc)
	if _, err := DecryptSOPS(swapped, ids); !errors.Is(err, ErrSOPS) || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("values swapped between keys: %v", err)
	}
	if err := CheckSOPS([]byte("kind: Secret\n")); err == nil {
		t.Error("a file without a sops stanza checked")
	}
}

// FuzzDecryptSOPS: no input panics the reader.
func FuzzDecryptSOPS(f *testing.F) {
	for _, name := range []string{"secret", "mixed"} {
		if data, err := os.ReadFile(filepath.Join("testdata/sops", name+".sops.yaml")); err == nil {
			f.Add(data)
		}
	}
	ids := sopsIdentities(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		CheckSOPS(data)
		StubSOPS(data)
		DecryptSOPS(data, ids)
	})
}
