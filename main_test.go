package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProviderDoesNotLinkNodeComponents keeps the provider binary small and its
// dependencies independent: Kubernetes components, etcd and containerd belong to the
// node binary only.
func TestProviderDoesNotLinkNodeComponents(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps .: %v\n%s", err, out)
	}
	forbidden := []string{"k8s.io/kubernetes/", "go.etcd.io/etcd/server/", "github.com/containerd/containerd/"}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg+"/", f) {
				t.Errorf("the provider links %s", pkg)
			}
		}
	}
}
