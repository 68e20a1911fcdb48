package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/pki"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/status"
)

// serverProcess is `slipway server` running as a child process (this test binary,
// see TestMain).
type serverProcess struct {
	cmd  *exec.Cmd
	log  string
	done chan error
}

func startServerProcess(t *testing.T, logPath string, args []string, env ...string) *serverProcess {
	t.Helper()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	list, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(append(os.Environ(), serverArgsEnv+"="+string(list)), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logFile.Close()
	p := &serverProcess{cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serverProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("server exited with %v after SIGTERM\n%s", err, tail(p.log, 30))
		}
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("server did not stop within 60s of SIGTERM\n%s", tail(p.log, 30))
	}
}

// waitReady waits until the admin kubeconfig exists and the apiserver is ready,
// failing early when the server process exits.
func (p *serverProcess) waitReady(t *testing.T, kubeconfig string) *rest.Config {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			t.Fatalf("server exited before it was ready (%v)\n%s", err, tail(p.log, 40))
		case <-time.After(250 * time.Millisecond):
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			continue
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		cancel()
		if err == nil {
			return cfg
		}
	}
	t.Fatalf("apiserver not ready within 4 minutes\n%s", tail(p.log, 40))
	return nil
}

// TestServer_ControlPlaneOnLoopback starts the control plane in a temp data dir on
// free ports, checks that the apiserver, controller-manager and scheduler all work
// (a Deployment gets its ReplicaSet and its pod a scheduling decision), then stops it
// and starts it again on the same data dir and finds the objects and certificates
// still there. Last, a start whose scheduler fails exits 1 naming the scheduler.
func TestServer_ControlPlaneOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler (about a minute): skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("runs the control plane as a node does, as root: skipped for uid", os.Geteuid())
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kube", "admin.kubeconfig")
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("role: server\nscheduler: spread\nnode-monitor-grace-period: 30s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 6)
	args := []string{
		"--config", cfgPath,
		"--data-dir", filepath.Join(dir, "data"),
		"--write-kubeconfig", kubeconfig,
		"--node-name", "test-server",
		"--disable-agent",
		"--https-port", fmt.Sprint(ports[0]),
		"--etcd-client-port", fmt.Sprint(ports[1]),
		"--etcd-peer-port", fmt.Sprint(ports[2]),
		"--controller-manager-port", fmt.Sprint(ports[3]),
		"--scheduler-port", fmt.Sprint(ports[4]),
		"--metrics-server-port", fmt.Sprint(ports[5]),
	}
	logPath := filepath.Join(dir, "server.log")

	started := time.Now()
	srv := startServerProcess(t, logPath, args)
	cfg := srv.waitReady(t, kubeconfig)
	t.Logf("apiserver ready %s after start", time.Since(started).Round(100*time.Millisecond))
	if !strings.HasPrefix(cfg.Host, "https://127.0.0.1:") {
		t.Errorf("admin kubeconfig points at %s, want https://127.0.0.1:<port>", cfg.Host)
	}
	if fi, err := os.Stat(kubeconfig); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin kubeconfig mode: %v %v", fi.Mode(), err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The apiserver stores objects.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "slipway-test"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.invalid/web:1"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns.Name).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The controller-manager creates the ReplicaSet, and the ReplicaSet its pod.
	poll(t, ctx, srv, "the Deployment's ReplicaSet and pod", func(ctx context.Context) (bool, error) {
		rss, err := cs.AppsV1().ReplicaSets(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil || len(rss.Items) == 0 {
			return false, err
		}
		if own := metav1.GetControllerOf(&rss.Items[0]); own == nil || own.Name != "web" {
			return false, fmt.Errorf("ReplicaSet %s is not owned by the Deployment", rss.Items[0].Name)
		}
		pods, err := cs.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) > 0, err
	})

	// The scheduler holds its lease and tried to place the pod: there is no node
	// (the node components are not built yet), so it reports it unschedulable.
	poll(t, ctx, srv, "the scheduler's decision on the pod", func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil || len(pods.Items) == 0 {
			return false, err
		}
		for _, c := range pods.Items[0].Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return true, nil
			}
		}
		return false, nil
	})

	// slipway status sees every component ready.
	poll(t, ctx, srv, "every component ready in slipway status", func(ctx context.Context) (bool, error) {
		var out bytes.Buffer
		ok := status.Print(&out, status.CheckConfig(ctx, cfg))
		if !ok {
			t.Logf("status:\n%s", out.String())
		}
		return ok, nil
	})

	caBefore, err := os.ReadFile(filepath.Join(dir, "data", "server", "tls", pki.ClusterCA+".crt"))
	if err != nil {
		t.Fatal(err)
	}
	srv.stop(t)

	// Stopped: status says so.
	ctxShort, cancelShort := context.WithTimeout(ctx, 20*time.Second)
	if status.Print(&bytes.Buffer{}, status.CheckConfig(ctxShort, cfg)) {
		t.Error("status reports ready with the server stopped")
	}
	cancelShort()

	// Restart on the same data dir: same CA, same objects.
	started = time.Now()
	srv = startServerProcess(t, logPath, args)
	cfg = srv.waitReady(t, kubeconfig)
	t.Logf("apiserver ready %s after restart", time.Since(started).Round(100*time.Millisecond))
	caAfter, err := os.ReadFile(filepath.Join(dir, "data", "server", "tls", pki.ClusterCA+".crt"))
	if err != nil || !bytes.Equal(caBefore, caAfter) {
		t.Errorf("the cluster CA changed across a restart (%v)", err)
	}
	cs = kubernetes.NewForConfigOrDie(cfg)
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("namespace after restart: %v", err)
	}
	if _, err := cs.AppsV1().Deployments(ns.Name).Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("deployment after restart: %v", err)
	}
	rss, err := cs.AppsV1().ReplicaSets(ns.Name).List(ctx, metav1.ListOptions{})
	if err != nil || len(rss.Items) != 1 {
		t.Errorf("replicasets after restart: %d, %v", len(rss.Items), err)
	}
	srv.stop(t)

	// A component that fails takes the server down with a message naming it.
	srv = startServerProcess(t, logPath, args, breakSchedulerEnv+"=1")
	select {
	case err := <-srv.done:
		srv.done <- err
		if code := srv.cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("exit code %d after the scheduler failed, want 1", code)
		}
		if last := tail(logPath, 1); last != "Error: kube-scheduler failed: broken on purpose by the test" {
			t.Errorf("last line = %q, want the scheduler's failure", last)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("server still running 2 minutes after its scheduler failed\n%s", tail(logPath, 20))
	}
}

// poll waits for cond, failing with the server's log when it does not hold in time
// or the server exits.
func poll(t *testing.T, ctx context.Context, srv *serverProcess, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-srv.done:
			srv.done <- err
			return false, fmt.Errorf("server exited: %v", err)
		default:
		}
		ok, err := cond(ctx)
		if err != nil {
			last = err
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last error: %v)\n%s", what, err, last, tail(srv.log, 40))
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
