package orchestrator_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/terraform-provider-slipway/internal/steady"
	"github.com/slipway-dev/terraform-provider-slipway/internal/testhosts"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/bundle"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/ociimage"
)

// e2eCluster is one server and two agents on test hosts, started by hand from the
// bundle as a person would: unpack it, put image archives into <data-dir>/images,
// run `slipway server`, then `slipway agent` with the server's join token.
type e2eCluster struct {
	t          *testing.T
	inv        testhosts.Inventory
	kubectl    string // the bundle's slipway, for `slipway kubectl`
	kubeconfig string // admin kubeconfig on this machine, pointing at the server
	server     testhosts.Host
	agents     []testhosts.Host
}

const bundleDir = "/opt/slipway-e2e"

// docker runs a docker command and returns its output, failing the test on error.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// onHost runs a shell command on a test host as root.
func onHost(t *testing.T, h testhosts.Host, cmd string) string {
	t.Helper()
	return docker(t, "exec", h.Name, "sh", "-c", cmd)
}

// (k *e2eCluster) k runs `slipway kubectl` with the admin kubeconfig.
func (c *e2eCluster) k(args ...string) (string, error) {
	cmd := exec.Command(c.kubectl, append([]string{"kubectl", "--kubeconfig", c.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (c *e2eCluster) mustK(args ...string) string {
	c.t.Helper()
	out, err := c.k(args...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *e2eCluster) apply(manifest string) {
	c.t.Helper()
	f := filepath.Join(c.t.TempDir(), "m.yaml")
	if err := os.WriteFile(f, []byte(manifest), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.mustK("apply", "-f", f)
}

// eventually retries check until it returns "" or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = check(); last == "" {
			return
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("%s: not within %s: %s", what, timeout, last)
}

// webAnswer asks url for the demo web app's answer: "" when it came, else what went wrong.
func webAnswer(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(b), "hello from web-") {
		return "answer: " + string(b)
	}
	return ""
}

// unpack extracts the bundle's files into dir.
func unpack(t *testing.T, b, dir string) {
	t.Helper()
	if err := bundle.Unpack(b, dir); err != nil {
		t.Fatal(err)
	}
}

// demoImages builds the demo web app and packs it as slipway.local/demo-web:1 and
// :2 (the same program; the tag tells rollouts apart).
func demoImages(t *testing.T, dir string) []string {
	t.Helper()
	bin := filepath.Join(dir, "web")
	build := exec.Command("go", "build", "-o", bin, "./examples/quickstart/app")
	build.Dir = testhosts.RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the demo app: %v\n%s", err, out)
	}
	var files []string
	for _, tag := range []string{"1", "2"} {
		img, err := ociimage.FromBinary(ociimage.Spec{Repo: "slipway.local/demo-web", Tag: tag, Path: bin, Name: "web", Arch: runtime.GOARCH, User: "65532:65532"})
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "demo-web-"+tag+".tar")
		if err := os.WriteFile(f, img.Archive, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

func startCluster(t *testing.T) *e2eCluster {
	testhosts.SkipUnlessEnabled(t)
	bundlePath := os.Getenv("SLIPWAY_BUNDLE")
	if bundlePath == "" {
		t.Skip("SLIPWAY_BUNDLE is not set: make test and make e2e build the bundle and set it")
	}
	local := t.TempDir()
	unpack(t, bundlePath, local)
	images := demoImages(t, local)
	inv := testhosts.Start(t, "orch-e2e", 3)
	c := &e2eCluster{t: t, inv: inv, kubectl: filepath.Join(local, "bin", "slipway"), server: inv.Hosts[0], agents: inv.Hosts[1:]}

	for _, h := range inv.Hosts {
		docker(t, "cp", bundlePath, h.Name+":/tmp/bundle.tar")
		onHost(t, h, "mkdir -p "+bundleDir+" /var/lib/slipway/images && "+bundle.UnpackScript("/tmp/bundle.tar", bundleDir))
		for _, img := range images {
			docker(t, "cp", img, h.Name+":/var/lib/slipway/images/")
		}
	}
	started := time.Now()
	onHost(t, c.server, fmt.Sprintf("systemd-run --unit slipway --property=KillMode=process %s/bin/slipway server --node-ip %s", bundleDir, c.server.Address))
	var token string
	eventually(t, 2*time.Minute, "the server's join token and kubeconfig", func() string {
		out, err := exec.Command("docker", "exec", c.server.Name, "sh", "-c", "cat /var/lib/slipway/server/token && test -s /etc/slipway/admin.kubeconfig").CombinedOutput()
		if err != nil {
			return "not yet: " + string(out)
		}
		token = strings.TrimSpace(string(out))
		return ""
	})
	kc := onHost(t, c.server, "cat /etc/slipway/admin.kubeconfig")
	c.kubeconfig = filepath.Join(local, "admin.kubeconfig")
	kc = strings.Replace(kc, "https://127.0.0.1:6443", "https://"+c.server.Address+":6443", 1)
	if err := os.WriteFile(c.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, a := range c.agents {
		conf := fmt.Sprintf("role: agent\nserver: https://%s:6443\ntoken: %s\nnode-ip: %s\n", c.server.Address, token, a.Address)
		onHost(t, a, "mkdir -p /etc/slipway && umask 077 && cat > /etc/slipway/config.yaml <<'EOF'\n"+conf+"EOF")
		onHost(t, a, fmt.Sprintf("systemd-run --unit slipway --property=KillMode=process %s/bin/slipway agent", bundleDir))
	}
	eventually(t, 4*time.Minute, "3 nodes Ready", func() string {
		out, err := c.k("get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err != nil || strings.Count(out, "=True") != 3 {
			return "nodes: " + out
		}
		return ""
	})
	t.Logf("figure: 1 server + 2 agents Ready %.0f s after the server started:\n%s", time.Since(started).Seconds(), c.mustK("get", "nodes", "-o", "wide"))
	// `slipway agent` replaced itself with the bundle's lean agent binary; the
	// server runs the full one.
	for _, a := range c.agents {
		if out := onHost(t, a, "pgrep -x slipway-agent >/dev/null && echo lean; pgrep -x slipway >/dev/null && echo full; true"); strings.TrimSpace(out) != "lean" {
			t.Errorf("%s runs %q, want the slipway-agent process alone", a.Name, out)
		}
	}
	eventually(t, time.Minute, "the default service account", func() string {
		if out, err := c.k("get", "serviceaccount", "default"); err != nil {
			return "serviceaccount: " + out
		}
		return ""
	})
	if os.Getenv("SLIPWAY_KEEP_HOSTS") == "1" {
		t.Logf("kubeconfig kept at %s", c.kubeconfig)
	}
	return c
}

const webManifest = `apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {message: hello-from-config}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret}
stringData: {token: s3cr3t-value}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: slipway.local/demo-web:1
        imagePullPolicy: Never
        ports: [{containerPort: 8080}]
        env:
        - name: MESSAGE
          valueFrom: {configMapKeyRef: {name: web-config, key: message}}
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 2}
        resources: {requests: {cpu: 10m, memory: 16Mi}}
        volumeMounts: [{name: secret, mountPath: /etc/web/secret, readOnly: true}]
      volumes: [{name: secret, secret: {secretName: web-secret}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - {name: client, image: "slipway.local/demo-web:1", imagePullPolicy: Never}
`

// TestE2ECluster runs the orchestrator's scenarios on one shared cluster of three
// test hosts; the destructive ones (server restart, node loss) come last.
func TestE2ECluster(t *testing.T) {
	c := startCluster(t)
	c.apply(webManifest)
	c.mustK("rollout", "status", "deployment/web", "--timeout=3m")
	c.mustK("wait", "--for=condition=Ready", "pod/client", "--timeout=2m")

	t.Run("ServiceByDNSSpreadsOverReplicas", func(t *testing.T) {
		// The pods are ready; kube-proxy routes to them a moment later.
		routed := time.Now()
		eventually(t, time.Minute, "the web Service answering the client pod", func() string {
			if out, err := c.k("exec", "client", "--", "/web", "get", "http://web.default.svc.cluster.local/"); err != nil {
				return out
			}
			return ""
		})
		t.Logf("the Service answered %.1f s after the rollout finished", time.Since(routed).Seconds())
		seen := map[string]bool{}
		for i := 0; i < 12; i++ {
			out := c.mustK("exec", "client", "--", "/web", "get", "http://web.default.svc.cluster.local/")
			first := strings.SplitN(out, "\n", 2)[0]
			if !strings.HasPrefix(first, "hello from web-") {
				t.Fatalf("answer = %q", out)
			}
			seen[first] = true
			if !strings.Contains(out, "message: hello-from-config") || !strings.Contains(out, "secret: 12 bytes") {
				t.Fatalf("the config map (env) or the secret (file) did not reach the pod: %q", out)
			}
		}
		if len(seen) < 2 {
			t.Fatalf("12 requests through the Service reached only %v", seen)
		}
	})

	t.Run("NodePortOnEveryHost", func(t *testing.T) {
		for _, h := range c.inv.Hosts {
			url := fmt.Sprintf("http://%s:30080/", h.Address)
			eventually(t, time.Minute, "NodePort on "+h.Name, func() string { return webAnswer(url) })
		}
	})

	t.Run("PodRangeRoutes", func(t *testing.T) {
		// Every node routes each other node's pod range through that node, and refuses
		// the rest of the cluster range (10.42.0.0/16 by default) instead of sending it
		// out by its default route.
		for _, h := range c.inv.Hosts {
			routes := onHost(t, h, "ip route show proto 83") + "\n"
			want := []string{"unreachable 10.42.0.0/16"}
			for _, o := range c.inv.Hosts {
				if o.Name != h.Name {
					want = append(want, " via "+o.Address+" ")
				}
			}
			for _, w := range want {
				if !strings.Contains(routes, w) {
					t.Errorf("%s: no route %q among its own:\n%s", h.Name, w, routes)
				}
			}
		}
	})

	t.Run("LoadBalancer", func(t *testing.T) {
		c.apply(`apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 8088, targetPort: 8080}]
`)
		var ips string
		eventually(t, time.Minute, "the LoadBalancer Service's addresses", func() string {
			ips = c.mustK("get", "service", "web-lb", "-o", `jsonpath={range .status.loadBalancer.ingress[*]}{.ip}{" "}{end}`)
			if len(strings.Fields(ips)) != 3 {
				return "ingress: " + ips
			}
			return ""
		})
		for _, ip := range strings.Fields(ips) {
			url := "http://" + ip + ":8088/"
			eventually(t, time.Minute, "the load balancer at "+url, func() string { return webAnswer(url) })
		}
	})

	t.Run("KubectlPythonAndCurl", func(t *testing.T) {
		c.mustK("get", "pods", "-o", "wide")
		if out := c.mustK("describe", "deployment", "web"); !strings.Contains(out, "slipway.local/demo-web:1") {
			t.Fatalf("describe lacks the image:\n%s", out)
		}
		pod := c.mustK("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
		if out := c.mustK("logs", pod); !strings.Contains(out, "web listening on :8080") {
			t.Fatalf("logs = %q", out)
		}
		if out := c.mustK("exec", pod, "--", "/web", "get", "http://localhost:8080/healthz"); out != "ok" {
			t.Fatalf("exec = %q", out)
		}
		py := exec.Command("/usr/bin/python3", "-c", `
import sys
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
s = client.CoreV1Api().read_namespaced_service("web", "default")
print(s.spec.type, s.spec.ports[0].node_port)`, c.kubeconfig)
		out, err := py.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "NodePort 30080" {
			t.Fatalf("python client: %v\n%s", err, out)
		}
		// curl with the admin client certificate from the kubeconfig.
		var kc struct {
			Clusters []struct {
				Cluster struct {
					CA string `json:"certificate-authority-data"`
				} `json:"cluster"`
			} `json:"clusters"`
			Users []struct {
				User struct {
					Cert string `json:"client-certificate-data"`
					Key  string `json:"client-key-data"`
				} `json:"user"`
			} `json:"users"`
		}
		b, _ := os.ReadFile(c.kubeconfig)
		if err := yaml.Unmarshal(b, &kc); err != nil || len(kc.Users) == 0 || len(kc.Clusters) == 0 {
			t.Fatalf("read kubeconfig: %v", err)
		}
		dir := t.TempDir()
		for name, data := range map[string]string{"ca.crt": kc.Clusters[0].Cluster.CA, "admin.crt": kc.Users[0].User.Cert, "admin.key": kc.Users[0].User.Key} {
			raw, err := base64.StdEncoding.DecodeString(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		curl := exec.Command("curl", "-sS", "--fail", "--cacert", filepath.Join(dir, "ca.crt"), "--cert", filepath.Join(dir, "admin.crt"),
			"--key", filepath.Join(dir, "admin.key"), "https://"+c.server.Address+":6443/api/v1/namespaces")
		out, err = curl.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"kube-system"`) {
			t.Fatalf("curl with the client certificate: %v\n%s", err, out)
		}
	})

	t.Run("SelfHealing", func(t *testing.T) {
		pod := c.mustK("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
		c.mustK("exec", pod, "--", "/web", "get", "http://localhost:8080/crash")
		eventually(t, 90*time.Second, "the crashed container restarted", func() string {
			out, _ := c.k("get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].ready}")
			if strings.HasPrefix(out, "0 ") || !strings.HasSuffix(out, "true") {
				return "restarts and ready: " + out
			}
			return ""
		})
		c.mustK("delete", "pod", pod, "--wait=false")
		eventually(t, 90*time.Second, "the deleted pod replaced", func() string {
			out, _ := c.k("get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}")
			names, _ := c.k("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}")
			if out != "3" || strings.Contains(names, pod) {
				return "available=" + out + " pods=" + names
			}
			return ""
		})
		c.apply(`apiVersion: v1
kind: Pod
metadata: {name: unhealthy}
spec:
  containers:
  - name: web
    image: slipway.local/demo-web:1
    imagePullPolicy: Never
    env: [{name: HEALTHY_FOR, value: 5s}]
    livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 2, failureThreshold: 2}
`)
		eventually(t, 2*time.Minute, "the pod failing its liveness probe restarted", func() string {
			out, _ := c.k("get", "pod", "unhealthy", "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
			if n, _ := strconv.Atoi(out); n < 1 {
				return "restarts=" + out
			}
			return ""
		})
		c.mustK("delete", "pod", "unhealthy", "--wait=false")
	})

	t.Run("RollingUpdateAndUndo", func(t *testing.T) {
		// Right after a rollout, kube-proxy may still route to a pod that is stopping:
		// callers retry, so an error is an answer like any other.
		version := func() string {
			out, err := c.k("exec", "client", "--", "/web", "get", "http://web/")
			if err != nil {
				return "error: " + out
			}
			for _, l := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(l, "version: "); ok {
					return v
				}
			}
			return out
		}
		// One revision: the new image and its version.
		c.mustK("patch", "deployment", "web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"slipway.local/demo-web:2","env":[{"name":"VERSION","value":"2"}]}]}}}}`)
		c.mustK("rollout", "status", "deployment/web", "--timeout=3m")
		eventually(t, time.Minute, "the service answering version 2 after the update", func() string {
			if v := version(); v != "2" {
				return "version " + v
			}
			return ""
		})
		c.mustK("rollout", "undo", "deployment/web")
		c.mustK("rollout", "status", "deployment/web", "--timeout=3m")
		if img := c.mustK("get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "slipway.local/demo-web:1" {
			t.Fatalf("after undo the image is %s, want slipway.local/demo-web:1", img)
		}
		eventually(t, time.Minute, "the service answering version 1 after undo", func() string {
			if v := version(); v != "1" {
				return "version " + v
			}
			return ""
		})
	})

	t.Run("JobDaemonSetStatefulSet", func(t *testing.T) {
		c.apply(`apiVersion: batch/v1
kind: Job
metadata: {name: fetch}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: fetch, image: "slipway.local/demo-web:1", imagePullPolicy: Never, args: [get, "http://web.default.svc.cluster.local/"]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: everywhere}
spec:
  selector: {matchLabels: {app: everywhere}}
  template:
    metadata: {labels: {app: everywhere}}
    spec:
      containers:
      - {name: web, image: "slipway.local/demo-web:1", imagePullPolicy: Never}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store}
spec:
  serviceName: store
  replicas: 1
  selector: {matchLabels: {app: store}}
  template:
    metadata: {labels: {app: store}}
    spec:
      containers:
      - name: web
        image: slipway.local/demo-web:1
        imagePullPolicy: Never
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 64Mi}}
`)
		c.mustK("wait", "--for=condition=complete", "job/fetch", "--timeout=2m")
		c.mustK("rollout", "status", "daemonset/everywhere", "--timeout=2m")
		if n := c.mustK("get", "daemonset", "everywhere", "-o", "jsonpath={.status.numberReady}"); n != "3" {
			t.Fatalf("daemon set ready on %s nodes, want 3", n)
		}
		// The web Service answers from a pod on every node.
		for _, line := range strings.Split(c.mustK("get", "pods", "-l", "app=everywhere", "-o", `jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{"\n"}{end}`), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			eventually(t, time.Minute, "the web Service from a pod on "+f[1], func() string {
				if out, err := c.k("exec", f[0], "--", "/web", "get", "http://web.default.svc.cluster.local/"); err != nil || !strings.HasPrefix(out, "hello from web-") {
					return out
				}
				return ""
			})
		}
		c.mustK("rollout", "status", "statefulset/store", "--timeout=2m")
		if phase := c.mustK("get", "pvc", "data-store-0", "-o", "jsonpath={.status.phase}"); phase != "Bound" {
			t.Fatalf("claim is %s, want Bound", phase)
		}
		pv := c.mustK("get", "pvc", "data-store-0", "-o", "jsonpath={.spec.volumeName}")
		node := c.mustK("get", "pod", "store-0", "-o", "jsonpath={.spec.nodeName}")
		c.mustK("delete", "statefulset", "store")
		c.mustK("delete", "pvc", "data-store-0")
		eventually(t, 2*time.Minute, "the released volume and its folder removed", func() string {
			if out, err := c.k("get", "pv", pv); err == nil {
				return "volume still there: " + out
			}
			out, _ := exec.Command("docker", "exec", node, "sh", "-c", "ls /var/lib/slipway/storage").CombinedOutput()
			if strings.Contains(string(out), pv) {
				return "folder still there: " + string(out)
			}
			return ""
		})
	})

	t.Run("BinPacking", func(t *testing.T) {
		// Four pods of 300m fit on any one node: bin-packing fills the fullest node that
		// fits before the next, so six end on at most two nodes, four or more on one.
		c.apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: pack}
spec:
  replicas: 6
  selector: {matchLabels: {app: pack}}
  template:
    metadata: {labels: {app: pack}}
    spec:
      containers:
      - {name: web, image: "slipway.local/demo-web:1", imagePullPolicy: Never, resources: {requests: {cpu: 300m}}}
`)
		c.mustK("rollout", "status", "deployment/pack", "--timeout=2m")
		nodes := func() map[string]int {
			out := c.mustK("get", "pods", "-l", "app=pack", "-o", `jsonpath={range .items[*]}{.spec.nodeName}{"\n"}{end}`)
			m := map[string]int{}
			for _, n := range strings.Fields(out) {
				m[n]++
			}
			return m
		}
		m := nodes()
		most := 0
		for _, n := range m {
			most = max(most, n)
		}
		if len(m) > 2 || most < 4 {
			t.Fatalf("6 pods of 300m placed %v: want at most two nodes, one with 4 or more", m)
		}
		t.Logf("bin-packing placed 6 pods of 300m: %v", m)
		c.mustK("delete", "deployment", "pack", "--cascade=foreground")
	})

	t.Run("JoinRefusals", func(t *testing.T) {
		good := onHost(t, c.server, "cat /var/lib/slipway/server/token")
		good = strings.TrimSpace(good)
		hash := good[strings.Index(good, ":sha256:")+len(":sha256:"):]
		for name, tc := range map[string]struct{ token, want string }{
			"wrong token":   {"slipway:abcdef.0123456789abcdef:sha256:" + hash, "refused the join token"},
			"wrong CA hash": {good[:strings.Index(good, ":sha256:")] + ":sha256:" + strings.Repeat("0", 64), "does not present the cluster CA"},
		} {
			a := c.agents[0]
			cmd := fmt.Sprintf("%s/bin/slipway agent --data-dir /tmp/refused --server https://%s:6443 --token %s 2>&1; echo exit=$?", bundleDir, c.server.Address, tc.token)
			out, _ := exec.Command("docker", "exec", a.Name, "sh", "-c", "rm -rf /tmp/refused; "+cmd).CombinedOutput()
			if !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "exit=0") {
				t.Errorf("%s: agent output = %s; want a refusal saying %q and a non-zero exit", name, out, tc.want)
			}
			if ls, _ := exec.Command("docker", "exec", a.Name, "sh", "-c", "ls /tmp/refused/agent 2>/dev/null").CombinedOutput(); strings.TrimSpace(string(ls)) != "" {
				t.Errorf("%s: the refused agent wrote %s", name, ls)
			}
		}
	})

	t.Run("TokensAndDrain", func(t *testing.T) {
		slipway := bundleDir + "/bin/slipway"
		tok := strings.TrimSpace(onHost(t, c.server, slipway+" token create --ttl 1h --description e2e"))
		id := strings.TrimPrefix(strings.SplitN(tok, ".", 2)[0], "slipway:")
		if list := onHost(t, c.server, slipway+" token list"); !strings.Contains(list, id) || strings.Contains(list, strings.SplitN(tok, ".", 2)[1][:16]) {
			t.Fatalf("token list does not show %s, or shows its secret:\n%s", id, list)
		}
		onHost(t, c.server, slipway+" token revoke "+id)
		a := c.agents[0]
		out, _ := exec.Command("docker", "exec", a.Name, "sh", "-c", fmt.Sprintf("%s agent --data-dir /tmp/revoked --server https://%s:6443 --token %s 2>&1; echo exit=$?", slipway, c.server.Address, tok)).CombinedOutput()
		if !strings.Contains(string(out), "refused the join token") || strings.Contains(string(out), "exit=0") {
			t.Fatalf("an agent with a revoked token: %s", out)
		}

		// Drain an agent: cordoned, and only daemon set pods left on it.
		onHost(t, c.server, slipway+" drain --force --timeout 2m "+a.Name)
		if u := c.mustK("get", "node", a.Name, "-o", "jsonpath={.spec.unschedulable}"); u != "true" {
			t.Fatalf("drained node unschedulable = %q", u)
		}
		left := c.mustK("get", "pods", "-A", "--field-selector=spec.nodeName="+a.Name, "-o", `jsonpath={range .items[*]}{.metadata.ownerReferences[0].kind}{"\n"}{end}`)
		for _, kind := range strings.Fields(left) {
			if kind != "DaemonSet" {
				t.Fatalf("after the drain the node still runs pods of a %s:\n%s", kind, left)
			}
		}
		c.mustK("uncordon", a.Name)
	})

	t.Run("TopAndAutoscaling", func(t *testing.T) {
		c.apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: busy}
spec:
  replicas: 1
  selector: {matchLabels: {app: busy}}
  template:
    metadata: {labels: {app: busy}}
    spec:
      containers:
      - {name: web, image: "slipway.local/demo-web:1", imagePullPolicy: Never, resources: {requests: {cpu: 20m}}}
---
apiVersion: v1
kind: Service
metadata: {name: busy}
spec:
  type: NodePort
  selector: {app: busy}
  ports: [{port: 80, targetPort: 8080, nodePort: 30082}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: busy}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: busy}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`)
		c.mustK("rollout", "status", "deployment/busy", "--timeout=2m")
		eventually(t, 3*time.Minute, "kubectl top nodes and pods", func() string {
			nodes, err := c.k("top", "nodes")
			if err != nil || strings.Count(nodes, "slipway-") < 3 {
				return "top nodes: " + nodes
			}
			pods, err := c.k("top", "pods")
			if err != nil || !strings.Contains(pods, "busy-") {
				return "top pods: " + pods
			}
			return ""
		})
		t.Logf("kubectl top pods:\n%s", c.mustK("top", "pods"))
		// CPU load through the NodePort (to our own test host), bounded in count and time.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			client := &http.Client{Timeout: 5 * time.Second}
			end := time.Now().Add(4 * time.Minute)
			for i := 0; i < 2000 && time.Now().Before(end); i++ {
				select {
				case <-stop:
					return
				default:
				}
				if resp, err := client.Get("http://" + c.server.Address + ":30082/cpu?ms=400"); err == nil {
					resp.Body.Close()
				}
			}
		}()
		defer func() { close(stop); <-done }()
		started := time.Now()
		eventually(t, 4*time.Minute, "the autoscaler scaling busy up under load", func() string {
			r := c.mustK("get", "deployment", "busy", "-o", "jsonpath={.spec.replicas}")
			if r == "1" {
				return "replicas 1; hpa: " + c.mustK("get", "hpa", "busy", "-o", "jsonpath={.status}")
			}
			return ""
		})
		t.Logf("figure: the CPU autoscaler scaled busy up %.0f s after the load began", time.Since(started).Seconds())
		// Foreground: kubectl returns once the pods are gone too; a later subtest counts pods.
		c.mustK("delete", "hpa,deployment,service", "busy", "--cascade=foreground")
	})

	t.Run("ServerRestartKeepsPodsAndObjects", func(t *testing.T) {
		// ns/name/uid/container of each pod, leaving out pods already being deleted: those
		// are not expected to stay.
		running := func() []string {
			out := c.mustK("get", "pods", "-A", "-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}/{.metadata.uid}/{.status.containerStatuses[0].containerID} {.metadata.deletionTimestamp}{"\n"}{end}`)
			var pods []string
			for _, line := range strings.Split(out, "\n") {
				if f := strings.Fields(line); len(f) == 1 {
					pods = append(pods, f[0])
				}
			}
			return pods
		}
		before := running()
		onHost(t, c.server, "systemctl restart slipway")
		eventually(t, 3*time.Minute, "the API back after the restart", func() string {
			if out, err := c.k("get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}"); err != nil || out != "3" {
				return "available: " + out
			}
			return ""
		})
		after := strings.Join(running(), "\n")
		for _, p := range before {
			if !strings.Contains(after, p) {
				t.Errorf("pod/container %s did not survive the server's restart; after it:\n%s", p, after)
			}
		}
	})

	t.Run("NodeLoss", func(t *testing.T) {
		c.apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: spread}
spec:
  replicas: 4
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      topologySpreadConstraints:
      # Honor: a lost (tainted) node no longer counts, so its pods can move.
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, nodeTaintsPolicy: Honor, labelSelector: {matchLabels: {app: spread}}}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: node-role.kubernetes.io/control-plane, operator: DoesNotExist}]}]
      containers:
      - name: web
        image: slipway.local/demo-web:1
        imagePullPolicy: Never
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: spread}
spec:
  type: NodePort
  selector: {app: spread}
  ports: [{port: 80, targetPort: 8080, nodePort: 30081}]
`)
		c.mustK("rollout", "status", "deployment/spread", "--timeout=2m")
		lost := c.agents[1]
		// Requests at a steady rate through the NodePort on the server, which stays.
		load := steady.Start("http://"+c.server.Address+":30081/", 100*time.Millisecond, 3000)
		time.Sleep(3 * time.Second)
		stopped := time.Now()
		docker(t, "stop", lost.Name)
		// The lost node's pods must run elsewhere, and the service answer reliably.
		eventually(t, 3*time.Minute, "the lost node's pods Running elsewhere", func() string {
			out, _ := c.k("get", "pods", "-l", "app=spread", "--field-selector=status.phase=Running", "-o", `jsonpath={range .items[*]}{.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
			ready := 0
			for _, l := range strings.Split(out, "\n") {
				if strings.HasSuffix(l, "True") && !strings.HasPrefix(l, lost.Name) {
					ready++
				}
			}
			if ready < 4 {
				return "pods: " + out
			}
			return ""
		})
		movedAfter := time.Since(stopped)
		time.Sleep(35 * time.Second)
		load.Stop()
		recovered := load.RecoveredAfter(stopped)
		t.Logf("figure: node loss: service at >= 99%% over every later 30 s window %.1f s after the agent stopped; pods Running elsewhere after %.1f s (%d requests)",
			recovered.Seconds(), movedAfter.Seconds(), load.Count())
		t.Logf("failed requests, seconds after the stop: %s", load.Failures(stopped))
		if recovered < 0 || recovered > 60*time.Second {
			t.Fatalf("the service did not recover within 60 s of the node loss (recovered: %v)", recovered)
		}
	})
}
