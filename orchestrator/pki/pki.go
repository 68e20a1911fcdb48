// Package pki creates and keeps a server's certificates and keys: the cluster CA, the
// front-proxy CA, the etcd CA, the service-account key pair, the apiserver's serving
// certificate and the client certificates of the control-plane components.
//
// Everything lives in one directory (<data-dir>/server/tls). On first start the whole
// set is generated in a temporary directory that is renamed into place, so a crash
// never leaves half a PKI. On later starts the set is loaded and checked: a leaf
// certificate that is missing, does not match its key, was not signed by the current
// CA, lacks a wanted name or expires soon is issued again (each file written to a
// temporary name and renamed). CAs are never replaced once they exist.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// renewBefore: a leaf certificate with less left than this is issued again at start.
	renewBefore = 90 * 24 * time.Hour
)

// CA names, also the base names of their files.
const (
	ClusterCA    = "ca"
	FrontProxyCA = "front-proxy-ca"
	EtcdCA       = "etcd/ca"
)

// Leaf certificate names, also the base names of their files (<name>.crt, <name>.key).
const (
	APIServer              = "apiserver"
	Admin                  = "admin"
	ControllerManager      = "controller-manager"
	Scheduler              = "scheduler"
	APIServerKubeletClient = "apiserver-kubelet-client"
	FrontProxyClient       = "front-proxy-client"
	APIServerEtcdClient    = "apiserver-etcd-client"
	EtcdServer             = "etcd/server"
	EtcdPeer               = "etcd/peer"
	// The server's own node: its kubelet's client and serving certificates and
	// kube-proxy's client certificate.
	KubeletClient  = "kubelet-client"
	KubeletServing = "kubelet-serving"
	KubeProxy      = "kube-proxy"
	// The resource metrics API (metrics-server, run by the server): its serving
	// certificate, which the aggregator checks by the Service's name, and its client
	// certificate for the API and the kubelets.
	MetricsServer       = "metrics-server"
	MetricsServerClient = "metrics-server-client"
)

// ServiceAccountKey is the base name of the service-account key pair
// (service-account.key, service-account.pub).
const ServiceAccountKey = "service-account"

// Spec says which names the server's certificates must carry.
type Spec struct {
	// NodeName and Hostname go into the serving certificates as DNS names.
	NodeName string
	Hostname string
	// NodeIP is the address other nodes reach this one on.
	NodeIP net.IP
	// ServiceIP is the first address of the service range (the kubernetes Service).
	ServiceIP net.IP
	// ClusterDomain, like cluster.local.
	ClusterDomain string
	// ExtraSANs are the tls-san entries: IP addresses or DNS names.
	ExtraSANs []string
}

// PKI is a loaded, complete set of certificates under Dir.
type PKI struct {
	Dir string
}

// Cert returns the path of a certificate by name (ClusterCA, APIServer, ...).
func (p *PKI) Cert(name string) string { return filepath.Join(p.Dir, name+".crt") }

// Key returns the path of a private key by name.
func (p *PKI) Key(name string) string { return filepath.Join(p.Dir, name+".key") }

// ServiceAccountPublicKey is the path of the service-account verification key.
func (p *PKI) ServiceAccountPublicKey() string {
	return filepath.Join(p.Dir, ServiceAccountKey+".pub")
}

// ServiceAccountPrivateKey is the path of the service-account signing key.
func (p *PKI) ServiceAccountPrivateKey() string {
	return filepath.Join(p.Dir, ServiceAccountKey+".key")
}

// leaf describes one certificate issued by a CA.
type leaf struct {
	name   string
	ca     string
	cn     string
	orgs   []string
	usages []x509.ExtKeyUsage
	dns    []string
	ips    []net.IP
	// chain: the certificate file carries the CA after the leaf, so a joining node
	// sees the CA its join token pins in the TLS handshake (orchestrator/join).
	chain bool
}

var (
	serverAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	bothAuth   = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
)

