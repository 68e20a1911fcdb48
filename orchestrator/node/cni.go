package node

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// cniBridge is the Linux bridge pods on this node attach to.
const cniBridge = "slipway0"

// cniConfig renders the pod network's CNI configuration for this node's pod range:
// a bridge with the node as gateway, addresses from the range (host-local), masquerade
// for traffic leaving the cluster range, and portmap for hostPort.
func cniConfig(podCIDR, clusterCIDR string) ([]byte, error) {
	return json.MarshalIndent(map[string]any{
		"cniVersion": "1.0.0",
		"name":       "slipway",
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      cniBridge,
				"isGateway":   true,
				"ipMasq":      true,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": []any{[]any{map[string]any{"subnet": podCIDR}}},
					"routes": []any{map[string]any{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}, "snat": true},
		},
	}, "", "  ")
}

// writeCNIConfig waits until the controller-manager has given this node its pod
// range, then writes the CNI configuration; containerd picks it up, and the node
// turns Ready. It returns when written, or with the reason it cannot be.
func (n *node) writeCNIConfig(ctx context.Context) error {
	rc, err := clientcmd.BuildConfigFromFlags("", n.opts.KubeletKubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	name := n.opts.Config.NodeName
	logged := false
	for {
		nd, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil && nd.Spec.PodCIDR != "":
			b, err := cniConfig(nd.Spec.PodCIDR, n.opts.Config.ClusterCIDR)
			if err != nil {
				return err
			}
			if err := writeFile(filepath.Join(n.cniConfDir(), "10-slipway.conflist"), b, 0o644); err != nil {
				return fmt.Errorf("write CNI configuration: %w", err)
			}
			klog.Infof("slipway: pod network configured for %s on %s", nd.Spec.PodCIDR, cniBridge)
			go n.syncRoutes(ctx, cs)
			return nil
		case err == nil, apierrors.IsNotFound(err):
			if !logged {
				klog.Infof("slipway: waiting for node %s to register and get its pod range", name)
				logged = true
			}
		default:
			klog.V(2).Infof("slipway: reading node %s: %v", name, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
