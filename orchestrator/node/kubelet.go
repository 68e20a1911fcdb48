package node

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	kubeletapp "k8s.io/kubernetes/cmd/kubelet/app"
)

// flag renders one --name=value argument.
func flag(name string, value any) string { return fmt.Sprintf("--%s=%v", name, value) }

func (n *node) kubeletConfigPath() string { return filepath.Join(n.etcDir(), "kubelet.yaml") }

// kubeletConfiguration renders the KubeletConfiguration: authenticated and
// authorized API only (no read-only port, no anonymous calls), the node's cluster
// DNS, this node's containerd, and the cgroup root of this node (see cgroupRoot).
func (n *node) kubeletConfiguration() ([]byte, error) {
	c := n.opts.Config
	resolv, err := n.resolvConf()
	if err != nil {
		return nil, err
	}
	root, err := cgroupRoot()
	if err != nil {
		return nil, err
	}
	if err := ensureCgroup(root); err != nil {
		return nil, err
	}
	kc := map[string]any{
		"apiVersion": "kubelet.config.k8s.io/v1beta1",
		"kind":       "KubeletConfiguration",
		"address":    "0.0.0.0",
		"port":       10250,
		// 0 turns the unauthenticated read-only API off.
		"readOnlyPort":       0,
		"healthzBindAddress": "127.0.0.1",
		"healthzPort":        10248,
		"authentication": map[string]any{
			"anonymous": map[string]any{"enabled": false},
			"webhook":   map[string]any{"enabled": true},
			"x509":      map[string]any{"clientCAFile": n.opts.ClientCAFile},
		},
		"authorization":            map[string]any{"mode": "Webhook"},
		"tlsCertFile":              n.opts.KubeletCertFile,
		"tlsPrivateKeyFile":        n.opts.KubeletKeyFile,
		"clusterDNS":               []string{c.ClusterDNS},
		"clusterDomain":            c.ClusterDomain,
		"resolvConf":               resolv,
		"containerRuntimeEndpoint": "unix://" + ContainerdSocket,
		"cgroupDriver":             "cgroupfs",
		"cgroupRoot":               root,
		// cgroup v1 hosts still run Kubernetes 1.37 when asked to (machine.md).
		"failCgroupV1":        false,
		"failSwapOn":          false,
		"serializeImagePulls": false,
		"staticPodPath":       filepath.Join(n.agentDir(), "pod-manifests"),
		// Images come from the bundle and <data-dir>/images: never delete them for space
		// before the disk is really short.
		"imageGCHighThresholdPercent": 95,
		"imageGCLowThresholdPercent":  90,
		"evictionHard": map[string]string{
			"memory.available":  "100Mi",
			"nodefs.available":  "5%",
			"imagefs.available": "5%",
		},
	}
	if n.opts.BootstrapKubeconfig != "" {
		// Certificates from the cluster, renewed through the API.
		delete(kc, "tlsCertFile")
		delete(kc, "tlsPrivateKeyFile")
		kc["rotateCertificates"] = true
		kc["serverTLSBootstrap"] = true
	}
	return yaml.Marshal(kc)
}

// kubeletArgs writes the kubelet's configuration and returns its arguments; the
// settings a node sets about itself (name, address, labels, taints) are flags.
func (n *node) kubeletArgs() ([]string, error) {
	cfg, err := n.kubeletConfiguration()
	if err != nil {
		return nil, err
	}
	if err := writeFile(n.kubeletConfigPath(), cfg, 0o600); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(n.agentDir(), "pod-manifests"), 0o700); err != nil {
		return nil, err
	}
	c := n.opts.Config
	args := []string{
		flag("config", n.kubeletConfigPath()),
		flag("kubeconfig", n.opts.KubeletKubeconfig),
		flag("cert-dir", filepath.Join(n.agentDir(), "kubelet-pki")),
		flag("hostname-override", c.NodeName),
		flag("node-ip", n.opts.NodeIP),
	}
	if n.opts.BootstrapKubeconfig != "" {
		args = append(args, flag("bootstrap-kubeconfig", n.opts.BootstrapKubeconfig))
	}
	if len(c.NodeLabels) > 0 {
		args = append(args, flag("node-labels", strings.Join(c.NodeLabels, ",")))
	}
	if len(c.NodeTaints) > 0 {
		args = append(args, flag("register-with-taints", strings.Join(c.NodeTaints, ",")))
	}
	return args, nil
}

