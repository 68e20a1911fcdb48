package server

import (
	"context"
	"net"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// The LoadBalancer implementation without a cloud: a Service of type LoadBalancer
// (with no loadBalancerClass) gets the internal addresses of the Ready nodes as its
// ingress. kube-proxy on every node already answers for a Service's load-balancer
// addresses, so the Service's port on any of those addresses reaches its pods, as
// k3s's servicelb exposes them on the nodes.
func runServiceLB(ctx context.Context, cs kubernetes.Interface) {
	for ctx.Err() == nil {
		if err := syncServiceLB(ctx, cs); err != nil {
			klog.V(2).Infof("slipway: servicelb: %v", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
}

// readyNodeAddresses lists the internal addresses of the Ready nodes, sorted.
func readyNodeAddresses(nodes []corev1.Node) []string {
	var ips []string
	for _, n := range nodes {
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready || n.Spec.Unschedulable {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP && net.ParseIP(a.Address) != nil {
				ips = append(ips, a.Address)
			}
		}
	}
	slices.Sort(ips)
	return slices.Compact(ips)
}

func syncServiceLB(ctx context.Context, cs kubernetes.Interface) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ips := readyNodeAddresses(nodes.Items)
	svcs, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || ptr.Deref(svc.Spec.LoadBalancerClass, "") != "" {
			continue
		}
		var want []corev1.LoadBalancerIngress
		for _, ip := range ips {
			want = append(want, corev1.LoadBalancerIngress{IP: ip, IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)})
		}
		if ingressEqual(svc.Status.LoadBalancer.Ingress, want) {
			continue
		}
		svc.Status.LoadBalancer.Ingress = want
		if _, err := cs.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{FieldManager: "slipway"}); err != nil {
			klog.Warningf("slipway: servicelb: %s/%s: %v", svc.Namespace, svc.Name, err)
			continue
		}
		klog.Infof("slipway: servicelb: %s/%s answers on %v", svc.Namespace, svc.Name, ips)
	}
	return nil
}

func ingressEqual(a, b []corev1.LoadBalancerIngress) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].IP != b[i].IP || ptr.Deref(a[i].IPMode, "") != ptr.Deref(b[i].IPMode, "") {
			return false
		}
	}
	return true
}
