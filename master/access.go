package master

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/pki"
	"github.com/berth-dev/berth/raftstore"
)

// handleCA serves the CA bundle, to anyone: a joining agent checks it
// against its token's hash before it sends the token.
func (m *Master) handleCA(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(m.sec.ca.CertPEM)
}

// handleCertificates signs a CSR: for an agent token, a node's (bound to
// the token's node, if it names one, and pinned to the key); for a master
// token, a master's; for an agent's own certificate, a renewal.
func (m *Master) handleCertificates(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body of %s: %w", r.URL.Path, err))
		return
	}
	var req api.CertificateRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body of %s: %w", r.URL.Path, err))
		return
	}
	csr, want, err := pki.ParseCSR([]byte(req.CSR))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if want.Kind == pki.KindNode && !m.store.IsLeader() { // the leader pins the name
		r.Body = io.NopCloser(bytes.NewReader(body))
		m.forwarding(http.HandlerFunc(m.handleCertificates)).ServeHTTP(w, r)
		return
	}
	caller := auth.From(r.Context())
	lifetime, err := m.mayCertify(caller, want)
	if err != nil {
		writeError(w, http.StatusForbidden, err)
		return
	}
	if want.Kind == pki.KindNode {
		if err := m.store.PinNode(want.Name, client.KeyHash(csr.PublicKey)); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, raftstore.ErrNodeTaken) || errors.Is(err, raftstore.ErrFormatOff) {
				status = http.StatusConflict
			}
			writeError(w, status, fmt.Errorf("certificate for %s: %w", want, err))
			return
		}
	}
	cert, err := m.sec.ca.Sign(csr.PublicKey, pki.Request{Identity: want, Lifetime: lifetime}, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	m.log.Info("certificate issued", "identity", want.String(), "to", caller.String(), "via", caller.Via, "lifetime", lifetime)
	writeJSON(w, api.CertificateAnswer{Certificate: string(cert), CA: string(m.sec.ca.CertPEM)})
}

// mayCertify says whether caller may have want certified, and for how
// long.
func (m *Master) mayCertify(caller auth.Identity, want pki.Identity) (time.Duration, error) {
	node := want.Kind == pki.KindNode && want.Role == api.RoleAgent
	master := want.Kind == pki.KindMaster && want.Role == api.RoleMaster
	if caller.Kind == auth.KindJoiner {
		role, bound := m.guard.Auth.JoinToken(caller)
		switch {
		case role == api.RoleAgent && node && (bound == "" || bound == want.Name):
			return m.nodeCertLifetime(), nil
		case role == api.RoleAgent && node:
			return 0, fmt.Errorf("token %s is bound to node %s, not %s", caller.Name, bound, want.Name)
		case role == api.RoleMaster && master:
			return pki.MasterCertLifetime, nil
		}
		return 0, fmt.Errorf("a %s token does not certify %s (role %s)", role, want, want.Role)
	}
	if caller.Kind == want.Kind && caller.Name == want.Name && caller.Role == want.Role && (node || master) {
		if master {
			return pki.MasterCertLifetime, nil
		}
		return m.nodeCertLifetime(), nil
	}
	return 0, fmt.Errorf("%s may not have %s certified", caller, want)
}

func (m *Master) nodeCertLifetime() time.Duration {
	if m.cfg.NodeCertLifetime > 0 {
		return m.cfg.NodeCertLifetime
	}
	return pki.NodeCertLifetime
}

// handleClusterSecrets hands the CA to a master (a joining one).
func (m *Master) handleClusterSecrets(w http.ResponseWriter, r *http.Request) {
	key, err := pki.EncodeKey(m.sec.ca.Key)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	m.log.Info("cluster CA handed to a master", "master", auth.From(r.Context()).String(), "from", r.RemoteAddr)
	tokens := map[string]string{}
	for f, t := range m.sec.tokens {
		tokens[f] = t.String()
	}
	writeJSON(w, api.ClusterSecrets{CACert: string(m.sec.ca.CertPEM), CAKey: string(key), Tokens: tokens, KEK: m.sec.kek.String()})
}

func (m *Master) handleTokens(w http.ResponseWriter, r *http.Request) {
	out := []api.TokenInfo{}
	for _, t := range m.store.Tokens() {
		out = append(out, t.TokenInfo)
	}
	writeJSON(w, out)
}

// handleCreateToken mints a token and keeps only its hash.
func (m *Master) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var req api.TokenRequest
	if !decode(w, r, &req) {
		return
	}
	if err := checkTokenRequest(&req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	tok, err := pki.NewToken(m.sec.ca.Hash())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	rec := api.Token{TokenInfo: api.TokenInfo{ID: tok.ID, Role: req.Role, Node: req.Node, Created: now, Description: req.Description}, SecretHash: tok.SecretHash()}
	if req.TTL > 0 {
		rec.Expires = now.Add(req.TTL)
	}
	if err := m.store.AddToken(&rec); err != nil {
		writeResult(w, err)
		return
	}
	m.log.Info("token created", "id", rec.ID, "role", rec.Role, "node", rec.Node, "expires", rec.Expires, "by", auth.From(r.Context()).String())
	writeJSON(w, api.TokenAnswer{Token: tok.String(), Info: rec.TokenInfo})
}

