package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/terraform-provider-slipway/internal/testhosts"
	"github.com/slipway-dev/terraform-provider-slipway/internal/tfcli"
)

// TestAccClusterOnHosts is the cluster's whole life with the real terraform CLI, the
// real bundle and three test hosts: apply a cluster and two agents (and a namespace
// through the cluster's connection), check the nodes with kubectl, see drift (a
// stopped service, a hand-edited settings file) in `plan -detailed-exitcode` and
// apply repair it, change one label, destroy, and find the hosts clean. One cluster
// serves every step: each costs about 1.5 GB and minutes of CPU.
//
// The provider runs as its own binary through dev_overrides, as a user runs it, so
// the exit codes are the CLI's own.
func TestAccClusterOnHosts(t *testing.T) {
	bundle := hostAccBundle(t)
	image := os.Getenv("SLIPWAY_DEMO_IMAGE")
	if image == "" {
		t.Skip("needs the demo image: set SLIPWAY_DEMO_IMAGE (make test sets it)")
	}
	work := t.TempDir()
	w := tfcli.New(t, filepath.Join(work, "tf"))
	kubectl := testhosts.UnpackSlipway(t, bundle, work)
	inv := testhosts.Start(t, "tfacc", 4)
	tfcli.WriteFile(t, filepath.Join(w.Dir, "main.tf"), hostsConfig(inv, bundle, image))
	tf, mustTF, planCode := w.Run, w.Must, w.Plan
	hostSh := func(t *testing.T, i int, script string) string {
		t.Helper()
		out, err := exec.Command("docker", "exec", inv.Hosts[i].Name, "sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", inv.Hosts[i].Name, script, err, out)
		}
		return string(out)
	}
	destroyed := false
	t.Cleanup(func() {
		if !destroyed && os.Getenv("SLIPWAY_KEEP_HOSTS") != "1" {
			if code, out := tf(t, "destroy", "-auto-approve"); code != 0 {
				t.Logf("clean-up destroy: exit %d\n%s", code, out)
			}
		}
	})

	start := time.Now()
	out := mustTF(t, "apply", "-auto-approve")
	t.Logf("TIMING terraform apply of 1 server + 2 agents + 1 namespace from bare hosts: %.1fs", time.Since(start).Seconds())
	if !strings.Contains(out, "5 added, 0 changed, 0 destroyed") {
		t.Errorf("apply summary:\n%s", out)
	}
	kc := filepath.Join(work, "kubeconfig")
	tfcli.WriteFile(t, kc, mustTF(t, "output", "-raw", "kubeconfig"))
	kube := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := exec.Command(kubectl, append([]string{"kubectl", "--kubeconfig", kc}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	readyNodes := func(t *testing.T) string {
		t.Helper()
		return kube(t, "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{" "}{end}`)
	}
	wantReady := strings.Join([]string{inv.Hosts[0].Name + "=True", inv.Hosts[1].Name + "=True", inv.Hosts[2].Name + "=True"}, " ")

	t.Run("kubectl with the output kubeconfig sees 3 Ready nodes", func(t *testing.T) {
		if got := strings.TrimSpace(readyNodes(t)); got != wantReady {
			t.Fatalf("nodes: %q, want %q", got, wantReady)
		}
		if got := kube(t, "get", "namespace", "tfacc", "-o", "jsonpath={.metadata.name}"); got != "tfacc" {
			t.Errorf("namespace from the cluster's connection: %q", got)
		}
	})
	t.Run("the image from images runs on every node, spread as the scheduler policy says", func(t *testing.T) {
		// scheduler = "spread": six replicas of 100m land on all three nodes, at most
		// three on one; the image came only through the cluster's images.
		out := kube(t, "-n", "tfacc", "get", "pods", "-l", "app=spread", "-o", `jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{"\n"}{end}`)
		per := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(l)
			if len(f) != 2 || f[1] != "Running" {
				t.Fatalf("pods of the spread deployment:\n%s", out)
			}
			per[f[0]]++
		}
		for _, h := range inv.Hosts[:3] {
			if per[h.Name] == 0 || per[h.Name] > 3 {
				t.Fatalf("spread placed %v: want every node used, none with more than 3", per)
			}
		}
		t.Logf("spread placed 6 pods of 100m: %v", per)
	})
	t.Run("plan after apply is empty", func(t *testing.T) {
		if code, out := planCode(t); code != 0 {
			t.Fatalf("plan -detailed-exitcode: %d, want 0\n%s", code, out)
		}
	})
	t.Run("a stopped service plans an update of that node, and apply starts it", func(t *testing.T) {
		hostSh(t, 2, "systemctl stop slipway.service")
		code, out := planCode(t)
		if code != 2 {
			t.Fatalf("plan -detailed-exitcode after stopping the service: %d, want 2\n%s", code, out)
		}
		if !strings.Contains(out, `slipway_node.agent["b"] will be updated in-place`) || !strings.Contains(out, `service_state`) ||
			!strings.Contains(out, "0 to add, 1 to change, 0 to destroy") {
			t.Errorf("the plan should update only agent b's service state:\n%s", out)
		}
		start := time.Now()
		mustTF(t, "apply", "-auto-approve")
		t.Logf("TIMING repair a stopped agent: %.1fs", time.Since(start).Seconds())
		if got := strings.TrimSpace(hostSh(t, 2, "systemctl is-active slipway.service")); got != "active" {
			t.Errorf("service after apply: %s", got)
		}
		if code, out := planCode(t); code != 0 {
			t.Errorf("plan after the repair: %d\n%s", code, out)
		}
	})
	t.Run("a hand-edited settings file plans an update, and apply rewrites it", func(t *testing.T) {
		hostSh(t, 1, "echo '# edited by hand' >> /etc/slipway/config.yaml")
		code, out := planCode(t)
		if code != 2 {
			t.Fatalf("plan -detailed-exitcode after editing the settings: %d, want 2\n%s", code, out)
		}
		if !strings.Contains(out, `slipway_node.agent["a"] will be updated in-place`) || !strings.Contains(out, "config_checksum") ||
			!strings.Contains(out, "0 to add, 1 to change, 0 to destroy") {
			t.Errorf("the plan should update only agent a's settings:\n%s", out)
		}
		mustTF(t, "apply", "-auto-approve")
		if got := hostSh(t, 1, "cat /etc/slipway/config.yaml"); strings.Contains(got, "edited") {
			t.Errorf("the settings file keeps the hand edit:\n%s", got)
		}
		if code, out := planCode(t); code != 0 {
			t.Errorf("plan after the repair: %d\n%s", code, out)
		}
	})
	label := `-var=agent_labels={"tier"="web"}`
	t.Run("changing a label changes only that node", func(t *testing.T) {
		code, out := planCode(t, label)
		if code != 2 || !strings.Contains(out, `slipway_node.agent["a"] will be updated in-place`) ||
			!strings.Contains(out, "0 to add, 1 to change, 0 to destroy") {
			t.Fatalf("plan of a label change: exit %d\n%s", code, out)
		}
		mustTF(t, "apply", "-auto-approve", label)
		if got := kube(t, "get", "node", inv.Hosts[1].Name, "-o", "jsonpath={.metadata.labels.tier}"); got != "web" {
			t.Errorf("label tier on %s: %q, want web", inv.Hosts[1].Name, got)
		}
		if code, out := planCode(t, label); code != 0 {
			t.Errorf("plan after the label change: %d\n%s", code, out)
		}
		if got := strings.TrimSpace(readyNodes(t)); got != wantReady {
			t.Errorf("nodes: %q, want %q", got, wantReady)
		}
	})
	t.Run("removing an agent removes only that node, and cleans its host", func(t *testing.T) {
		args := []string{label, `-var=agent_keys=["a"]`}
		code, out := planCode(t, args...)
		if code != 2 || !strings.Contains(out, `slipway_node.agent["b"] will be destroyed`) ||
			!strings.Contains(out, "0 to add, 0 to change, 1 to destroy") {
			t.Fatalf("plan of removing agent b: exit %d\n%s", code, out)
		}
		mustTF(t, append([]string{"apply", "-auto-approve"}, args...)...)
		want := inv.Hosts[0].Name + "=True " + inv.Hosts[1].Name + "=True"
		if got := strings.TrimSpace(readyNodes(t)); got != want {
			t.Errorf("nodes after removing b: %q, want %q", got, want)
		}
		if left := testhosts.Leftovers(t, inv.Hosts[2]); left != "" {
			t.Errorf("%s keeps after its node was removed:\n%s", inv.Hosts[2].Name, left)
		}
	})
	t.Run("adding an agent adds only that node", func(t *testing.T) {
		code, out := planCode(t, label)
		if code != 2 || !strings.Contains(out, `slipway_node.agent["b"] will be created`) ||
			!strings.Contains(out, "1 to add, 0 to change, 0 to destroy") {
			t.Fatalf("plan of adding agent b: exit %d\n%s", code, out)
		}
		mustTF(t, "apply", "-auto-approve", label)
		if got := strings.TrimSpace(readyNodes(t)); got != wantReady {
			t.Errorf("nodes: %q, want %q", got, wantReady)
		}
	})
	t.Run("an unreachable agent fails alone, and the next apply retries it", func(t *testing.T) {
		// The host stops answering SSH (connections refused): the bootstrapper retries
		// network errors for a minute, then gives up on that node alone.
		hostSh(t, 3, "systemctl stop ssh.socket ssh.service 2>/dev/null; systemctl stop ssh")
		args := []string{label, `-var=agent_keys=["a","b","c"]`}
		code, out := tf(t, append([]string{"apply", "-auto-approve"}, args...)...)
		if code == 0 || !strings.Contains(out, inv.Hosts[3].Address) {
			t.Fatalf("apply with an unreachable agent: exit %d, want an error naming %s\n%s", code, inv.Hosts[3].Address, out)
		}
		if got := strings.TrimSpace(readyNodes(t)); got != wantReady {
			t.Errorf("the other nodes after the failed apply: %q, want %q", got, wantReady)
		}
		code, out = planCode(t, args...)
		if code != 2 || !strings.Contains(out, `slipway_node.agent["c"]`) || !strings.Contains(out, "1 to add, 0 to change") {
			t.Fatalf("plan after the failure should retry only agent c: exit %d\n%s", code, out)
		}
		hostSh(t, 3, "systemctl start ssh")
		mustTF(t, append([]string{"apply", "-auto-approve"}, args...)...)
		want := wantReady + " " + inv.Hosts[3].Name + "=True"
		if got := strings.TrimSpace(readyNodes(t)); got != want {
			t.Errorf("nodes after the retry: %q, want %q", got, want)
		}
		if code, out := planCode(t, args...); code != 0 {
			t.Errorf("plan after the retry: %d\n%s", code, out)
		}
	})
	t.Run("an imported node, then an imported cluster, plan no change", func(t *testing.T) {
		args := []string{label, `-var=agent_keys=["a","b","c"]`}
		since := func() string {
			return hostSh(t, 1, "systemctl show -p ActiveEnterTimestampMonotonic --value slipway.service")
		}
		before := since()
		// A node by its cluster (the first server's SSH address) and its name, with
		// its own SSH user.
		name := strings.TrimSpace(hostSh(t, 1, "cat /proc/sys/kernel/hostname"))
		mustTF(t, "state", "rm", `slipway_node.agent["a"]`)
		mustTF(t, append([]string{"import"}, append(args, `slipway_node.agent["a"]`, inv.Hosts[0].Address+"/admin@"+name)...)...)
		if code, out := planCode(t, args...); code != 0 {
			t.Errorf("plan after importing agent a: exit %d, want 0\n%s", code, out)
		}
		// The cluster by its first server.
		mustTF(t, "state", "rm", "slipway_cluster.main")
		mustTF(t, append([]string{"import"}, append(args, "slipway_cluster.main", inv.Hosts[0].Address)...)...)
		if code, out := planCode(t, args...); code != 0 {
			t.Errorf("plan after importing the cluster: exit %d, want 0\n%s", code, out)
		}
		// An import by the node host's own address cannot know the join information:
		// the next apply records it and changes nothing on the host.
		mustTF(t, "state", "rm", `slipway_node.agent["a"]`)
		mustTF(t, append([]string{"import"}, append(args, `slipway_node.agent["a"]`, "admin@"+inv.Hosts[1].Address)...)...)
		mustTF(t, append([]string{"apply", "-auto-approve"}, args...)...)
		if code, out := planCode(t, args...); code != 0 {
			t.Errorf("plan after the apply of a node imported by address: %d\n%s", code, out)
		}
		if after := since(); after != before {
			t.Errorf("import and apply restarted the service on %s (%s -> %s)", inv.Hosts[1].Name, before, after)
		}
	})
	t.Run("destroy leaves the hosts clean", func(t *testing.T) {
		start := time.Now()
		mustTF(t, "destroy", "-auto-approve")
		destroyed = true
		t.Logf("TIMING terraform destroy of the cluster: %.1fs", time.Since(start).Seconds())
		for i := range inv.Hosts {
			if left := testhosts.Leftovers(t, inv.Hosts[i]); left != "" {
				t.Errorf("%s keeps after destroy:\n%s", inv.Hosts[i].Name, left)
			}
		}
	})
}

// hostAccBundle skips t unless acceptance tests on test hosts are enabled, and gives
// the real node bundle they install.
func hostAccBundle(t *testing.T) string {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test on test hosts: set TF_ACC=1 and SLIPWAY_E2E=1 (it runs the terraform CLI)")
	}
	testhosts.SkipUnlessEnabled(t)
	bundle := os.Getenv("SLIPWAY_BUNDLE")
	if bundle == "" {
		t.Skip("needs the real node bundle: set SLIPWAY_BUNDLE (make test sets it)")
	}
	return bundle
}