// runKubelet runs the upstream kubelet command in this process until ctx ends.
func runKubelet(ctx context.Context, args []string) error {
	cmd := kubeletapp.NewKubeletCommand(ctx)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// resolvConf is the file pods with dnsPolicy Default get, and that cluster DNS
// forwards to. A nameserver on loopback (systemd-resolved's stub, docker's
// embedded DNS) means nothing inside a pod, so the host's file is used only when it
// has none; otherwise systemd-resolved's upstream list, or a copy without them.
func (n *node) resolvConf() (string, error) {
	const hostFile, resolvedFile = "/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"
	for _, f := range []string{hostFile, resolvedFile} {
		if ok, err := noLoopbackNameserver(f); err == nil && ok {
			return f, nil
		}
	}
	b, err := os.ReadFile(hostFile)
	if err != nil {
		b = nil
	}
	var keep []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if ip := net.ParseIP(fields[1]); ip != nil && ip.IsLoopback() {
				continue
			}
		}
		keep = append(keep, sc.Text())
	}
	path := filepath.Join(n.etcDir(), "resolv.conf")
	return path, writeFile(path, []byte(strings.Join(keep, "\n")+"\n"), 0o644)
}

func noLoopbackNameserver(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	any := false
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "nameserver" {
			ip := net.ParseIP(fields[1])
			if ip == nil || ip.IsLoopback() {
				return false, nil
			}
			any = true
		}
	}
	return any, nil
}

// cgroupRoot is the cgroup under which this node's kubelet puts its pods. On a host
// of its own that is the root. A node in a container that shares the host's cgroup
// tree (machine.md) uses the container's own cgroup instead: with the same root,
// every node on the kernel would create the same /kubepods and clean up the other
// nodes' pods as strays.
func cgroupRoot() (string, error) {
	b, err := os.ReadFile("/proc/1/cgroup")
	if err != nil {
		return "/", nil
	}
	return cgroupRootFrom(string(b)), nil
}

// ensureCgroup makes cgroup path exist in every cgroup v1 hierarchy: kubelet wants
// its root in all of them, and a container engine creates a container's cgroup only
// in those it manages (none in hugetlb, for example). On cgroup v2 there is one
// hierarchy, and the path, PID 1's own, exists.
func ensureCgroup(path string) error {
	if path == "/" {
		return nil
	}
	mounts, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil
	}
	for _, m := range mounts {
		dir := filepath.Join("/sys/fs/cgroup", m.Name())
		if m.Name() == "unified" || !m.IsDir() {
			continue
		}
		// Only real hierarchies: each has a cgroup.procs at its top.
		if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, path), 0o755); err != nil {
			return fmt.Errorf("create the node's cgroup %s in %s: %w", path, dir, err)
		}
	}
	return nil
}

// cgroupRootFrom takes PID 1's cgroup (the init system's, so the whole host or the
// whole container) from /proc/1/cgroup: the v2 entry or the v1 "name=systemd" one,
// without systemd's own init.scope leaf.
func cgroupRootFrom(procCgroup string) string {
	var v1, v2 string
	for _, line := range strings.Split(procCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case parts[1] == "name=systemd":
			v1 = parts[2]
		}
	}
	p := v1
	if p == "" {
		p = v2
	}
	p = strings.TrimSuffix(p, "/init.scope")
	if p == "" {
		return "/"
	}
	return p
}
