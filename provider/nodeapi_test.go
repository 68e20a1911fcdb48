package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// A Node counts as back only with a heartbeat newer than the one before the restart
// and without the lifecycle taints: a stale Ready let an apply return while the node
// controller was about to mark the node unreachable.
func TestNodeBack(t *testing.T) {
	before := time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC)
	node := func(status corev1.ConditionStatus, beat time.Time, taints ...string) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, Reason: "KubeletNotReady",
			LastHeartbeatTime: metav1.NewTime(beat)}}
		for _, k := range taints {
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: k, Effect: corev1.TaintEffectNoSchedule})
		}
		return n
	}
	for _, tc := range []struct {
		name       string
		node       *corev1.Node
		beatBefore time.Time
		want       string // "" for back, else a part of the reason
	}{
		{"ready, no restart", node(corev1.ConditionTrue, before), time.Time{}, ""},
		{"ready from before the restart", node(corev1.ConditionTrue, before), before, "no heartbeat from the new kubelet"},
		{"ready after the restart", node(corev1.ConditionTrue, before.Add(5*time.Second)), before, ""},
		{"not ready", node(corev1.ConditionFalse, before.Add(5*time.Second)), before, "KubeletNotReady"},
		{"still tainted", node(corev1.ConditionTrue, before.Add(5*time.Second), corev1.TaintNodeNotReady), before, "still tainted node.kubernetes.io/not-ready"},
		{"unreachable", node(corev1.ConditionTrue, before, corev1.TaintNodeUnreachable), time.Time{}, "still tainted node.kubernetes.io/unreachable"},
		{"not registered", nil, time.Time{}, "not registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset()
			if tc.node != nil {
				cs = fake.NewClientset(tc.node)
			}
			got := nodeBack(context.Background(), cs, "a", tc.beatBefore)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("nodeBack = %q, want %q", got, tc.want)
			}
		})
	}
	cs := fake.NewClientset(node(corev1.ConditionTrue, before))
	if got := readyHeartbeat(context.Background(), cs, "a"); !got.Equal(before) {
		t.Errorf("readyHeartbeat = %v, want %v", got, before)
	}
	if got := readyHeartbeat(context.Background(), cs, "b"); !got.IsZero() {
		t.Errorf("readyHeartbeat of a missing node = %v, want zero", got)
	}
}
