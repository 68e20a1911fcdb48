// Package node runs the part of a Slipway node that runs pods: containerd (a
// supervised child, with the bundle's shim, runc and CNI plugins), the pod network's
// CNI configuration, and the upstream kubelet and kube-proxy in this process. Servers
// and agents both run it; only their credentials differ.
package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// Options are what the node part needs from the server or agent that runs it.
type Options struct {
	// Config is the node's settings, defaults applied and validated.
	Config *config.Config
	NodeIP net.IP
	// BinDir holds the bundle's helpers: containerd, containerd-shim-runc-v2, runc,
	// pause and cni/.
	BinDir string
	// KubeletKubeconfig and ProxyKubeconfig are the kubelet's and kube-proxy's
	// credentials for the API.
	KubeletKubeconfig, ProxyKubeconfig string
	// ClientCAFile verifies clients of the kubelet's API (the apiserver).
	ClientCAFile string
	// KubeletCertFile and KubeletKeyFile are the kubelet's serving certificate.
	KubeletCertFile, KubeletKeyFile string
	// BootstrapKubeconfig, on a joining node, holds the join token's credential: the
	// kubelet asks the cluster for its client certificate with it and writes
	// KubeletKubeconfig; its serving certificate comes from the cluster too, and
	// both are renewed through the API.
	BootstrapKubeconfig string
}

type node struct {
	opts         Options
	sandboxImage string
	containerd   *exec.Cmd
}

// componentExit reports a component that stopped.
type componentExit struct {
	name string
	err  error
}

// Run starts the node part and blocks until ctx ends (then it returns nil) or a
// component stops (then it returns an error naming it).
func Run(ctx context.Context, opts Options) error {
	n := &node{opts: opts}
	if err := n.check(); err != nil {
		return err
	}
	pause, err := systemImage(opts.BinDir, "pause")
	if err != nil {
		return fmt.Errorf("pause image: %w", err)
	}
	n.sandboxImage = pause.Ref
	started := time.Now()
	exits := make(chan componentExit, 4)

	if err := n.startContainerd(ctx, exits); err != nil {
		return err
	}
	settings, _ := n.containerdSettings()
	if err := n.importImages(ctx, settings.Snapshotter); err != nil {
		return err
	}
	klog.Infof("slipway: images imported (%s)", since(started))

	kubeletArgs, err := n.kubeletArgs()
	if err != nil {
		return fmt.Errorf("kubelet: %w", err)
	}
	proxyArgs, err := n.proxyArgs()
	if err != nil {
		return fmt.Errorf("kube-proxy: %w", err)
	}
	go func() { exits <- componentExit{"kubelet", runKubelet(ctx, kubeletArgs)} }()
	go func() {
		// On a joining node, the credentials exist once the kubelet has them.
		if err := waitForKubeconfig(ctx, n.opts.ProxyKubeconfig); err != nil {
			return
		}
		exits <- componentExit{"kube-proxy", runProxy(kubeletProxyContext(ctx), proxyArgs)}
	}()
	go func() {
		if err := waitForKubeconfig(ctx, n.opts.KubeletKubeconfig); err != nil {
			return
		}
		if err := n.writeCNIConfig(ctx); err != nil && ctx.Err() == nil {
			exits <- componentExit{"pod network", err}
		}
	}()

	select {
	case <-ctx.Done():
		return nil
	case e := <-exits:
		if ctx.Err() != nil {
			return nil
		}
		if e.err == nil {
			return fmt.Errorf("%s stopped unexpectedly", e.name)
		}
		return fmt.Errorf("%s failed: %w", e.name, e.err)
	}
}

// waitForKubeconfig waits until the kubeconfig at path and the certificate files
// it names can be loaded (the kubelet writes them one after the other), or ctx ends.
func waitForKubeconfig(ctx context.Context, path string) error {
	for {
		if rc, err := clientcmd.BuildConfigFromFlags("", path); err == nil {
			if _, err := rest.TLSConfigFor(rc); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// kubeletProxyContext: kube-proxy has no clean stop; it ends with the process.
func kubeletProxyContext(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// check refuses to start on a host that cannot run the node part, with the reason.
func (n *node) check() error {
	var missing []string
	for _, f := range []string{"containerd", "containerd-shim-runc-v2", "runc", "pause", "coredns", "volume-helper", "cni/bridge", "cni/host-local", "cni/loopback", "cni/portmap"} {
		if _, err := os.Stat(filepath.Join(n.opts.BinDir, f)); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the bundle's helpers are missing from %s: %v (install the whole bundle, or set disable-agent: true for a control plane without pods)", n.opts.BinDir, missing)
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return errors.New("iptables is not installed: kube-proxy and the pod network need it (Debian: apt-get install iptables)")
	}
	return nil
}

// Paths of the node part, under <data-dir>/agent and /run/slipway.
func (n *node) agentDir() string             { return filepath.Join(n.opts.Config.DataDir, "agent") }
func (n *node) etcDir() string               { return filepath.Join(n.agentDir(), "etc") }
func (n *node) containerdRoot() string       { return filepath.Join(n.agentDir(), "containerd") }
func (n *node) containerdConfigPath() string { return filepath.Join(n.etcDir(), "containerd.toml") }
func (n *node) cniConfDir() string           { return filepath.Join(n.etcDir(), "cni", "net.d") }

// containerdState and ContainerdSocket are containerd's folder under /run and its
// socket (for tools: crictl, ctr).
const (
	containerdState  = "/run/slipway/containerd"
	ContainerdSocket = containerdState + "/containerd.sock"
)

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// BundleBinDir is the folder of the running slipway binary, where the bundle's
// helpers and add-on binaries sit.
func BundleBinDir() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", fmt.Errorf("find the bundle's helpers: %w", err)
	}
	return filepath.Dir(exe), nil
}
