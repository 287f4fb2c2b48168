// Package auth says who a request to a master comes from and whether it
// may do what it asks: identities from client certificates and bearer
// tokens, the roles of users, the node authorizer (Kubernetes' Node
// authorizer and NodeRestriction: an agent reaches only its own node's
// resources), the HTTP middleware that enforces them, and the audit log.
package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/pki"
)

// Identity is who a request comes from.
type Identity struct {
	// Kind is master, node or user; a bearer token's holder is a user of
	// the token's role, or, for an agent or master join token, a joiner.
	Kind pki.Kind `json:"kind"`
	Name string   `json:"name"`
	Role string   `json:"role"`
	// Via is how the identity was shown: "certificate" or "token".
	Via string `json:"via"`
}

// KindJoiner is the holder of an agent or master join token: it may only
// ask for a certificate.
const KindJoiner pki.Kind = "joiner"

// Anonymous is the identity of a request without credentials.
var Anonymous = Identity{Kind: "anonymous", Name: "anonymous", Via: "none"}

// String names the identity as the audit log and error messages do.
func (id Identity) String() string { return string(id.Kind) + ":" + id.Name }

// IsNode tells whether the identity is a node's agent.
func (id Identity) IsNode() bool { return id.Kind == pki.KindNode && id.Role == api.RoleAgent }

// IsMaster tells whether the identity is a master.
func (id Identity) IsMaster() bool { return id.Kind == pki.KindMaster && id.Role == api.RoleMaster }

// userRank orders the users' roles: each may do what those below it may.
var userRank = map[string]int{api.RoleViewer: 1, api.RoleOperator: 2, api.RoleAdmin: 3}

// atLeast tells whether the identity is a user of role or above.
func (id Identity) atLeast(role string) bool {
	return id.Kind == pki.KindUser && userRank[id.Role] >= userRank[role] && userRank[role] > 0
}

// CanReadSecrets tells whether Secret values are shown to the identity
// (operators, admins and masters; viewers see them redacted).
func (id Identity) CanReadSecrets() bool { return id.IsMaster() || id.atLeast(api.RoleOperator) }

// Rule is what an endpoint asks of its caller.
type Rule int

// The rules of the master's endpoints.
const (
	// Public endpoints need no credentials (health, version, the CA).
	Public Rule = iota
	// View is for viewers and above: reads of everything but Secrets.
	View
	// Operate is for operators and above: plan, logs, Secret values.
	Operate
	// Admin is for admins: members, nodes, tokens, keys.
	Admin
	// NodeOnly is for agents, on their own node's resources (the handler
	// checks the node with OwnNode).
	NodeOnly
	// NodeOrView is for agents and viewers: the service table.
	NodeOrView
	// MasterOnly is for masters: joining Raft, the cluster's secrets.
	MasterOnly
	// Join is for join tokens and for agents and masters renewing their
	// certificates.
	Join
	// Authenticated is for any caller with valid credentials.
	Authenticated
)

var ruleNames = map[Rule]string{Public: "public", View: "viewer", Operate: "operator", Admin: "admin",
	NodeOnly: "agent", NodeOrView: "agent or viewer", MasterOnly: "master", Join: "join token or node certificate",
	Authenticated: "any credentials"}

// String names what the rule asks for, for 403 answers.
func (r Rule) String() string { return ruleNames[r] }

// Allows tells whether the identity may call an endpoint of the rule.
// Masters may call every one: they hold the CA and act for the callers
// whose requests they forward.
func (r Rule) Allows(id Identity) bool {
	if r == Public || id.IsMaster() {
		return true
	}
	switch r {
	case View:
		return id.atLeast(api.RoleViewer)
	case Operate:
		return id.atLeast(api.RoleOperator)
	case Admin:
		return id.atLeast(api.RoleAdmin)
	case NodeOnly:
		return id.IsNode()
	case NodeOrView:
		return id.IsNode() || id.atLeast(api.RoleViewer)
	case Join:
		return id.Kind == KindJoiner || id.IsNode()
	case Authenticated:
		return id.Kind != Anonymous.Kind
	}
	return false
}

type ctxKey struct{}

// WithIdentity returns a context that carries the caller's identity.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From is the identity of the request's context (Anonymous if none).
func From(ctx context.Context) Identity {
	if id, ok := ctx.Value(ctxKey{}).(Identity); ok {
		return id
	}
	return Anonymous
}

// OwnNode checks that an agent acts on its own node: nil for masters and
// users the rule let through, an error naming both nodes otherwise.
func OwnNode(ctx context.Context, node string) error {
	id := From(ctx)
	if !id.IsNode() || id.Name == node {
		return nil
	}
	return fmt.Errorf("node %s may not act for node %s", id.Name, node)
}

// ForwardedHeader carries the caller's identity from the master that
// authenticated it to the leader it forwards to; the leader believes it
// only from a master's certificate.
const ForwardedHeader = "Berth-Forwarded-For"

// EncodeForwarded renders an identity for ForwardedHeader.
func EncodeForwarded(id Identity) string {
	b, _ := json.Marshal(id)
	return string(b)
}

// decodeForwarded reads ForwardedHeader.
func decodeForwarded(s string) (Identity, error) {
	var id Identity
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&id); err != nil {
		return Identity{}, fmt.Errorf("header %s: %w", ForwardedHeader, err)
	}
	if id.Kind == "" || id.Name == "" {
		return Identity{}, fmt.Errorf("header %s: no identity", ForwardedHeader)
	}
	return id, nil
}
