package config

import (
	"strings"
	"testing"
)

// TestCase_SameSettingsInstallAndUpgrade (case H6): settings with URL punctuation,
// lists and taints render to identical bytes however they were written, and survive
// a round trip through the file unchanged.
func TestCase_SameSettingsInstallAndUpgrade(t *testing.T) {
	install := Config{
		Role:              RoleServer,
		DatastoreEndpoint: "https://user:p%40ss@etcd-1:2379/?ca=x&y=1,https://etcd-2:2379",
		Disable:           []string{"servicelb", "metrics-server"},
		NodeTaints:        []string{"dedicated=gpu:NoSchedule", "role:NoExecute"},
		NodeLabels:        []string{"zone=a", "tier=web"},
	}
	upgrade := install
	upgrade.Disable = []string{"metrics-server", "servicelb"}
	upgrade.NodeTaints = []string{"role:NoExecute", "dedicated=gpu:NoSchedule"}
	upgrade.NodeLabels = []string{"tier=web", "zone=a"}

	a, err := install.Render()
	if err != nil {
		t.Fatal(err)
	}
	b, err := upgrade.Render()
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatalf("the same settings rendered differently:\n%s\n---\n%s", a, b)
	}
	parsed, err := Parse(a)
	if err != nil {
		t.Fatalf("rendered settings do not parse: %v\n%s", err, a)
	}
	again, _ := parsed.Render()
	if string(again) != string(a) {
		t.Fatalf("round trip changed the settings:\n%s\n---\n%s", a, again)
	}
	if parsed.DatastoreEndpoint != install.DatastoreEndpoint {
		t.Fatalf("datastore endpoint changed: %q", parsed.DatastoreEndpoint)
	}

	changed := install
	changed.NodeLabels = []string{"zone=b", "tier=web"}
	c, _ := changed.Render()
	if Checksum(c) == Checksum(a) {
		t.Fatal("a changed setting must change the checksum")
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte("role: server\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClusterCIDR != "10.42.0.0/16" || c.ServiceCIDR != "10.43.0.0/16" || c.ClusterDNS != "10.43.0.10" ||
		c.ClusterDomain != "cluster.local" || c.HTTPSPort != 6443 || c.Scheduler != SchedulerBinpack ||
		c.DataDir != "/var/lib/slipway" {
		t.Fatalf("defaults differ from the documented ones: %+v", c)
	}
}

func TestBadSettingsSayWhich(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":        {"role: server\nclustr-cidr: 10.0.0.0/8\n", "clustr-cidr"},
		"no role":            {"node-name: a\n", "role: missing"},
		"bad role":           {"role: master\n", `"master" is not a role`},
		"uppercase name":     {"role: server\nnode-name: Node_1\n", "node-name"},
		"bad cidr":           {"role: server\ncluster-cidr: 10.42.0.0/33\n", "cluster-cidr"},
		"overlap":            {"role: server\ncluster-cidr: 10.0.0.0/8\n", "overlaps"},
		"dns outside":        {"role: server\ncluster-dns: 10.42.0.10\n", "outside service-cidr"},
		"agent without join": {"role: agent\n", "needs the URL"},
		"bad taint":          {"role: server\nnode-taint: [\"a=b:Sometimes\"]\n", "effect"},
		"bad component":      {"role: server\ndisable: [traefik]\n", "not a component"},
		"bad duration":       {"role: server\nnode-monitor-grace-period: soon\n", "duration"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %q, got %v", tc.want, err)
			}
		})
	}
}
