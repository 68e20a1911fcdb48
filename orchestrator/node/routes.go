package node

import (
	"context"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// routeProtocol marks the routes this node adds (rtnetlink's protocol field), so it
// removes only its own when a node goes away.
const routeProtocol netlink.RouteProtocol = 0x53

// podRoute is one other node's pod range and the address it is reached on.
type podRoute struct {
	dst *net.IPNet
	via net.IP
}

// wantedRoutes lists a route to every other node's pod range through that node's
// internal address: the pod network across nodes on one L2 segment (host-gw), with
// no encapsulation.
func wantedRoutes(self string, nodes []corev1.Node) []podRoute {
	var out []podRoute
	for _, n := range nodes {
		if n.Name == self || n.Spec.PodCIDR == "" {
			continue
		}
		_, dst, err := net.ParseCIDR(n.Spec.PodCIDR)
		if err != nil {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil == (dst.IP.To4() != nil) {
					out = append(out, podRoute{dst: dst, via: ip})
					break
				}
			}
		}
	}
	return out
}

// syncRoutes keeps this node's routes to the other nodes' pods until ctx ends.
func (n *node) syncRoutes(ctx context.Context, cs kubernetes.Interface) {
	for ctx.Err() == nil {
		list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			n.applyRoutes(wantedRoutes(n.opts.Config.NodeName, list.Items))
		} else {
			klog.V(2).Infof("slipway: list nodes for pod routes: %v", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

func (n *node) applyRoutes(want []podRoute) {
	keep := map[string]bool{}
	for _, r := range want {
		keep[r.dst.String()] = true
		route := &netlink.Route{Dst: r.dst, Gw: r.via, Protocol: routeProtocol}
		if err := netlink.RouteReplace(route); err != nil {
			klog.Warningf("slipway: route to pods %s via %s: %v", r.dst, r.via, err)
		}
	}
	have, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return
	}
	for _, r := range have {
		if r.Dst != nil && !keep[r.Dst.String()] {
			if err := netlink.RouteDel(&r); err == nil {
				klog.Infof("slipway: removed the route to pods %s (node gone)", r.Dst)
			}
		}
	}
}
