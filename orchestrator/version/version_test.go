package version

import (
	"strings"
	"testing"
)

// An unstamped build must never claim upstream's placeholder "v0.0.0-master": it
// names the linked k8s.io/kubernetes module's release, or says it does not know.
func TestKubernetesVersionWithoutStamp(t *testing.T) {
	v := Kubernetes()
	if strings.HasPrefix(v, "v0.0.0") {
		t.Fatalf("Kubernetes() = %q, the unstamped placeholder", v)
	}
	if v != "unknown" && !strings.HasPrefix(v, "v1.") {
		t.Fatalf("Kubernetes() = %q, want a v1.x.y release or unknown", v)
	}
}