// TestAccMinimalConfigOnHosts applies a cluster and a node given only what they
// require (the hosts; bundles and the key from the provider; host keys trusted on
// first use), then expects an empty plan, then destroys them.
func TestAccMinimalConfigOnHosts(t *testing.T) {
	bundle := hostAccBundle(t)
	w := tfcli.New(t, filepath.Join(t.TempDir(), "tf"))
	inv := testhosts.Start(t, "tfmin", 2)
	tfcli.WriteFile(t, filepath.Join(w.Dir, "main.tf"), fmt.Sprintf(`
terraform {
  required_providers {
    slipway = { source = "slipway-dev/slipway" }
  }
}

provider "slipway" {
  bundles              = { amd64 = %q }
  ssh_private_key_file = %q
}

resource "slipway_cluster" "main" {
  ssh = { host = %q }
}

resource "slipway_node" "agent" {
  cluster = slipway_cluster.main.join
  ssh     = { host = %q }
}
`, bundle, inv.PrivateKey, inv.Hosts[0].Address, inv.Hosts[1].Address))
	destroyed := false
	t.Cleanup(func() {
		if !destroyed && os.Getenv("SLIPWAY_KEEP_HOSTS") != "1" {
			w.Run(t, "destroy", "-auto-approve")
		}
	})
	if out := w.Must(t, "apply", "-auto-approve"); !strings.Contains(out, "2 added, 0 changed, 0 destroyed") {
		t.Errorf("apply summary:\n%s", out)
	}
	if code, out := w.Plan(t); code != 0 {
		t.Errorf("plan right after apply: exit %d, want 0\n%s", code, out)
	}
	w.Must(t, "destroy", "-auto-approve")
	destroyed = true
	for _, h := range inv.Hosts {
		if left := testhosts.Leftovers(t, h); left != "" {
			t.Errorf("%s keeps after destroy:\n%s", h.Name, left)
		}
	}
}

