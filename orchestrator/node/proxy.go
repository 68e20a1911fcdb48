package node

import (
	"context"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	proxyapp "k8s.io/kubernetes/cmd/kube-proxy/app"
)

func (n *node) proxyConfigPath() string { return filepath.Join(n.etcDir(), "kube-proxy.yaml") }

// proxyConfiguration renders the KubeProxyConfiguration: iptables mode, health and
// metrics on loopback only.
func (n *node) proxyConfiguration() ([]byte, error) {
	c := n.opts.Config
	conntrack := map[string]any{}
	if inContainer() {
		// A container's network namespace cannot change the kernel-wide conntrack
		// table size; 0 leaves it as the host set it (kind does the same).
		conntrack["maxPerCore"] = 0
	}
	return yaml.Marshal(map[string]any{
		"apiVersion":         "kubeproxy.config.k8s.io/v1alpha1",
		"kind":               "KubeProxyConfiguration",
		"clientConnection":   map[string]any{"kubeconfig": n.opts.ProxyKubeconfig},
		"clusterCIDR":        c.ClusterCIDR,
		"hostnameOverride":   c.NodeName,
		"mode":               "iptables",
		"bindAddress":        "0.0.0.0",
		"healthzBindAddress": "127.0.0.1:10256",
		"metricsBindAddress": "127.0.0.1:10249",
		"conntrack":          conntrack,
		"nodePortAddresses":  []string{"primary"},
	})
}

func (n *node) proxyArgs() ([]string, error) {
	cfg, err := n.proxyConfiguration()
	if err != nil {
		return nil, err
	}
	if err := writeFile(n.proxyConfigPath(), cfg, 0o600); err != nil {
		return nil, err
	}
	return []string{flag("config", n.proxyConfigPath())}, nil
}

// runProxy runs the upstream kube-proxy command in this process. It has no stop of
// its own: it ends with the process.
func runProxy(ctx context.Context, args []string) error {
	cmd := proxyapp.NewProxyCommand()
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// inContainer tells whether this node runs inside a container (docker, podman).
func inContainer() bool {
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}