// leaves lists every certificate the server needs for spec.
func leaves(spec Spec) []leaf {
	apiDNS, apiIPs := APIServerSANs(spec)
	hostDNS := uniqueSorted([]string{"localhost", spec.Hostname, spec.NodeName})
	hostIPs := uniqueIPs([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, spec.NodeIP})
	return []leaf{
		{name: APIServer, ca: ClusterCA, cn: "kube-apiserver", usages: serverAuth, dns: apiDNS, ips: apiIPs, chain: true},
		{name: Admin, ca: ClusterCA, cn: "system:admin", orgs: []string{"system:masters"}, usages: clientAuth},
		{name: ControllerManager, ca: ClusterCA, cn: "system:kube-controller-manager", usages: clientAuth},
		{name: Scheduler, ca: ClusterCA, cn: "system:kube-scheduler", usages: clientAuth},
		// The apiserver calls kubelets (logs, exec) with this; system:masters lets the
		// kubelet's webhook authorizer allow it without a further binding.
		{name: APIServerKubeletClient, ca: ClusterCA, cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}, usages: clientAuth},
		{name: FrontProxyClient, ca: FrontProxyCA, cn: "system:auth-proxy", usages: clientAuth},
		{name: APIServerEtcdClient, ca: EtcdCA, cn: "kube-apiserver-etcd-client", usages: clientAuth},
		{name: EtcdServer, ca: EtcdCA, cn: "etcd-server", usages: bothAuth, dns: hostDNS, ips: hostIPs},
		{name: EtcdPeer, ca: EtcdCA, cn: "etcd-peer", usages: bothAuth, dns: hostDNS, ips: hostIPs},
		// The Node authorizer and NodeRestriction know a kubelet by this subject.
		{name: KubeletClient, ca: ClusterCA, cn: "system:node:" + spec.NodeName, orgs: []string{"system:nodes"}, usages: clientAuth},
		// Signed by the cluster CA, so the apiserver verifies the kubelet it calls.
		{name: KubeletServing, ca: ClusterCA, cn: spec.NodeName, usages: serverAuth, dns: hostDNS, ips: hostIPs},
		// Upstream's default binding gives this user the system:node-proxier role.
		{name: KubeProxy, ca: ClusterCA, cn: "system:kube-proxy", usages: clientAuth},
		{name: MetricsServer, ca: ClusterCA, cn: "metrics-server", usages: serverAuth, ips: hostIPs,
			dns: uniqueSorted(append([]string{"metrics-server.kube-system.svc", "metrics-server.kube-system.svc." + spec.ClusterDomain}, hostDNS...))},
		{name: MetricsServerClient, ca: ClusterCA, cn: "system:metrics-server", usages: clientAuth},
	}
}

// APIServerSANs are the names in the apiserver's serving certificate: loopback, the
// node's address and names, the in-cluster names of the kubernetes Service, its
// ClusterIP, and the tls-san entries.
func APIServerSANs(spec Spec) (dns []string, ips []net.IP) {
	dns = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}
	if spec.ClusterDomain != "" {
		dns = append(dns, "kubernetes.default.svc."+spec.ClusterDomain)
	}
	dns = append(dns, spec.Hostname, spec.NodeName)
	ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, spec.NodeIP, spec.ServiceIP}
	for _, san := range spec.ExtraSANs {
		if ip := net.ParseIP(san); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, san)
		}
	}
	return uniqueSorted(dns), uniqueIPs(ips)
}

// Ensure makes dir hold a complete, valid PKI for spec and returns it. It generates
// everything on first use and repairs or renews leaf certificates afterwards.
func Ensure(dir string, spec Spec) (*PKI, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := create(dir, spec); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	p := &PKI{Dir: dir}
	if err := p.repair(spec, time.Now()); err != nil {
		return nil, err
	}
	return p, nil
}

// create generates a whole PKI next to dir and renames it into place.
func create(dir string, spec Spec) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone after the rename; clears a failed attempt
	p := &PKI{Dir: tmp}
	now := time.Now()
	for _, ca := range []string{ClusterCA, FrontProxyCA, EtcdCA} {
		if err := p.newCA(ca, now); err != nil {
			return err
		}
	}
	if err := p.newServiceAccountKey(); err != nil {
		return err
	}
	for _, l := range leaves(spec) {
		if err := p.issue(l, now); err != nil {
			return err
		}
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move new PKI into place: %w", err)
	}
	return syncDir(parent)
}

