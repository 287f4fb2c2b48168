package api

import "time"

// Roles a token or a certificate grants. A user is a viewer, an operator
// or an admin; agents and masters have roles of their own.
const (
	RoleViewer   = "viewer"   // everything but Secret values, which show redacted
	RoleOperator = "operator" // viewer, plus Secret values, plan, logs
	RoleAdmin    = "admin"    // operator, plus members, nodes, tokens and keys
	RoleAgent    = "agent"    // a node's agent: its own node's resources only
	RoleMaster   = "master"   // a master: joins Raft, forwards for others
)

// Roles are the roles a token may grant, in the order `berth token create
// --role` lists them.
var Roles = []string{RoleAgent, RoleMaster, RoleViewer, RoleOperator, RoleAdmin}

// Token is a join or access token as masters keep it: what `berth token
// list` shows, and the hash of its secret, never the secret itself.
type Token struct {
	TokenInfo
	SecretHash string `json:"secretHash"`
}

// Usable tells whether the token works at now.
func (t *Token) Usable(now time.Time) bool {
	return !t.Revoked && (t.Expires.IsZero() || now.Before(t.Expires))
}

// TokenInfo is a token without its hash: its public ID, what it grants,
// and whether it still works.
type TokenInfo struct {
	ID   string `json:"id"`
	Role string `json:"role"`
	// Node, when set, is the only node name an agent token may join as.
	Node string `json:"node,omitempty"`
	// Expires, when set, is when the token stops working.
	Expires     time.Time `json:"expires,omitempty"`
	Created     time.Time `json:"created"`
	Description string    `json:"description,omitempty"`
	// Revoked tokens are kept, so that a bootstrap token once revoked is
	// not added again from a master's data directory.
	Revoked bool `json:"revoked,omitempty"`
}

// TokenRequest asks a master for a new token (`berth token create`).
type TokenRequest struct {
	Role        string        `json:"role"`
	Node        string        `json:"node,omitempty"`
	TTL         time.Duration `json:"ttl,omitempty"`
	Description string        `json:"description,omitempty"`
}

// TokenAnswer is a new token, the one time its secret is shown.
type TokenAnswer struct {
	Token string    `json:"token"`
	Info  TokenInfo `json:"info"`
}

// CertificateRequest asks a master to certify a key: an agent's or a
// joining master's CSR in PEM.
type CertificateRequest struct {
	CSR string `json:"csr"`
}

// CertificateAnswer is the certificate a master issued, with the CA.
type CertificateAnswer struct {
	Certificate string `json:"certificate"`
	CA          string `json:"ca"`
}

// KubeconfigRequest asks for a user's credentials (`berth kubeconfig`).
type KubeconfigRequest struct {
	Name string        `json:"name"`
	Role string        `json:"role"`
	TTL  time.Duration `json:"ttl,omitempty"`
}

// KubeconfigAnswer is a user's certificate and key, with the CA.
type KubeconfigAnswer struct {
	Certificate string `json:"certificate"`
	Key         string `json:"key"`
	CA          string `json:"ca"`
}

// ClusterSecrets are what a joining master needs to act as one: the CA's
// certificate and key. It is only ever sent to a master's certificate.
type ClusterSecrets struct {
	CACert string `json:"caCert"`
	CAKey  string `json:"caKey"`
	// Tokens are the bootstrap tokens by file name (agent.token,
	// master.token): every master keeps them, as every k3s server keeps
	// the cluster's token, so that whichever leads records them.
	Tokens map[string]string `json:"tokens,omitempty"`
	// KEK is the key-encryption key (hex) that wraps the data keys.
	KEK string `json:"kek,omitempty"`
}

// WrappedKey is a data key that seals Secrets at rest, as Raft keeps it:
// wrapped by the cluster's key-encryption key, which Raft never holds.
type WrappedKey struct {
	ID      string    `json:"id"`
	Wrapped []byte    `json:"wrapped"`
	Created time.Time `json:"created"`
}

// KeyStatus is one data key as `berth keys status` shows it.
type KeyStatus struct {
	ID      string    `json:"id"`
	Primary bool      `json:"primary"`
	Created time.Time `json:"created"`
	// Secrets is how many stored Secrets this key seals.
	Secrets int `json:"secrets"`
}

// KeysStatus is the answer of `berth keys status`.
type KeysStatus struct {
	Keys []KeyStatus `json:"keys"`
	// Plaintext is how many stored Secrets no key seals yet (stored
	// before the cluster had a data key; the leader seals them).
	Plaintext int `json:"plaintext"`
}