func checkTokenRequest(req *api.TokenRequest) error {
	if !slices.Contains(api.Roles, req.Role) {
		return fmt.Errorf("role %q: want one of %v", req.Role, api.Roles)
	}
	if req.Node != "" && req.Role != api.RoleAgent {
		return fmt.Errorf("node %q: only an agent token is bound to a node", req.Node)
	}
	if req.Node != "" {
		if err := (pki.Identity{Kind: pki.KindNode, Name: req.Node, Role: api.RoleAgent}).Validate(); err != nil {
			return err
		}
	}
	if req.TTL < 0 {
		return fmt.Errorf("ttl %v: want a positive duration, or none for a token that does not expire", req.TTL)
	}
	return nil
}

func (m *Master) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := m.store.RevokeToken(id)
	if errors.Is(err, raftstore.ErrUnknownToken) {
		writeError(w, http.StatusNotFound, err)
		return
	}
	if err == nil {
		m.log.Info("token revoked", "id", id, "by", auth.From(r.Context()).String())
	}
	writeResult(w, err)
}

// handleKubeconfig issues a user's certificate and key.
func (m *Master) handleKubeconfig(w http.ResponseWriter, r *http.Request) {
	var req api.KubeconfigRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Role != api.RoleViewer && req.Role != api.RoleOperator && req.Role != api.RoleAdmin {
		writeError(w, http.StatusBadRequest, fmt.Errorf("role %q: want viewer, operator or admin", req.Role))
		return
	}
	if req.TTL <= 0 {
		req.TTL = pki.UserCertLifetime
	}
	id := pki.Identity{Kind: pki.KindUser, Name: req.Name, Role: req.Role}
	certPEM, keyPEM, err := m.sec.ca.Issue(pki.Request{Identity: id, Lifetime: req.TTL}, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	m.log.Info("user certificate issued", "identity", id.String(), "role", id.Role, "lifetime", req.TTL, "by", auth.From(r.Context()).String())
	writeJSON(w, api.KubeconfigAnswer{Certificate: string(certPEM), Key: string(keyPEM), CA: string(m.sec.ca.CertPEM)})
}

func (m *Master) handleWhoAmI(w http.ResponseWriter, r *http.Request) {
	id := auth.From(r.Context())
	writeJSON(w, map[string]string{"identity": id.String(), "kind": string(id.Kind), "name": id.Name, "role": id.Role, "via": id.Via})
}

func (m *Master) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok"))
}

// handleReady answers 200 once the log is replayed and a leader is known.
func (m *Master) handleReady(w http.ResponseWriter, r *http.Request) {
	select {
	case <-m.ready:
	default:
		http.Error(w, "replaying the log", http.StatusServiceUnavailable)
		return
	}
	if !m.store.IsLeader() && m.store.LeaderAPI() == "" {
		http.Error(w, "no leader known", http.StatusServiceUnavailable)
		return
	}
	m.handleHealth(w, r)
}

func (m *Master) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"gitVersion": api.Version, "goVersion": runtime.Version(),
		"platform": runtime.GOOS + "/" + runtime.GOARCH, "berth": api.BuildInfo()})
}

// token is the stored token of an ID, else the bootstrap token of that ID
// in this master's data directory (not recorded yet: a new cluster's
// leader records it within a moment, and a cluster upgraded in place once
// every master runs this release). A bootstrap token once recorded is
// the record's: revoking it holds.
func (m *Master) token(id string) *api.Token {
	if t := m.store.Token(id); t != nil {
		return t
	}
	for file, tok := range m.sec.tokens {
		if tok.ID == id {
			return bootstrapRecord(file, tok, time.Time{})
		}
	}
	return nil
}

// bootstrapRecord is the record of a bootstrap token.
func bootstrapRecord(file string, tok pki.Token, now time.Time) *api.Token {
	role := api.RoleAgent
	if file == MasterTokenFile {
		role = api.RoleMaster
	}
	return &api.Token{TokenInfo: api.TokenInfo{ID: tok.ID, Role: role, Created: now, Description: "bootstrap: DATA/" + file}, SecretHash: tok.SecretHash()}
}

// ensureTokens (leader) adds the tokens of this master's data directory to
// Raft once the cluster's format has them; a token revoked since stays
// revoked.
func (m *Master) ensureTokens() {
	if m.store.ClusterFormat() < raftstore.FormatAccess || m.tokensKept.Load() {
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	for file, tok := range m.sec.tokens {
		if m.store.Token(tok.ID) != nil {
			continue
		}
		if err := m.store.AddToken(bootstrapRecord(file, tok, now)); err != nil && !errors.Is(err, raftstore.ErrTokenExists) {
			m.log.Warn("cannot record a bootstrap token", "file", file, "err", err)
			return
		}
	}
	m.tokensKept.Store(true)
}
