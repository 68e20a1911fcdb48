// Package orchestrator_test checks the node bundle as a host receives it.
package orchestrator_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/bundle"
)

// TestBundle checks the bundle `make bundle` wrote: its sha256 file, unpacking it with
// tar and its own program, the manifest's checksums, and that the binaries inside report Slipway's version and the Kubernetes
// version go.mod pins.
func TestBundle(t *testing.T) {
	path := os.Getenv("SLIPWAY_BUNDLE")
	if path == "" {
		t.Skip("SLIPWAY_BUNDLE is not set: make test and make e2e build the bundle and set it")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sumFile, err := os.ReadFile(path + ".sha256")
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(path) + "\n"; string(sumFile) != want {
		t.Fatalf("sha256 file = %q, want %q", sumFile, want)
	}

	info, err := bundle.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("bundle.Read checksum %s, sha256 of the file %x", info.SHA256, sum)
	}
	m := info.Manifest
	for _, want := range []string{"bin/slipway", "bin/slipway-agent", "bin/containerd", "bin/runc"} {
		if _, ok := m.Files[want]; !ok {
			t.Errorf("manifest lists no %s: %v", want, m.Files)
		}
	}
	// Unpack as a host does: tar and the bundle's own unpack program, nothing else.
	dir := t.TempDir()
	if out, err := exec.Command("sh", "-c", bundle.UnpackScript(path, dir)).CombinedOutput(); err != nil {
		t.Fatalf("unpack: %v\n%s", err, out)
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
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("unpacked bundle holds %v, want bin and kubernetes-version", entries)
	}
	if filepath.Base(path) != "slipway-"+m.Slipway+"-linux-"+m.Arch+".tar" {
		t.Errorf("bundle name %s does not carry manifest version %s and arch %s", filepath.Base(path), m.Slipway, m.Arch)
	}
	if want := kubernetesFromGoMod(t); m.Kubernetes != want {
		t.Errorf("manifest kubernetes = %s, go.mod pins %s", m.Kubernetes, want)
	}

	if m.Arch != runtime.GOARCH || runtime.GOOS != "linux" {
		t.Skipf("the bundle is for linux/%s; cannot run it on %s/%s", m.Arch, runtime.GOOS, runtime.GOARCH)
	}
	for _, bin := range []string{"slipway", "slipway-agent"} {
		out, err := exec.Command(filepath.Join(dir, "bin", bin), "version", "-o", "json").Output()
		if err != nil {
			t.Fatalf("%s version: %v", bin, err)
		}
		var v struct{ Slipway, Kubernetes string }
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("%s version -o json printed %q: %v", bin, out, err)
		}
		if v.Slipway != m.Slipway || v.Kubernetes != m.Kubernetes {
			t.Fatalf("%s version says %+v, the manifest says slipway %s kubernetes %s", bin, v, m.Slipway, m.Kubernetes)
		}
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