// repair checks an existing PKI: every CA and the service-account key must be
// present (they are never replaced: that would silently break the cluster's trust),
// and every leaf is issued again when it is missing, broken or out of date.
func (p *PKI) repair(spec Spec, now time.Time) error {
	for _, ca := range []string{ClusterCA, FrontProxyCA, EtcdCA} {
		if _, _, err := p.loadPair(ca); err != nil {
			return fmt.Errorf("CA %s in %s: %w (restore it from a backup; a new CA would not be trusted by the cluster)", ca, p.Dir, err)
		}
	}
	if _, err := loadKey(p.ServiceAccountPrivateKey()); err != nil {
		return fmt.Errorf("service-account key in %s: %w", p.Dir, err)
	}
	if _, err := os.Stat(p.ServiceAccountPublicKey()); err != nil {
		return fmt.Errorf("service-account public key in %s: %w", p.Dir, err)
	}
	for _, l := range leaves(spec) {
		if reason := p.check(l, now); reason != "" {
			if err := p.issue(l, now); err != nil {
				return fmt.Errorf("issue %s certificate again (%s): %w", l.name, reason, err)
			}
		}
	}
	return nil
}

// check returns why leaf l must be issued again, or "" when it is fine.
func (p *PKI) check(l leaf, now time.Time) string {
	cert, key, err := p.loadPair(l.name)
	if err != nil {
		return err.Error()
	}
	caCert, _, err := p.loadPair(l.ca)
	if err != nil {
		return err.Error()
	}
	if err := cert.CheckSignatureFrom(caCert); err != nil {
		return "not signed by the current CA"
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return "certificate does not match its key"
	}
	if now.Add(renewBefore).After(cert.NotAfter) {
		return "expires soon"
	}
	for _, d := range l.dns {
		if !slices.Contains(cert.DNSNames, d) {
			return "lacks name " + d
		}
	}
	for _, ip := range l.ips {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return "lacks address " + ip.String()
		}
	}
	if cert.Subject.CommonName != l.cn || !slices.Equal(cert.Subject.Organization, l.orgs) {
		return "subject changed"
	}
	if l.chain {
		if b, err := os.ReadFile(p.Cert(l.name)); err != nil || bytes.Count(b, []byte("BEGIN CERTIFICATE")) < 2 {
			return "lacks its CA in the chain"
		}
	}
	return ""
}

func (p *PKI) newCA(name string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "slipway-" + filepath.Base(name) + "@" + fmt.Sprint(now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if name == EtcdCA {
		tmpl.Subject.CommonName = "slipway-etcd-ca@" + fmt.Sprint(now.Unix())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	return p.writePair(name, der, key, nil)
}

func (p *PKI) newServiceAccountKey() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := WriteFile(p.ServiceAccountPrivateKey(), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return WriteFile(p.ServiceAccountPublicKey(), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600)
}

func (p *PKI) issue(l leaf, now time.Time) error {
	caCert, caKey, err := p.loadPair(l.ca)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(caCert.NotAfter) {
		notAfter = caCert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.cn, Organization: l.orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  l.usages,
		DNSNames:     l.dns,
		IPAddresses:  l.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return err
	}
	var chain []byte
	if l.chain {
		chain = caCert.Raw
	}
	return p.writePair(l.name, der, key, chain)
}

// writePair writes the key before the certificate: a crash in between leaves a
// certificate that does not match its key, which the next start detects and repairs.
// caDER, when set, is written after the certificate as its chain.
func (p *PKI) writePair(name string, certDER []byte, key crypto.Signer, caDER []byte) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := WriteFile(p.Key(name), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	if caDER != nil {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	}
	return WriteFile(p.Cert(name), certPEM, 0o644)
}

func (p *PKI) loadPair(name string) (*x509.Certificate, crypto.Signer, error) {
	cert, err := LoadCert(p.Cert(name))
	if err != nil {
		return nil, nil, err
	}
	key, err := loadKey(p.Key(name))
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// LoadCert reads the first certificate of a PEM file.
func LoadCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func loadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", path)
	}
	return s, nil
}

// WriteFile writes data to path atomically: a temporary file in the same directory,
// synced, then renamed over path. Parent directories are created with mode 0700.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after a successful rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

func uniqueSorted(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func uniqueIPs(in []net.IP) []net.IP {
	var out []net.IP
	for _, ip := range in {
		if ip != nil && !slices.ContainsFunc(out, ip.Equal) {
			out = append(out, ip)
		}
	}
	return out
}
