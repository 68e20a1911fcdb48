package pki

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func testSpec() Spec {
	return Spec{
		NodeName:      "node-a",
		Hostname:      "host-a",
		NodeIP:        net.ParseIP("10.90.0.5"),
		ServiceIP:     net.ParseIP("10.43.0.1"),
		ClusterDomain: "cluster.local",
		ExtraSANs:     []string{"api.example.com", "192.0.2.10"},
	}
}

// TestEnsure_ServingCertificateNames: the apiserver's certificate carries loopback,
// the node, the kubernetes Service's names and ClusterIP, and the tls-san entries,
// and verifies against the cluster CA for each of them.
func TestEnsure_ServingCertificateNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server", "tls")
	p, err := Ensure(dir, testSpec())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := LoadCert(p.Cert(APIServer))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCert(p.Cert(ClusterCA))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, name := range []string{"127.0.0.1", "10.90.0.5", "10.43.0.1", "192.0.2.10", "localhost", "host-a", "node-a",
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "api.example.com"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("serving certificate does not verify for %s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: roots}); err == nil {
		t.Error("serving certificate verifies for a name it should not carry")
	}

	admin, err := LoadCert(p.Cert(Admin))
	if err != nil {
		t.Fatal(err)
	}
	if admin.Subject.CommonName != "system:admin" || !slices.Equal(admin.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("admin subject = %v", admin.Subject)
	}
	if _, err := admin.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("admin client certificate: %v", err)
	}
	etcdCA, _ := LoadCert(p.Cert(EtcdCA))
	etcdRoots := x509.NewCertPool()
	etcdRoots.AddCert(etcdCA)
	client, _ := LoadCert(p.Cert(APIServerEtcdClient))
	if _, err := client.Verify(x509.VerifyOptions{Roots: etcdRoots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("apiserver etcd client certificate does not verify against the etcd CA: %v", err)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the etcd client certificate verifies against the cluster CA: etcd must have its own CA")
	}
}

// TestEnsure_Modes: directories 0700, private keys 0600, and no temporary leftovers.
func TestEnsure_Modes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server", "tls")
	if _, err := Ensure(dir, testSpec()); err != nil {
		t.Fatal(err)
	}
	keys := 0
	err := filepath.Walk(filepath.Dir(dir), func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(fi.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", path)
		}
		switch {
		case fi.IsDir():
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("%s: mode %v, want 0700", path, fi.Mode().Perm())
			}
		case strings.HasSuffix(path, ".key"):
			keys++
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", path, fi.Mode().Perm())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 + 1 + len(leaves(testSpec())); keys != want {
		t.Errorf("%d keys, want %d", keys, want)
	}
}

// TestEnsure_Reuse: a second start keeps every file; a changed tls-san issues only the
// serving certificate again, from the same CA; a leaf whose key was replaced (a crash
// between writing key and certificate) is repaired.
func TestEnsure_Reuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	spec := testSpec()
	p, err := Ensure(dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	if _, err := Ensure(dir, spec); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, dir); !mapsEqual(before, after) {
		t.Fatal("a second start changed the PKI")
	}

	spec.ExtraSANs = append(spec.ExtraSANs, "lb.example.com")
	if _, err := Ensure(dir, spec); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, dir)
	for f := range before {
		changed := before[f] != after[f]
		if want := f == "apiserver.crt" || f == "apiserver.key"; changed != want {
			t.Errorf("%s changed=%v, want %v", f, changed, want)
		}
	}
	cert, _ := LoadCert(p.Cert(APIServer))
	if !slices.Contains(cert.DNSNames, "lb.example.com") {
		t.Errorf("new tls-san missing: %v", cert.DNSNames)
	}

	// A key that no longer matches its certificate.
	other, _ := os.ReadFile(p.Key(Scheduler))
	if err := os.WriteFile(p.Key(Admin), other, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir, spec); err != nil {
		t.Fatal(err)
	}
	if reason := p.check(leaves(spec)[1], time.Now()); reason != "" {
		t.Errorf("admin certificate not repaired: %s", reason)
	}
}

// TestEnsure_MissingCA: a PKI without its CA key is not silently replaced.
func TestEnsure_MissingCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	p, err := Ensure(dir, testSpec())
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(p.Key(ClusterCA))
	if _, err := Ensure(dir, testSpec()); err == nil || !strings.Contains(err.Error(), "CA ca") {
		t.Fatalf("err = %v, want one naming the CA", err)
	}
}

func TestKubeconfigEmbed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	p, err := Ensure(dir, testSpec())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "admin.kubeconfig")
	k := Kubeconfig{Server: "https://127.0.0.1:6443", CAFile: p.Cert(ClusterCA), CertFile: p.Cert(Admin), KeyFile: p.Key(Admin), Embed: true}
	if err := k.Write(path); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{"server: https://127.0.0.1:6443", "client-key-data:", "certificate-authority-data:"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, b)
		}
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(path)
			rel, _ := filepath.Rel(dir, path)
			out[rel] = string(b)
		}
		return err
	})
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
