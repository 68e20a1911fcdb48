// Package testcluster runs a real Kubernetes control plane on loopback for tests: the
// `slipway server` binary with --disable-agent, in a temporary data dir on free ports.
// One test process shares one control plane.
package testcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Cluster is a running control plane.
type Cluster struct {
	Kubeconfig string // path of the admin kubeconfig
	Host       string
	CA         string // PEM
	ClientCert string // PEM
	ClientKey  string // PEM
	Client     kubernetes.Interface

	cmd    *exec.Cmd
	exited chan error // receives the server's exit, once
	dir    string
	log    *os.File
}

var (
	once    sync.Once
	shared  *Cluster
	errOnce error
)

// Binary is the slipway binary tests run: SLIPWAY_BIN, which make sets to the one it
// built.
func Binary() (string, error) {
	bin := os.Getenv("SLIPWAY_BIN")
	if bin == "" {
		return "", fmt.Errorf("SLIPWAY_BIN is not set: run through make testacc or make test, which build slipway and set it")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("SLIPWAY_BIN: %w", err)
	}
	return bin, nil
}

// Shared returns the process's control plane, starting it on first use. Call Stop
// from TestMain when the tests are done.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { shared, errOnce = Start() })
	if errOnce != nil {
		t.Fatalf("start the test control plane: %v", errOnce)
	}
	return shared
}

// StopShared stops the shared control plane if one was started.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Start runs a new control plane and waits until its API answers. The ports are free
// when picked but can be taken before the server binds them (other test packages run
// at the same time): the server then refuses to start, and Start tries new ports.
func Start() (*Cluster, error) {
	for attempt := 1; ; attempt++ {
		c, err := start()
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "already in use") {
			return c, err
		}
	}
}

func start() (*Cluster, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "slipway-testcluster-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	kc := filepath.Join(dir, "admin.kubeconfig")
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "--disable-agent",
		"--data-dir", filepath.Join(dir, "data"),
		"--write-kubeconfig", kc,
		"--node-name", "testcluster",
		"--https-port", strconv.Itoa(ports[0]),
		"--etcd-client-port", strconv.Itoa(ports[1]),
		"--etcd-peer-port", strconv.Itoa(ports[2]),
		"--controller-manager-port", strconv.Itoa(ports[3]),
		"--scheduler-port", strconv.Itoa(ports[4]),
		"--metrics-server-port", strconv.Itoa(ports[5]),
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so Stop ends it and nothing it started outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s server: %w", bin, err)
	}
	c := &Cluster{Kubeconfig: kc, cmd: cmd, dir: dir, log: logf, exited: make(chan error, 1)}
	go func() { c.exited <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		if err := c.connect(ctx); err == nil {
			return c, nil
		}
		select {
		case err := <-c.exited:
			out, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("slipway server exited (%v):\n%s", err, tail(out))
		case <-ctx.Done():
			c.Stop()
			out, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("slipway server not ready in 3 minutes:\n%s", tail(out))
		case <-time.After(time.Second):
		}
	}
}

func (c *Cluster) connect(ctx context.Context) error {
	raw, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return err
	}
	cl, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	body, err := cl.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil || string(body) != "ok" {
		return fmt.Errorf("not ready: %v %s", err, body)
	}
	// Namespaces are made by the apiserver's own controller; wait for "default".
	if _, err := cl.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return err
	}
	c.Client = cl
	c.Host = cfg.Host
	c.CA = string(cfg.CAData)
	c.ClientCert, c.ClientKey = string(cfg.CertData), string(cfg.KeyData)
	if c.CA == "" {
		c.CA, c.ClientCert, c.ClientKey = pemFromFiles(raw)
	}
	return nil
}

// pemFromFiles reads the PEM a kubeconfig names by path instead of embedding.
func pemFromFiles(raw *clientcmdapi.Config) (ca, cert, key string) {
	ctx := raw.Contexts[raw.CurrentContext]
	if ctx == nil {
		return "", "", ""
	}
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
	if cl := raw.Clusters[ctx.Cluster]; cl != nil {
		ca = read(cl.CertificateAuthority)
	}
	if u := raw.AuthInfos[ctx.AuthInfo]; u != nil {
		cert, key = read(u.ClientCertificate), read(u.ClientKey)
	}
	return ca, cert, key
}

// Stop ends the control plane and removes its data.
func (c *Cluster) Stop() {
	if c.cmd.ProcessState == nil {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.exited
		}
	}
	c.log.Close()
	os.RemoveAll(c.dir)
}

func tail(b []byte) string {
	const n = 4000
	if len(b) > n {
		return "..." + string(b[len(b)-n:])
	}
	return string(b)
}
