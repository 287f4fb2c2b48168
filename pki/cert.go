package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

// Kind is what an identity is: a master, a node (its agent) or a user.
type Kind string

// The kinds of identity a certificate names.
const (
	KindMaster Kind = "master"
	KindNode   Kind = "node"
	KindUser   Kind = "user"
)

// Identity is who a certificate speaks for. In the certificate it is the
// subject: common name "KIND:NAME", organization ROLE (as Kubernetes
// writes "system:node:NAME" in the group "system:nodes").
type Identity struct {
	Kind Kind
	Name string
	Role string
}

// String is the identity as the common name writes it ("node:n0").
func (id Identity) String() string { return string(id.Kind) + ":" + id.Name }

// nameRE is what a name of an identity may be: a DNS subdomain, as
// Kubernetes' node names are.
var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// Validate checks an identity's kind, name and role.
func (id Identity) Validate() error {
	switch id.Kind {
	case KindMaster, KindNode, KindUser:
	default:
		return fmt.Errorf("identity kind %q: want master, node or user", id.Kind)
	}
	if !nameRE.MatchString(id.Name) {
		return fmt.Errorf("identity name %q: want a DNS subdomain (lower-case letters, digits, '-' and '.')", id.Name)
	}
	if id.Role == "" || strings.ContainsAny(id.Role, ":,") {
		return fmt.Errorf("identity role %q: want a role name", id.Role)
	}
	return nil
}

func (id Identity) subject() pkix.Name {
	return pkix.Name{CommonName: id.String(), Organization: []string{id.Role}}
}

// IdentityOf reads the identity a certificate names.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	kind, name, ok := strings.Cut(cert.Subject.CommonName, ":")
	if !ok || len(cert.Subject.Organization) != 1 {
		return Identity{}, fmt.Errorf("certificate subject %q names no berth identity (want CN=KIND:NAME, O=ROLE)", cert.Subject.String())
	}
	id := Identity{Kind: Kind(kind), Name: name, Role: cert.Subject.Organization[0]}
	if err := id.Validate(); err != nil {
		return Identity{}, fmt.Errorf("certificate subject %q: %w", cert.Subject.String(), err)
	}
	return id, nil
}

// Lifetimes of the certificates the CA issues.
const (
	// NodeCertLifetime: an agent renews its certificate once two thirds
	// of this have passed.
	NodeCertLifetime = 30 * 24 * time.Hour
	// MasterCertLifetime: a master issues itself a new one at each start.
	MasterCertLifetime = 365 * 24 * time.Hour
	// UserCertLifetime is a kubeconfig's default.
	UserCertLifetime = 365 * 24 * time.Hour
)

// Backdate is how long before its issue a certificate is valid from, for
// the clocks of nodes that lag a little.
const Backdate = 5 * time.Minute

// Request is what the CA is asked to certify.
type Request struct {
	Identity Identity
	// Hosts are the DNS names and IP addresses a serving certificate is
	// valid for (masters and nodes serve; users do not).
	Hosts []string
	// Lifetime is how long the certificate is valid from now.
	Lifetime time.Duration
}

// Sign certifies pub for the request.
func (ca *CA) Sign(pub crypto.PublicKey, req Request, now time.Time) ([]byte, error) {
	if err := req.Identity.Validate(); err != nil {
		return nil, err
	}
	if req.Lifetime <= 0 {
		return nil, errors.New("certificate lifetime must be positive")
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      req.Identity.subject(),
		NotBefore:    now.Add(-Backdate), // clocks of nodes drift a little
		NotAfter:     minTime(now.Add(req.Lifetime), ca.Cert.NotAfter),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if req.Identity.Kind != KindUser {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	for _, h := range req.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("signing the certificate of %s: %w", req.Identity, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// Issue makes a key and certifies it: a certificate and key in PEM.
func (ca *CA) Issue(req Request, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := NewKey()
	if err != nil {
		return nil, nil, err
	}
	if certPEM, err = ca.Sign(key.Public(), req, now); err != nil {
		return nil, nil, err
	}
	keyPEM, err = EncodeKey(key)
	return certPEM, keyPEM, err
}

// IssueTLS is Issue as a tls.Certificate.
func (ca *CA) IssueTLS(req Request, now time.Time) (tls.Certificate, error) {
	certPEM, keyPEM, err := ca.Issue(req, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// NewCSR makes a certificate request for an identity, signed by key: what
// an agent sends, so that its key never leaves the node.
func NewCSR(key crypto.Signer, id Identity) ([]byte, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: id.subject()}, key)
	if err != nil {
		return nil, fmt.Errorf("making a certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// ParseCSR reads a certificate request in PEM, checks its signature and
// returns it with the identity it asks for.
func ParseCSR(csrPEM []byte) (*x509.CertificateRequest, Identity, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, Identity{}, errors.New("certificate request: no PEM block CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, Identity{}, fmt.Errorf("certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, Identity{}, fmt.Errorf("certificate request: %w", err)
	}
	id, err := IdentityOf(&x509.Certificate{Subject: csr.Subject})
	if err != nil {
		return nil, Identity{}, fmt.Errorf("certificate request: %w", err)
	}
	return csr, id, nil
}

// Verify checks that cert was issued by the CA in pool, for client
// authentication, and is valid at now; it returns the identity it names.
func Verify(pool *x509.CertPool, cert *x509.Certificate, intermediates []*x509.Certificate, now time.Time, usage x509.ExtKeyUsage) (Identity, error) {
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return Identity{}, err
	}
	return IdentityOf(cert)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
