package master

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/pki"
)

// endpointCase is one endpoint and what each caller gets from it, in the
// order of callers in TestEveryEndpointAuthorizes: U is 401, F is 403, A
// is anything else (the request was let through).
type endpointCase struct {
	method, path string
	body         func(node string) any
	want         string
}

// TestEveryEndpointAuthorizes calls every endpoint of a master as each
// kind of caller and checks who gets through.
func TestEveryEndpointAuthorizes(t *testing.T) {
	c, _ := startMaster(t)
	waitStatus(t, c, func(s *api.Status) bool { return s.LiveCommit != "" })
	dir, _ := dataDirs.Load(c)
	ca, err := pki.LoadCA(filepath.Join(dir.(string), "pki"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := pki.NewCA(time.Now())
	now := time.Now()
	cert := func(ca *pki.CA, kind pki.Kind, name, role string, at time.Time) *tls.Certificate {
		c, err := ca.IssueTLS(pki.Request{Identity: pki.Identity{Kind: kind, Name: name, Role: role}, Lifetime: time.Hour}, at)
		if err != nil {
			t.Fatal(err)
		}
		return &c
	}
	type caller struct {
		name string
		cert *tls.Certificate
		node string // the node named in paths and bodies
	}
	callers := []caller{
		{"no credentials", nil, "n1"},
		{"wrong CA", cert(other, pki.KindUser, "eve", api.RoleAdmin, now), "n1"},
		{"expired", cert(ca, pki.KindUser, "old", api.RoleAdmin, now.Add(-2*time.Hour)), "n1"},
		{"viewer", cert(ca, pki.KindUser, "ann", api.RoleViewer, now), "n1"},
		{"operator", cert(ca, pki.KindUser, "oli", api.RoleOperator, now), "n1"},
		{"admin", cert(ca, pki.KindUser, "ada", api.RoleAdmin, now), "n1"},
		{"agent n1 on n1", cert(ca, pki.KindNode, "n1", api.RoleAgent, now), "n1"},
		{"agent n1 on n2", cert(ca, pki.KindNode, "n1", api.RoleAgent, now), "n2"},
	}
	csr := func(node string) any {
		key, _ := pki.NewKey()
		pem, _ := pki.NewCSR(key, pki.Identity{Kind: pki.KindNode, Name: node, Role: api.RoleAgent})
		return api.CertificateRequest{CSR: string(pem)}
	}
	const view, public = "UUUAAAFF", "AAAAAAAA"
	cases := []endpointCase{
		{"GET", api.PathCA, nil, public},
		{"GET", api.PathHealthz, nil, public},
		{"GET", api.PathLivez, nil, public},
		{"GET", api.PathReadyz, nil, public},
		{"GET", api.PathVersion, nil, public},
		{"POST", PathWebhook, func(string) any { return map[string]string{"ref": "refs/heads/main"} }, public},
		{"GET", api.PathStatus, nil, view},
		{"GET", api.PathPods, nil, view},
		{"GET", api.PathNodes, nil, view},
		{"GET", api.PathServices, nil, view},
		{"GET", api.PathEndpoints, nil, view},
		{"GET", api.PathIngresses, nil, view},
		{"GET", api.PathGateways, nil, view},
		{"GET", api.PathHTTPRoutes, nil, view},
		{"GET", api.PathStorageClasses, nil, view},
		{"GET", api.PathMetrics, nil, view},
		{"GET", api.PathNodes + "/n1/metrics", nil, view},
		{"GET", api.PathPersistentVolumes, nil, view},
		{"GET", api.PathPersistentVolumeClaims, nil, view},
		{"GET", api.PathEndpointSlices, nil, view},
		{"GET", api.PathRevisions, nil, view},
		{"GET", api.PathEvents, nil, view},
		{"GET", api.PathMembers, nil, view},
		{"GET", api.PathSelf, nil, view},
		{"GET", api.PathWhoAmI, nil, "UUUAAAAA"},
		{"GET", api.PathServiceTable, nil, "UUUAAAAA"},
		{"GET", api.PathLogs + "default/web", nil, "UUUFAAFF"},
		{"GET", api.LogsPath("default", "web"), nil, "UUUFAAFF"},
		{"POST", api.PathPlan, func(string) any { return api.PlanRequest{} }, "UUUFAAFF"},
		{"DELETE", api.PathNodes + "/{node}", nil, "UUUFFAFF"},
		{"POST", api.PathRegister, func(n string) any { return api.Registration{Name: n} }, "UUUFFFAF"},
		{"POST", api.PathHeartbeat, func(n string) any { return api.Heartbeat{Name: n} }, "UUUFFFAF"},
		{"POST", api.PathReport, func(n string) any { return api.StatusBatch{Node: n} }, "UUUFFFAF"},
		{"GET", api.PathAssignments + "{node}", nil, "UUUFFFAF"},
		{"POST", api.PathCertificates, csr, "UUUFFFAF"},
		{"POST", api.PathJoin, func(string) any { return api.Member{Name: "m9", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2"} }, "UUUFFFFF"},
		{"DELETE", api.PathMembers + "/m9", nil, "UUUFFAFF"},
		{"GET", api.PathClusterSecrets, nil, "UUUFFFFF"},
		{"GET", api.PathTokens, nil, "UUUFFAFF"},
		{"POST", api.PathTokens, func(string) any { return api.TokenRequest{Role: api.RoleViewer} }, "UUUFFAFF"},
		{"DELETE", api.PathTokens + "/zzzzzz", nil, "UUUFFAFF"},
		{"POST", api.PathKubeconfig, func(string) any { return api.KubeconfigRequest{Name: "bob", Role: api.RoleViewer} }, "UUUFFAFF"},
		{"GET", api.PathKeys, nil, "UUUFFAFF"},
		{"POST", api.PathKeys + "/rotate", func(string) any { return struct{}{} }, "UUUFFAFF"},
	}
	for path := range workloadLists { // deployments, replicasets, … cronjobs
		cases = append(cases, endpointCase{"GET", path, nil, view})
	}
	base := c.Servers()[0]
	for _, ec := range cases {
		var got strings.Builder
		var answers []string
		for _, cl := range callers {
			var body []byte
			if ec.body != nil {
				body, _ = json.Marshal(ec.body(cl.node))
			}
			req, _ := http.NewRequest(ec.method, base+strings.ReplaceAll(ec.path, "{node}", cl.node), bytes.NewReader(body))
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientConfig(ca.Pool(), func() *tls.Certificate { return cl.cert })}}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("%s %s as %s: %v", ec.method, ec.path, cl.name, err)
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusUnauthorized:
				got.WriteByte('U')
			case http.StatusForbidden:
				got.WriteByte('F')
			default:
				got.WriteByte('A')
			}
			answers = append(answers, fmt.Sprintf("%s=%d", cl.name, resp.StatusCode))
		}
		if got.String() != ec.want {
			t.Errorf("%s %s: got %s, want %s (%s)", ec.method, ec.path, got.String(), ec.want, strings.Join(answers, ", "))
		}
	}
}

// TestPlainHTTPIsRefused: a request in plain HTTP gets a clear answer,
// not the API.
func TestPlainHTTPIsRefused(t *testing.T) {
	c, _ := startMaster(t)
	resp, err := http.Get("http://" + strings.TrimPrefix(c.Servers()[0], "https://") + api.PathStatus)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(buf.String(), "HTTPS") {
		t.Errorf("plain HTTP: %d %q", resp.StatusCode, buf.String())
	}
}

// TestJoinTokens: a token of another CA is refused before its secret is
// sent; a master cannot join with an agent token; a token bound to a node
// joins that node only; a second host cannot take a pinned name; a
// revoked token stops working; an agent renews its certificate with the
// certificate itself.
func TestJoinTokens(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.log")
	var dir string
	c, _ := startMaster(t, func(cfg *Config) { cfg.AuditLog, dir = audit, cfg.DataDir })
	waitStatus(t, c, func(s *api.Status) bool { return s.LiveCommit != "" })
	ctx := context.Background()
	servers := []string{strings.TrimPrefix(c.Servers()[0], "https://")}
	data, err := os.ReadFile(filepath.Join(dir, AgentTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	agentToken, _ := pki.ParseToken(string(data))
	join := func(token string, id pki.Identity) (*client.Credentials, error) {
		return client.Join(ctx, servers, token, t.TempDir(), id)
	}
	node := func(name string) pki.Identity {
		return pki.Identity{Kind: pki.KindNode, Name: name, Role: api.RoleAgent}
	}

	otherCA, _ := pki.NewCA(time.Now())
	forged := agentToken
	forged.CAHash = otherCA.Hash()
	before, _ := os.ReadFile(audit)
	if _, err := join(forged.String(), node("n1")); !errors.Is(err, pki.ErrCAMismatch) {
		t.Fatalf("a token of another CA: %v, want ErrCAMismatch", err)
	}
	after, _ := os.ReadFile(audit)
	if sent := string(after[len(before):]); strings.Count(sent, "\n") != 1 || !strings.Contains(sent, `"path":"/cacerts"`) {
		t.Errorf("the agent sent more than the CA request before refusing the CA:\n%s", sent)
	}

	var apiErr *client.APIError
	if _, err := join(agentToken.String(), pki.Identity{Kind: pki.KindMaster, Name: "m9", Role: api.RoleMaster}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Errorf("a master joining with an agent token: %v, want 403", err)
	}

	bound, err := c.CreateToken(ctx, &api.TokenRequest{Role: api.RoleAgent, Node: "n5", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := join(bound.Token, node("n6")); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Errorf("a token bound to n5 joining n6: %v, want 403", err)
	}
	n5, err := join(bound.Token, node("n5"))
	if err != nil {
		t.Fatalf("a token bound to n5 joining n5: %v", err)
	}
	if _, err := join(agentToken.String(), node("n5")); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("a second host taking n5: %v, want 409", err)
	}

	if err := c.RevokeToken(ctx, bound.Info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := join(bound.Token, node("n5")); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Errorf("a revoked token: %v, want 401", err)
	}

	cl, err := client.New(servers, client.WithTLS(n5.ClientTLS()))
	if err != nil {
		t.Fatal(err)
	}
	old := n5.Certificate().Leaf
	if err := n5.Renew(ctx, cl); err != nil {
		t.Fatalf("renewing with the certificate: %v", err)
	}
	if renewed := n5.Certificate().Leaf; renewed.SerialNumber.Cmp(old.SerialNumber) == 0 || renewed.NotAfter.Before(old.NotAfter) {
		t.Errorf("renewal kept the certificate: serial %v, expires %v (was %v)", renewed.SerialNumber, renewed.NotAfter, old.NotAfter)
	}
	if _, err := cl.Nodes(ctx); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Errorf("an agent listing nodes: %v, want 403", err)
	}
}

// TestOldTLSIsRefused: the API refuses TLS 1.1 and TLS 1.2 without an
// AEAD suite, and takes TLS 1.2 with one and TLS 1.3.
func TestOldTLSIsRefused(t *testing.T) {
	c, _ := startMaster(t)
	addr := strings.TrimPrefix(c.Servers()[0], "https://")
	dir, _ := dataDirs.Load(c)
	ca, err := pki.LoadCA(filepath.Join(dir.(string), "pki"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
		{"TLS 1.2 CBC", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}, false},
		{"TLS 1.2 GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}, true},
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
	} {
		tc.cfg.RootCAs = ca.Pool()
		conn, err := tls.Dial("tcp", addr, tc.cfg)
		if err == nil {
			conn.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: handshake error %v; want success %v", tc.name, err, tc.ok)
		}
	}
}

// TestAgentRenewsItsCertificate: with certificates of three seconds, an
// agent's renewal loop gets a new one before the old one expires.
func TestAgentRenewsItsCertificate(t *testing.T) {
	var dir string
	c, _ := startMaster(t, func(cfg *Config) { dir, cfg.NodeCertLifetime = cfg.DataDir, 3*time.Second })
	waitStatus(t, c, func(s *api.Status) bool { return s.LiveCommit != "" })
	token, _ := os.ReadFile(filepath.Join(dir, AgentTokenFile))
	servers := []string{strings.TrimPrefix(c.Servers()[0], "https://")}
	creds, err := client.Join(context.Background(), servers, string(token), t.TempDir(), pki.Identity{Kind: pki.KindNode, Name: "n1", Role: api.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := client.New(servers, client.WithTLS(creds.ClientTLS()))
	first := creds.Certificate().Leaf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); creds.RenewLoop(ctx, cl, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	defer func() { cancel(); <-done }()
	testutil.Await(t, 10*time.Second, func() error {
		if now := creds.Certificate().Leaf; now.SerialNumber.Cmp(first.SerialNumber) == 0 {
			return fmt.Errorf("still the first certificate (expires %v)", first.NotAfter)
		}
		return nil
	})
	if renewed := creds.Certificate().Leaf; !renewed.NotAfter.After(first.NotAfter) {
		t.Errorf("the renewed certificate expires %v, not after the first's %v", renewed.NotAfter, first.NotAfter)
	}
}