// hostsConfig is the configuration under test: the cluster on the first host
// (root, pinned host key), agents on the others as sudo users, their host keys
// trusted on first use.
func hostsConfig(inv testhosts.Inventory, bundle, image string) string {
	h := inv.Hosts
	var pw string
	for _, u := range h[2].Users {
		if u.Name == "sudopw" {
			pw = u.SudoPassword
		}
	}
	return fmt.Sprintf(`
terraform {
  required_providers {
    slipway = { source = "slipway-dev/slipway" }
  }
}

provider "slipway" {
  bundles              = { amd64 = %q }
  ssh_private_key_file = %q
}

variable "agent_labels" {
  type    = map(string)
  default = null
}

resource "slipway_cluster" "main" {
  ssh = {
    host     = %q
    host_key = %q
  }
  scheduler = "spread"
  images    = [%q]
}

resource "slipway_deployment" "spread" {
  cluster  = slipway_cluster.main.cluster_connection
  metadata = { name = "spread", namespace = slipway_namespace.demo.metadata.name }
  spec = {
    replicas = 6
    selector = { match_labels = { app = "spread" } }
    template = {
      metadata = { labels = { app = "spread" } }
      spec = {
        containers = [{
          name              = "web"
          image             = "slipway.local/demo-web:1"
          image_pull_policy = "Never"
          resources         = { requests = { cpu = "100m" } }
        }]
      }
    }
  }
  depends_on = [slipway_node.agent]
}

variable "agent_keys" {
  type    = set(string)
  default = ["a", "b"]
}

locals {
  all_agents = {
    a = { host = %q, user = "admin", sudo_password = null }
    b = { host = %q, user = "sudopw", sudo_password = %q }
    c = { host = %q, user = "admin", sudo_password = null }
  }
  agents = { for k, v in local.all_agents : k => v if contains(var.agent_keys, k) }
}

resource "slipway_node" "agent" {
  for_each = local.agents
  cluster  = slipway_cluster.main.join
  ssh = {
    host          = each.value.host
    user          = each.value.user
    sudo_password = each.value.sudo_password
  }
  labels = each.key == "a" ? var.agent_labels : null
}

resource "slipway_namespace" "demo" {
  cluster  = slipway_cluster.main.cluster_connection
  metadata = { name = "tfacc" }
}

output "kubeconfig" {
  value     = slipway_cluster.main.kubeconfig
  sensitive = true
}
`, bundle, inv.PrivateKey, h[0].Address, h[0].HostPublicKey, image, h[1].Address, h[2].Address, pw, h[3].Address)
}
