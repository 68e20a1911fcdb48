package node

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWantedRoutes(t *testing.T) {
	node := func(name, cidr, ip string) corev1.Node {
		n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: cidr}}
		if ip != "" {
			n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}}
		}
		return n
	}
	got := wantedRoutes("self", "10.42.0.0/16", []corev1.Node{
		node("self", "10.42.0.0/24", "10.90.0.2"),
		node("a", "10.42.1.0/24", "10.90.0.3"),
		node("no-range-yet", "", "10.90.0.4"),
		node("no-address-yet", "10.42.3.0/24", ""),
	})
	var s []string
	for _, r := range got {
		s = append(s, fmt.Sprintf("%s via %v", r.dst, r.via))
	}
	// The whole range first, unreachable (no gateway); then only the node that has
	// both a range and an address.
	want := []string{"10.42.0.0/16 via <nil>", "10.42.1.0/24 via 10.90.0.3"}
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Fatalf("wantedRoutes = %q, want %q", s, want)
	}
}
