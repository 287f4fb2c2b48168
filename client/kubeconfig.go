package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/pki"
)

// Kubeconfig is the part of a kubeconfig file berth reads and writes: the
// current context's cluster (server, CA) and user (client certificate and
// key, or a bearer token), inline or as file paths, as kubectl has them.
type Kubeconfig struct {
	APIVersion     string           `json:"apiVersion"`
	Kind           string           `json:"kind"`
	Clusters       []namedCluster   `json:"clusters"`
	Users          []namedUser      `json:"users"`
	Contexts       []namedContext   `json:"contexts"`
	CurrentContext string           `json:"current-context"`
	Preferences    map[string]any   `json:"preferences,omitempty"`
	Extensions     []map[string]any `json:"extensions,omitempty"`
}

type namedCluster struct {
	Name    string  `json:"name"`
	Cluster Cluster `json:"cluster"`
}

// Cluster is a kubeconfig cluster entry.
type Cluster struct {
	Server                   string `json:"server"`
	CertificateAuthority     string `json:"certificate-authority,omitempty"`
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
	TLSServerName            string `json:"tls-server-name,omitempty"`
	InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify,omitempty"`
}

type namedUser struct {
	Name string `json:"name"`
	User User   `json:"user"`
}

// User is a kubeconfig user entry.
type User struct {
	ClientCertificate     string `json:"client-certificate,omitempty"`
	ClientCertificateData []byte `json:"client-certificate-data,omitempty"`
	ClientKey             string `json:"client-key,omitempty"`
	ClientKeyData         []byte `json:"client-key-data,omitempty"`
	Token                 string `json:"token,omitempty"`
	TokenFile             string `json:"tokenFile,omitempty"`
}

type namedContext struct {
	Name    string  `json:"name"`
	Context Context `json:"context"`
}

// Context is a kubeconfig context entry.
type Context struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace,omitempty"`
}

// maxKubeconfigBytes bounds what is read of a kubeconfig file.
const maxKubeconfigBytes = 1 << 20

// ReadKubeconfig reads and parses a kubeconfig file.
func ReadKubeconfig(path string) (*Kubeconfig, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	if fi.Size() > maxKubeconfigBytes {
		return nil, fmt.Errorf("kubeconfig %s: %d bytes, more than %d", path, fi.Size(), maxKubeconfigBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	k, err := ParseKubeconfig(data)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	k.resolve(filepath.Dir(path))
	return k, nil
}

// ParseKubeconfig parses a kubeconfig and checks that its current context
// names a cluster and a user it has.
func ParseKubeconfig(data []byte) (*Kubeconfig, error) {
	var k Kubeconfig
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, err
	}
	if k.Kind != "" && k.Kind != "Config" {
		return nil, fmt.Errorf("kind %q: want Config", k.Kind)
	}
	if _, _, err := k.current(); err != nil {
		return nil, err
	}
	return &k, nil
}

// current returns the current context's cluster and user.
func (k *Kubeconfig) current() (*Cluster, *User, error) {
	var ctx *Context
	for i := range k.Contexts {
		if k.Contexts[i].Name == k.CurrentContext {
			ctx = &k.Contexts[i].Context
		}
	}
	if ctx == nil {
		return nil, nil, fmt.Errorf("current-context %q: no such context", k.CurrentContext)
	}
	var cl *Cluster
	for i := range k.Clusters {
		if k.Clusters[i].Name == ctx.Cluster {
			cl = &k.Clusters[i].Cluster
		}
	}
	if cl == nil {
		return nil, nil, fmt.Errorf("context %q: no cluster %q", k.CurrentContext, ctx.Cluster)
	}
	var u *User
	for i := range k.Users {
		if k.Users[i].Name == ctx.User {
			u = &k.Users[i].User
		}
	}
	if u == nil {
		return nil, nil, fmt.Errorf("context %q: no user %q", k.CurrentContext, ctx.User)
	}
	return cl, u, nil
}

// resolve makes relative file paths relative to the kubeconfig's folder.
func (k *Kubeconfig) resolve(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for i := range k.Clusters {
		abs(&k.Clusters[i].Cluster.CertificateAuthority)
	}
	for i := range k.Users {
		u := &k.Users[i].User
		abs(&u.ClientCertificate)
		abs(&u.ClientKey)
		abs(&u.TokenFile)
	}
}

// Server is the current context's server URL.
func (k *Kubeconfig) Server() string {
	cl, _, _ := k.current()
	return cl.Server
}

// CA is the current context's CA bundle (PEM).
func (k *Kubeconfig) CA() ([]byte, error) {
	cl, _, _ := k.current()
	return dataOrFile(cl.CertificateAuthorityData, cl.CertificateAuthority)
}

// Options are the client options of the current context: its CA, its
// client certificate or its token.
func (k *Kubeconfig) Options() ([]Option, error) {
	cl, u, _ := k.current()
	if cl.InsecureSkipTLSVerify {
		return nil, errors.New("insecure-skip-tls-verify: berth checks its masters' certificates")
	}
	caPEM, err := dataOrFile(cl.CertificateAuthorityData, cl.CertificateAuthority)
	if err != nil {
		return nil, fmt.Errorf("certificate-authority: %w", err)
	}
	pool := x509.NewCertPool()
	if len(caPEM) == 0 || !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("certificate-authority: no CA certificate (berth's masters have their own CA)")
	}
	var cert *tls.Certificate
	certPEM, err := dataOrFile(u.ClientCertificateData, u.ClientCertificate)
	if err != nil {
		return nil, fmt.Errorf("client-certificate: %w", err)
	}
	if len(certPEM) > 0 {
		keyPEM, err := dataOrFile(u.ClientKeyData, u.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("client-key: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate and key: %w", err)
		}
		cert = &pair
	}
	cfg := pki.ClientConfig(pool, func() *tls.Certificate { return cert })
	if cl.TLSServerName != "" {
		cfg.ServerName = cl.TLSServerName
	}
	opts := []Option{WithTLS(cfg)}
	token := u.Token
	if token == "" && u.TokenFile != "" {
		data, err := os.ReadFile(u.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("tokenFile: %w", err)
		}
		token = string(data)
	}
	if token != "" {
		opts = append(opts, WithBearer(trimSpace(token)))
	}
	return opts, nil
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

func dataOrFile(data []byte, path string) ([]byte, error) {
	if len(data) > 0 || path == "" {
		return data, nil
	}
	return os.ReadFile(path)
}

// NewKubeconfig is a kubeconfig for one cluster and one user with a client
// certificate, as kubeadm writes admin.conf.
func NewKubeconfig(server, clusterName, userName string, caPEM, certPEM, keyPEM []byte) *Kubeconfig {
	ctx := userName + "@" + clusterName
	return &Kubeconfig{APIVersion: "v1", Kind: "Config",
		Clusters:       []namedCluster{{Name: clusterName, Cluster: Cluster{Server: server, CertificateAuthorityData: caPEM}}},
		Users:          []namedUser{{Name: userName, User: User{ClientCertificateData: certPEM, ClientKeyData: keyPEM}}},
		Contexts:       []namedContext{{Name: ctx, Context: Context{Cluster: clusterName, User: userName}}},
		CurrentContext: ctx}
}

// YAML renders the kubeconfig.
func (k *Kubeconfig) YAML() []byte {
	data, _ := yaml.Marshal(k)
	return data
}
