// Package orchestrator_test checks the node bundle as a host receives it.
package orchestrator_test

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

type manifest struct {
	Slipway    string            `json:"slipway"`
	Kubernetes string            `json:"kubernetes"`
	Arch       string            `json:"arch"`
	Files      map[string]string `json:"files"`
}

// TestBundle checks the tarball `make bundle` wrote: its sha256 file, the manifest's
// checksums, and that the binary inside reports Slipway's version and the Kubernetes
// version go.mod pins.
func TestBundle(t *testing.T) {
	bundle := os.Getenv("SLIPWAY_BUNDLE")
	if bundle == "" {
		t.Skip("SLIPWAY_BUNDLE is not set: make test and make e2e build the bundle and set it")
	}
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sumFile, err := os.ReadFile(bundle + ".sha256")
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(bundle) + "\n"; string(sumFile) != want {
		t.Fatalf("sha256 file = %q, want %q", sumFile, want)
	}

	dir := t.TempDir()
	extract(t, bundle, dir)
	var m manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Files["bin/slipway"]; !ok {
		t.Fatalf("manifest lists no bin/slipway: %v", m.Files)
	}
	for name, want := range m.Files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if s := sha256.Sum256(got); hex.EncodeToString(s[:]) != want {
			t.Errorf("%s does not match its manifest checksum", name)
		}
	}
	if !strings.HasPrefix(filepath.Base(bundle), "slipway-"+m.Slipway+"-linux-"+m.Arch+".tar.gz") {
		t.Errorf("bundle name %s does not carry manifest version %s and arch %s", filepath.Base(bundle), m.Slipway, m.Arch)
	}
	if want := kubernetesFromGoMod(t); m.Kubernetes != want {
		t.Errorf("manifest kubernetes = %s, go.mod pins %s", m.Kubernetes, want)
	}

	if m.Arch != runtime.GOARCH || runtime.GOOS != "linux" {
		t.Skipf("the bundle is for linux/%s; cannot run it on %s/%s", m.Arch, runtime.GOOS, runtime.GOARCH)
	}
	out, err := exec.Command(filepath.Join(dir, "bin", "slipway"), "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("slipway version: %v", err)
	}
	var v struct{ Slipway, Kubernetes string }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("slipway version -o json printed %q: %v", out, err)
	}
	if v.Slipway != m.Slipway || v.Kubernetes != m.Kubernetes {
		t.Fatalf("slipway version says %+v, the manifest says slipway %s kubernetes %s", v, m.Slipway, m.Kubernetes)
	}
}

func kubernetesFromGoMod(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax("go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "k8s.io/kubernetes" {
			return r.Mod.Version
		}
	}
	t.Fatal("go.mod does not require k8s.io/kubernetes")
	return ""
}

func extract(t *testing.T, tarball, dir string) {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", tarball, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Clean(h.Name)
		if strings.HasPrefix(name, "..") || filepath.IsAbs(name) {
			t.Fatalf("bundle entry %q escapes the bundle", h.Name)
		}
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			out.Close()
		default:
			t.Fatalf("unexpected entry %q of type %c in the bundle", h.Name, h.Typeflag)
		}
	}
}
