package node

import (
	"context"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// routeProtocol marks the routes this node adds (rtnetlink's protocol field), so it
// removes only its own when a node goes away, and a reset finds them all.
const routeProtocol netlink.RouteProtocol = 0x53

// podRoute is one route this node keeps: another node's pod range through that
// node's address, or (via nil) the whole cluster range as unreachable.
type podRoute struct {
	dst *net.IPNet
	via net.IP
}

// wantedRoutes lists a route to every other node's pod range through that node's
// internal address: the pod network across nodes on one L2 segment (host-gw), with
// no encapsulation. Under them lies an unreachable route for the whole cluster
// range: a pod address whose node has no route yet (it joined a moment ago) or any
// more (it was removed) is refused on this node instead of following the default
// route out of the cluster.
func wantedRoutes(self, clusterCIDR string, nodes []corev1.Node) []podRoute {
	var out []podRoute
	if _, all, err := net.ParseCIDR(clusterCIDR); err == nil {
		out = append(out, podRoute{dst: all})
	}
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

// syncRoutes keeps this node's routes to the other nodes' pods until ctx ends. It
// watches Nodes, so a node's route is in place as soon as the node has its pod
// range and address, before any pod of it can be a Service's endpoint; every 30 s
// it also puts back what someone removed by hand.
func (n *node) syncRoutes(ctx context.Context, cs kubernetes.Interface) {
	f := informers.NewSharedInformerFactory(cs, 0)
	nodes := f.Core().V1().Nodes()
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    poke,
		UpdateFunc: func(_, o any) { poke(o) },
		DeleteFunc: poke,
	}); err != nil {
		klog.Warningf("slipway: watch nodes for pod routes: %v", err)
		return
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), nodes.Informer().HasSynced) {
		return
	}
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		list, err := nodes.Lister().List(labels.Everything())
		if err == nil {
			all := make([]corev1.Node, 0, len(list))
			for _, nd := range list {
				all = append(all, *nd)
			}
			n.applyRoutes(wantedRoutes(n.opts.Config.NodeName, n.opts.Config.ClusterCIDR, all))
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

func (n *node) applyRoutes(want []podRoute) {
	keep := map[string]bool{}
	for _, r := range want {
		keep[r.dst.String()] = true
		route := &netlink.Route{Dst: r.dst, Gw: r.via, Protocol: routeProtocol}
		if r.via == nil {
			route.Type = unix.RTN_UNREACHABLE
		}
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
