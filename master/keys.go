package master

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/keyring"
	"github.com/berth-dev/berth/pki"
	"github.com/berth-dev/berth/raftstore"
)

// kekFile is the KEK's file under DATA/pki (unless --kek-file says
// otherwise).
const kekFile = "kek"

// loadKEK reads the KEK from --kek-file or DATA/pki/kek, or makes one
// there when make is set (the master that makes the CA).
func loadKEK(cfg *Config, make bool) (keyring.KEK, error) {
	path := cfg.KEKFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, pkiDir, kekFile)
	}
	k, err := keyring.ReadKEK(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !make || cfg.KEKFile != "" {
		if err != nil {
			return k, fmt.Errorf("the key-encryption key: %w", err)
		}
		return k, nil
	}
	if k, err = keyring.NewKEK(); err != nil {
		return k, err
	}
	return k, pki.WriteFile(path, []byte(k.String()+"\n"))
}

// dataKey is the data key of an ID, unwrapped with the KEK.
func (m *Master) dataKey(id string) (keyring.DataKey, error) {
	keys, _ := m.store.Keys()
	for _, k := range keys {
		if k.ID == id {
			return m.ring.Key(id, k.Wrapped)
		}
	}
	return keyring.DataKey{}, fmt.Errorf("no data key %s in the cluster's keyring", id)
}

// primaryKey is the key that seals new values; ok is false before the
// cluster has one.
func (m *Master) primaryKey() (keyring.DataKey, bool, error) {
	_, primary := m.store.Keys()
	if primary == "" {
		return keyring.DataKey{}, false, nil
	}
	d, err := m.dataKey(primary)
	return d, err == nil, err
}

// sealSecrets seals the Secrets of a revision before it enters Raft. Before
// the cluster has a data key (a cluster still upgrading) they go in as
// they are, and are sealed once it has one (resealLoop).
func (m *Master) sealSecrets(set *api.ObjectSet) error {
	if set == nil || len(set.Secrets) == 0 {
		return nil
	}
	d, ok, err := m.primaryKey()
	if err != nil || !ok {
		return err
	}
	sealed := make([]corev1.Secret, len(set.Secrets))
	for i := range set.Secrets {
		sealed[i] = keyring.SealSecret(d, &set.Secrets[i])
	}
	set.Secrets = sealed
	return nil
}

// openSecret is a stored Secret in plaintext.
func (m *Master) openSecret(s *corev1.Secret) (corev1.Secret, error) {
	return keyring.OpenSecret(m.dataKey, s)
}

// ensureKeys (leader) gives the cluster its first data key once its format
// has keys, and seals again every stored Secret that the primary key does
// not seal (plaintext from before, or an older key after a rotation), a
// batch per call.
func (m *Master) ensureKeys() {
	if m.store.ClusterFormat() < raftstore.FormatAccess {
		return
	}
	if _, primary := m.store.Keys(); primary == "" {
		if err := m.rotateKey(); err != nil {
			m.log.Warn("cannot make the cluster's first data key", "err", err)
			return
		}
	}
	if err := m.resealBatch(); err != nil {
		m.log.Warn("sealing Secrets again failed", "err", err)
	}
}

// resealBatchSize bounds the Secrets of one reseal entry.
const resealBatchSize = 256

func (m *Master) resealBatch() error {
	d, ok, err := m.primaryKey()
	if err != nil || !ok {
		return err
	}
	// Read together: Secrets read before a new commit must not be put back
	// over that commit's own (applyReseal compares the commit). View would
	// also copy every pod, every two seconds.
	desired, live := m.store.LiveDesired()
	var batch []corev1.Secret
	for i := range desired.Secrets {
		s := &desired.Secrets[i]
		if keyring.SealedBy(s) == d.ID {
			continue
		}
		plain, err := m.openSecret(s)
		if err != nil {
			return err
		}
		batch = append(batch, keyring.SealSecret(d, &plain))
		if len(batch) == resealBatchSize {
			break
		}
	}
	if len(batch) == 0 {
		return nil
	}
	if err := m.store.Reseal(live, batch); err != nil {
		return err
	}
	m.log.Info("Secrets sealed again under the primary key", "key", d.ID, "secrets", len(batch))
	return nil
}

// rotateKey adds a new data key, wrapped with the KEK, as the primary one.
func (m *Master) rotateKey() error {
	d, err := keyring.NewDataKey()
	if err != nil {
		return err
	}
	if err := m.store.AddKey(api.WrappedKey{ID: d.ID, Wrapped: m.ring.KEK().Wrap(d), Created: time.Now().UTC().Truncate(time.Second)}); err != nil {
		return err
	}
	m.log.Info("new primary data key", "key", d.ID)
	return nil
}

// handleRotateKey (admins) adds a primary data key; the leader seals the
// stored Secrets again under it in the background.
func (m *Master) handleRotateKey(w http.ResponseWriter, r *http.Request) {
	if err := m.rotateKey(); err != nil {
		writeResult(w, err)
		return
	}
	m.log.Info("data key rotated", "by", auth.From(r.Context()).String())
	m.handleKeys(w, r)
}

// handleKeys (admins) counts the stored Secrets each key seals.
func (m *Master) handleKeys(w http.ResponseWriter, r *http.Request) {
	keys, primary := m.store.Keys()
	count := map[string]int{}
	desired := m.store.Desired()
	for i := range desired.Secrets {
		count[keyring.SealedBy(&desired.Secrets[i])]++
	}
	out := api.KeysStatus{Keys: []api.KeyStatus{}, Plaintext: count[""]}
	for _, k := range keys {
		out.Keys = append(out.Keys, api.KeyStatus{ID: k.ID, Primary: k.ID == primary, Created: k.Created, Secrets: count[k.ID]})
	}
	writeJSON(w, out)
}
