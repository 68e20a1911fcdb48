package quickstart_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/terraform-provider-slipway/internal/steady"
	"github.com/slipway-dev/terraform-provider-slipway/internal/testhosts"
	"github.com/slipway-dev/terraform-provider-slipway/internal/tfcli"
)

// TestE2EQuickstart is the main job as `make demo` runs it: this folder's configuration,
// applied with the real terraform CLI to three fresh test hosts, then the service asked,
// drift on two layers (a scaled deployment, a stopped node service) planned and
// repaired, the loss of an agent host survived, and everything destroyed.
func TestE2EQuickstart(t *testing.T) {
	testhosts.SkipUnlessEnabled(t)
	bundle, image := os.Getenv("SLIPWAY_BUNDLE"), os.Getenv("SLIPWAY_DEMO_IMAGE")
	if bundle == "" || image == "" {
		t.Skip("needs the node bundle and the demo image: SLIPWAY_BUNDLE and SLIPWAY_DEMO_IMAGE (make test and make e2e set them)")
	}
	work := t.TempDir()
	tf := tfcli.New(t, filepath.Join(work, "tf"))
	src, err := os.ReadFile("main.tf")
	if err != nil {
		t.Fatal(err)
	}
	tfcli.WriteFile(t, filepath.Join(tf.Dir, "main.tf"), string(src))
	kubectl := testhosts.UnpackSlipway(t, bundle, work)
	inv := testhosts.Start(t, "quick", 3)

	type host struct {
		Name    string `json:"name"`
		Address string `json:"address"`
		User    string `json:"user"`
		HostKey string `json:"host_key"`
	}
	var hosts []host
	for _, h := range inv.Hosts {
		hosts = append(hosts, host{h.Name, h.Address, "admin", h.HostPublicKey})
	}
	hostsJSON, _ := json.Marshal(hosts)
	vars := []string{"-var", "bundle=" + bundle, "-var", "web_image=" + image,
		"-var", "hosts=" + string(hostsJSON), "-var", "private_key_file=" + inv.PrivateKey}
	destroyed := false
	t.Cleanup(func() {
		if !destroyed && os.Getenv("SLIPWAY_KEEP_HOSTS") != "1" {
			if code, out := tf.Run(t, append([]string{"destroy", "-auto-approve"}, vars...)...); code != 0 {
				t.Logf("clean-up destroy: exit %d\n%s", code, out)
			}
		}
	})

	start := time.Now()
	tf.Must(t, append([]string{"apply", "-auto-approve"}, vars...)...)
	t.Logf("TIMING quickstart apply (1 server + 2 agents + workload) from bare hosts: %.1fs", time.Since(start).Seconds())

	kc := filepath.Join(work, "kubeconfig")
	tfcli.WriteFile(t, kc, tf.Must(t, "output", "-raw", "kubeconfig"))
	kube := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := exec.Command(kubectl, append([]string{"kubectl", "--kubeconfig", kc}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	onHost := func(t *testing.T, h testhosts.Host, script string) string {
		t.Helper()
		out, err := exec.Command("docker", "exec", h.Name, "sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", h.Name, script, err, out)
		}
		return string(out)
	}
	url := strings.TrimSpace(tf.Must(t, "output", "-raw", "service_url"))
	server, agents := inv.Hosts[0], inv.Hosts[1:]

	t.Run("the service answers, from pods spread over the nodes", func(t *testing.T) {
		// Apply returns once the pods are ready; kube-proxy on each node routes to them
		// a moment later.
		var b []byte
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
			resp, err := http.Get(url)
			if err == nil {
				b, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the service did not answer within a minute: %v", err)
			}
		}
		if !strings.HasPrefix(string(b), "hello from web-") || !strings.Contains(string(b), "message: hello from the quickstart") ||
			!strings.Contains(string(b), "secret: 16 bytes") {
			t.Fatalf("answer from %s:\n%s", url, b)
		}
		nodes := kube(t, "-n", "demo", "get", "pods", "-l", "app=web", "-o", `jsonpath={range .items[*]}{.spec.nodeName}{"\n"}{end}`)
		seen := map[string]bool{}
		for _, n := range strings.Fields(nodes) {
			seen[n] = true
		}
		if len(seen) != 3 {
			t.Errorf("3 web replicas should run on 3 nodes, got:\n%s", nodes)
		}
		if phase := kube(t, "-n", "demo", "get", "pvc", "data-store-0", "-o", "jsonpath={.status.phase}"); phase != "Bound" {
			t.Errorf("the stateful set's claim is %q, want Bound", phase)
		}
	})

	t.Run("plan after apply is empty", func(t *testing.T) {
		if code, out := tf.Plan(t, vars...); code != 0 {
			t.Fatalf("plan -detailed-exitcode: %d, want 0\n%s", code, out)
		}
	})

	t.Run("drift in the workload and on a host plans both, and apply repairs both", func(t *testing.T) {
		kube(t, "-n", "demo", "scale", "deployment", "web", "--replicas=1")
		onHost(t, agents[1], "systemctl stop slipway.service")
		code, out := tf.Plan(t, vars...)
		if code != 2 {
			t.Fatalf("plan -detailed-exitcode after the drift: %d, want 2\n%s", code, out)
		}
		for _, want := range []string{"slipway_deployment.web will be updated in-place",
			`slipway_node.agent["` + agents[1].Name + `"] will be updated in-place`, "0 to add, 2 to change, 0 to destroy",
			// The fields themselves: replicas back from 1 to 3, the service started again.
			"replicas", "1 -> 3", "service_state", `"inactive" -> "active"`} {
			if !strings.Contains(out, want) {
				t.Errorf("plan does not say %q:\n%s", want, out)
			}
		}
		tf.Must(t, append([]string{"apply", "-auto-approve"}, vars...)...)
		if got := kube(t, "-n", "demo", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "3" {
			t.Errorf("replicas after apply: %s", got)
		}
		if got := strings.TrimSpace(onHost(t, agents[1], "systemctl is-active slipway.service")); got != "active" {
			t.Errorf("service on %s after apply: %s", agents[1].Name, got)
		}
		if code, out := tf.Plan(t, vars...); code != 0 {
			t.Errorf("plan after the repair: %d, want 0\n%s", code, out)
		}
	})

	t.Run("the service survives the loss of an agent host", func(t *testing.T) {
		lost := agents[0]
		load := steady.Start(url, 100*time.Millisecond, 3000)
		time.Sleep(3 * time.Second)
		stopped := time.Now()
		// Freeze the whole host (every process in it stops, like a power loss); unlike
		// docker stop, it comes back later with the same address, for destroy.
		if out, err := exec.Command("docker", "pause", lost.Name).CombinedOutput(); err != nil {
			t.Fatalf("docker pause %s: %v\n%s", lost.Name, err, out)
		}
		deadline := time.Now().Add(3 * time.Minute)
		for {
			out := kube(t, "-n", "demo", "get", "pods", "-l", "app=web", "--field-selector=status.phase=Running",
				"-o", `jsonpath={range .items[*]}{.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
			ready := 0
			for _, l := range strings.Split(out, "\n") {
				if strings.HasSuffix(l, "True") && !strings.HasPrefix(l, lost.Name+" ") {
					ready++
				}
			}
			if ready >= 3 {
				break
			}
			if time.Now().After(deadline) {
				load.Stop()
				t.Fatalf("3 minutes after %s stopped, the web pods are not Running elsewhere:\n%s", lost.Name, out)
			}
			time.Sleep(2 * time.Second)
		}
		movedAfter := time.Since(stopped)
		time.Sleep(35 * time.Second)
		load.Stop()
		recovered := load.RecoveredAfter(stopped)
		t.Logf("figure: agent host lost: service at >= 99%% over every later 30 s window %.1f s after; pods Running elsewhere after %.1f s (%d requests)",
			recovered.Seconds(), movedAfter.Seconds(), load.Count())
		t.Logf("failed requests, seconds after the loss: %s", load.Failures(stopped))
		if recovered < 0 || recovered > 60*time.Second {
			t.Errorf("the service did not recover within 60 s of the host loss (recovered: %v)", recovered)
		}
		// The host comes back, so destroy can clean it.
		if out, err := exec.Command("docker", "unpause", lost.Name).CombinedOutput(); err != nil {
			t.Fatalf("docker unpause %s: %v\n%s", lost.Name, err, out)
		}
		deadline = time.Now().Add(3 * time.Minute)
		for {
			ready := kube(t, "get", "node", lost.Name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
			if ready == "True" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not come back Ready within 3 minutes", lost.Name)
			}
			time.Sleep(2 * time.Second)
		}
	})

	t.Run("destroy leaves the hosts clean", func(t *testing.T) {
		start := time.Now()
		tf.Must(t, append([]string{"destroy", "-auto-approve"}, vars...)...)
		destroyed = true
		t.Logf("TIMING terraform destroy of the quickstart: %.1fs", time.Since(start).Seconds())
		for _, h := range append([]testhosts.Host{server}, agents...) {
			if left := testhosts.Leftovers(t, h); left != "" {
				t.Errorf("%s keeps after destroy:\n%s", h.Name, left)
			}
		}
	})
}
