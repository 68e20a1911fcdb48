package node

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

func TestCgroupRootFrom(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"host v1", "12:pids:/init.scope\n1:name=systemd:/init.scope\n0::/init.scope\n", "/"},
		{"host v2", "0::/init.scope\n", "/"},
		{"container sharing the host's tree (v1)", "9:name=systemd:/docker/abc/init.scope\n0::/docker/abc/init.scope\n", "/docker/abc"},
		{"container with its own namespace (v2)", "0::/\n", "/"},
		{"unreadable", "", "/"},
	} {
		if got := cgroupRootFrom(tc.in); got != tc.want {
			t.Errorf("%s: cgroupRootFrom = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCNIConfig(t *testing.T) {
	b, err := cniConfig("10.42.3.0/24", "10.42.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		CNIVersion string `json:"cniVersion"`
		Plugins    []struct {
			Type string `json:"type"`
			IPAM struct {
				Ranges [][]struct{ Subnet string } `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Plugins) != 2 || c.Plugins[0].Type != "bridge" || c.Plugins[1].Type != "portmap" {
		t.Fatalf("plugins = %+v, want bridge then portmap", c.Plugins)
	}
	if got := c.Plugins[0].IPAM.Ranges[0][0].Subnet; got != "10.42.3.0/24" {
		t.Fatalf("pod range = %q, want the node's 10.42.3.0/24", got)
	}
}

func TestKubeletConfiguration(t *testing.T) {
	c := &config.Config{Role: config.RoleServer, NodeName: "n1", DataDir: t.TempDir()}
	c.Defaults()
	n := &node{opts: Options{Config: c, ClientCAFile: "/ca.crt", KubeletCertFile: "/k.crt", KubeletKeyFile: "/k.key"}}
	b, err := n.kubeletConfiguration()
	if err != nil {
		t.Fatal(err)
	}
	var kc map[string]any
	if err := yaml.Unmarshal(b, &kc); err != nil {
		t.Fatal(err)
	}
	// No unauthenticated access to the kubelet's API.
	if kc["readOnlyPort"] != float64(0) {
		t.Errorf("readOnlyPort = %v, want 0", kc["readOnlyPort"])
	}
	auth := kc["authentication"].(map[string]any)
	if auth["anonymous"].(map[string]any)["enabled"] != false {
		t.Errorf("anonymous authentication is on")
	}
	if kc["authorization"].(map[string]any)["mode"] != "Webhook" {
		t.Errorf("authorization = %v, want Webhook", kc["authorization"])
	}
	if dns := kc["clusterDNS"].([]any); len(dns) != 1 || dns[0] != "10.43.0.10" {
		t.Errorf("clusterDNS = %v, want the default 10.43.0.10", dns)
	}
	if kc["containerRuntimeEndpoint"] != "unix://"+ContainerdSocket {
		t.Errorf("runtime endpoint = %v", kc["containerRuntimeEndpoint"])
	}
}

func TestContainerdConfigRenders(t *testing.T) {
	var b bytes.Buffer
	err := containerdConfig.Execute(&b, containerdSettings{
		Root: "/var/lib/slipway/agent/containerd", State: containerdState, Socket: ContainerdSocket,
		Snapshotter: "overlayfs", SandboxImage: "slipway.local/pause:x", RestrictOOMScoreAdj: true,
		CNIBinDir: "/opt/bin/cni", CNIConfDir: "/etc/cni", Runc: "/opt/bin/runc",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`sandbox = "slipway.local/pause:x"`, `restrict_oom_score_adj = true`, `BinaryName = "/opt/bin/runc"`, `bin_dirs = ["/opt/bin/cni"]`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("containerd config lacks %s:\n%s", want, b.String())
		}
	}
}
