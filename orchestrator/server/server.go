// Package server runs a Slipway server's control plane in one process: embedded etcd
// (or an external one), kube-apiserver, kube-controller-manager and kube-scheduler,
// each the upstream component configured with generated arguments. Components start
// in order, each once what it needs is ready; when one of them stops, Run returns an
// error that names it.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/join"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/node"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/pki"
)

// Options are what Run needs besides the context.
type Options struct {
	// Config is the node's settings, with defaults applied.
	Config *config.Config
	// Ports are the loopback ports; zero fields take the defaults.
	Ports Ports
	// ReadyTimeout bounds the wait for etcd and the apiserver; zero means 5 minutes.
	ReadyTimeout time.Duration
}

// Run starts the control plane and blocks until ctx ends (then it returns nil) or a
// component stops (then it returns an error naming the component). Bad input (settings,
// ports in use, a data dir it cannot write) is reported before anything is written.
func Run(ctx context.Context, opts Options) error {
	l, apiListener, err := preflight(opts)
	if err != nil {
		return err
	}
	// From here on, the listener belongs to the apiserver; close it if we never get there.
	handedOver := false
	defer func() {
		if !handedOver {
			apiListener.Close()
		}
	}()
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	started := time.Now()

	if err := l.prepare(); err != nil {
		return err
	}

	exits := make(chan componentExit, 8)
	if l.cfg.DatastoreEndpoint == "" {
		etcd, err := startEtcd(ctx, l, timeout)
		if ctx.Err() != nil {
			return stopped()
		}
		if err != nil {
			return fmt.Errorf("etcd: %w", err)
		}
		defer stopEtcd(etcd)
		go func() {
			select {
			case err := <-etcd.Err():
				exits <- componentExit{"etcd", err}
			case <-etcd.Server.StopNotify():
				exits <- componentExit{"etcd", errors.New("stopped")}
			}
		}()
		klog.Infof("slipway: etcd is ready on 127.0.0.1:%d (%s)", l.ports.EtcdClient, since(started))
	} else {
		klog.Infof("slipway: using the external datastore %s", l.cfg.DatastoreEndpoint)
	}

	// The apiserver stops with ctx. The controller-manager and the scheduler never see
	// it cancelled: upstream, losing the leader lease (which cancelling causes) exits
	// the process with status 1, so on shutdown they simply end with the process.
	// Their leases then expire (15s) before a restarted server takes them over.
	start := func(ctx context.Context, name string, run func(context.Context) error) {
		go func() { exits <- componentExit{name, run(ctx)} }()
	}
	untilExit := context.WithoutCancel(ctx)
	handedOver = true
	start(ctx, "kube-apiserver", func(ctx context.Context) error { return components.apiserver(ctx, l, apiListener) })
	if err := l.waitAPIServerReady(ctx, timeout, exits); ctx.Err() != nil {
		return stopped()
	} else if err != nil {
		return err
	}
	klog.Infof("slipway: kube-apiserver is ready on https://%s (%s)", net.JoinHostPort(l.nodeIP.String(), strconv.Itoa(l.cfg.HTTPSPort)), since(started))

	admin := pki.Kubeconfig{Server: l.apiURL(), CAFile: l.pki.Cert(pki.ClusterCA), CertFile: l.pki.Cert(pki.Admin), KeyFile: l.pki.Key(pki.Admin), Embed: true}
	if err := admin.Write(l.cfg.WriteKubeconfig); err != nil {
		return fmt.Errorf("write admin kubeconfig: %w", err)
	}
	klog.Infof("slipway: admin kubeconfig written to %s", l.cfg.WriteKubeconfig)

	start(untilExit, "kube-controller-manager", func(ctx context.Context) error { return components.controllerManager(ctx, l) })
	start(untilExit, "kube-scheduler", func(ctx context.Context) error { return components.scheduler(ctx, l) })
	if !l.cfg.Disabled("metrics-server") {
		start(ctx, "metrics-server", func(ctx context.Context) error { return components.metricsServer(ctx, l) })
	}
	if !l.cfg.DisableAgent {
		// The node part reports its own components by name ("node: kubelet failed: ...").
		start(ctx, "node", func(ctx context.Context) error { return components.node(ctx, l) })
		go l.labelControlPlane(ctx)
	}
	if binDir, err := node.BundleBinDir(); err != nil {
		klog.Errorf("slipway: add-ons not applied: %v", err)
	} else {
		go l.applyAddons(ctx, binDir)
	}

	select {
	case <-ctx.Done():
		// The apiserver has begun to shut down; etcd closes (deferred) and the process
		// ends, well before the controller-manager's lease renewal would give up (10s)
		// and exit on its own.
		return stopped()
	case e := <-exits:
		return e.error()
	}
}

// stopped is how Run ends when asked to: no error.
func stopped() error {
	klog.Info("slipway: stopping")
	return nil
}

// components are the upstream components' run functions (components.go). A test
// replaces one to see how Run reports a component that fails.
var components = struct {
	apiserver         func(context.Context, *layout, net.Listener) error
	controllerManager func(context.Context, *layout) error
	scheduler         func(context.Context, *layout) error
	metricsServer     func(context.Context, *layout) error
	node              func(context.Context, *layout) error
}{
	apiserver: func(ctx context.Context, l *layout, ln net.Listener) error {
		return runAPIServer(ctx, l.apiserverArgs(), ln)
	},
	controllerManager: func(ctx context.Context, l *layout) error {
		return runControllerManager(ctx, l.controllerManagerArgs())
	},
	scheduler: func(ctx context.Context, l *layout) error { return runScheduler(ctx, l.schedulerArgs()) },
	metricsServer: func(ctx context.Context, l *layout) error {
		// Its permissions come with its add-on: without them it would stop at once.
		if err := l.waitMetricsServerRBAC(ctx); err != nil {
			return err
		}
		return runMetricsServer(ctx, l.metricsServerArgs())
	},
	node: func(ctx context.Context, l *layout) error {
		opts, err := l.nodeOptions()
		if err != nil {
			return err
		}
		return node.Run(ctx, opts)
	},
}

// componentExit reports that a component's run function returned.
type componentExit struct {
	name string
	err  error
}

func (e componentExit) error() error {
	if e.err == nil {
		return fmt.Errorf("%s stopped unexpectedly", e.name)
	}
	return fmt.Errorf("%s failed: %w", e.name, e.err)
}

// preflight resolves the settings and checks everything that could stop startup,
// before anything is written: the settings, the ports, the data dir and the
// kubeconfig's folder. It returns the apiserver's listener, already bound.
func preflight(opts Options) (*layout, net.Listener, error) {
	if opts.Config == nil {
		return nil, nil, errors.New("no settings")
	}
	c := *opts.Config
	c.Defaults()
	if c.Role == "" {
		c.Role = config.RoleServer
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, nil, fmt.Errorf("hostname: %w", err)
	}
	host = strings.ToLower(host)
	if c.NodeName == "" {
		c.NodeName = host // validated below like a node-name from the file
	}
	if err := c.Validate(); err != nil {
		return nil, nil, fmt.Errorf("invalid settings:\n%w", err)
	}
	if c.Role != config.RoleServer {
		return nil, nil, fmt.Errorf("role is %q: slipway server needs role server", c.Role)
	}
	if c.Token != "" {
		if _, err := join.Parse(c.Token, false); err != nil {
			return nil, nil, fmt.Errorf("invalid settings:\ntoken: %w", err)
		}
	}
	l := &layout{cfg: &c, ports: opts.Ports, hostname: host}
	l.ports.defaults()

	if c.NodeIP != "" {
		l.nodeIP = net.ParseIP(c.NodeIP)
	} else if ip, err := utilnet.ChooseHostInterface(); err == nil {
		l.nodeIP = ip
	} else {
		return nil, nil, fmt.Errorf("node-ip: not set, and no address to take it from (%v): set node-ip to the address other nodes reach this one on", err)
	}
	if l.nodeIP.IsLoopback() || l.nodeIP.IsUnspecified() {
		return nil, nil, fmt.Errorf("node-ip: %s cannot be the node's address: the apiserver advertises it to the cluster, so it must be one other nodes and pods reach", l.nodeIP)
	}
	if _, err := firstServiceIP(c.ServiceCIDR); err != nil {
		return nil, nil, err
	}

	for _, d := range []struct{ key, dir string }{
		{"data-dir", c.DataDir},
		{"write-kubeconfig", filepath.Dir(c.WriteKubeconfig)},
	} {
		if err := checkWritable(d.dir); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", d.key, err)
		}
	}

	checks := []struct {
		what string
		addr string
	}{
		{"controller-manager port", net.JoinHostPort("127.0.0.1", strconv.Itoa(l.ports.ControllerManager))},
		{"scheduler port", net.JoinHostPort("127.0.0.1", strconv.Itoa(l.ports.Scheduler))},
	}
	if c.DatastoreEndpoint == "" {
		checks = append(checks,
			struct{ what, addr string }{"etcd client port", net.JoinHostPort("127.0.0.1", strconv.Itoa(l.ports.EtcdClient))},
			struct{ what, addr string }{"etcd peer port", net.JoinHostPort("127.0.0.1", strconv.Itoa(l.ports.EtcdPeer))})
	}
	if !c.Disabled("metrics-server") {
		checks = append(checks, struct{ what, addr string }{"metrics-server port", net.JoinHostPort("0.0.0.0", strconv.Itoa(l.ports.MetricsServer))})
	}
	for _, chk := range checks {
		ln, err := net.Listen("tcp", chk.addr)
		if err != nil {
			return nil, nil, portError(chk.what, chk.addr, err)
		}
		ln.Close()
	}
	// The API port last, and kept: the apiserver serves on this very listener.
	apiAddr := net.JoinHostPort("0.0.0.0", strconv.Itoa(c.HTTPSPort))
	ln, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return nil, nil, portError("https-port", apiAddr, err)
	}
	return l, ln, nil
}

func portError(what, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s: %s is already in use by another process: stop it or choose another port", what, addr)
	}
	return fmt.Errorf("%s: cannot listen on %s: %w", what, addr, err)
}

// checkWritable tells whether dir can be created (or exists) and written, without
// leaving anything behind: it probes the nearest folder that exists.
func checkWritable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	probe := abs
	for {
		fi, err := os.Stat(probe)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not writable: %s is not a directory", abs, probe)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s is not writable: %w", abs, err)
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			break
		}
		probe = parent
	}
	f, err := os.CreateTemp(probe, ".slipway-write-check-")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", abs, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// prepare writes what the components read: the PKI, their kubeconfigs and the
// scheduler's configuration.
func (l *layout) prepare() error {
	if err := os.MkdirAll(l.serverDir(), 0o700); err != nil {
		return err
	}
	spec, err := l.pkiSpec()
	if err != nil {
		return err
	}
	p, err := pki.Ensure(l.tlsDir(), spec)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	l.pki = p
	if l.token, err = l.ensureToken(); err != nil {
		return err
	}
	for _, user := range []string{pki.ControllerManager, pki.Scheduler, pki.Admin, pki.KubeletClient, pki.KubeProxy, pki.MetricsServerClient} {
		k := pki.Kubeconfig{Server: l.apiURL(), CAFile: p.Cert(pki.ClusterCA), CertFile: p.Cert(user), KeyFile: p.Key(user)}
		if err := k.Write(l.kubeconfig(user)); err != nil {
			return fmt.Errorf("kubeconfig for %s: %w", user, err)
		}
	}
	sched, err := l.schedulerConfiguration()
	if err != nil {
		return err
	}
	if err := pki.WriteFile(l.schedulerConfig(), sched, 0o600); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(l.serverDir(), "db"), 0o700)
}

// waitAPIServerReady polls /readyz with the admin certificate until it answers 200,
// a component stops, or the timeout passes.
func (l *layout) waitAPIServerReady(ctx context.Context, timeout time.Duration, exits <-chan componentExit) error {
	client, err := l.adminHTTPClient()
	if err != nil {
		return err
	}
	deadline := time.After(timeout)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-exits:
			return e.error()
		case <-deadline:
			return fmt.Errorf("kube-apiserver not ready after %s: %s", timeout, last)
		case <-tick.C:
			resp, err := client.Get(l.apiURL() + "/readyz")
			if err != nil {
				last = err.Error()
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = "/readyz answered " + resp.Status
		}
	}
}

func (l *layout) adminHTTPClient() (*http.Client, error) {
	ca, err := os.ReadFile(l.pki.Cert(pki.ClusterCA))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(l.pki.Cert(pki.Admin), l.pki.Key(pki.Admin))
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		}},
	}, nil
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// nodeOptions are the node part's settings on a server: its kubelet and kube-proxy
// authenticate with certificates this server issued itself, and the bundle's
// helpers sit beside the slipway binary.
func (l *layout) nodeOptions() (node.Options, error) {
	binDir, err := node.BundleBinDir()
	if err != nil {
		return node.Options{}, err
	}
	return node.Options{
		Config:            l.cfg,
		NodeIP:            l.nodeIP,
		BinDir:            binDir,
		KubeletKubeconfig: l.kubeconfig(pki.KubeletClient),
		ProxyKubeconfig:   l.kubeconfig(pki.KubeProxy),
		ClientCAFile:      l.pki.Cert(pki.ClusterCA),
		KubeletCertFile:   l.pki.Cert(pki.KubeletServing),
		KubeletKeyFile:    l.pki.Key(pki.KubeletServing),
	}, nil
}

// labelControlPlane marks this server's Node with the control-plane role once it
// has registered. A kubelet may not set node-role labels on itself
// (NodeRestriction), so the server does it with its own credentials.
func (l *layout) labelControlPlane(ctx context.Context) {
	rc, err := clientcmd.BuildConfigFromFlags("", l.kubeconfig(pki.Admin))
	if err != nil {
		klog.Errorf("slipway: label the control-plane node: %v", err)
		return
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		klog.Errorf("slipway: label the control-plane node: %v", err)
		return
	}
	patch := []byte(`{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":"true"}}}`)
	for ctx.Err() == nil {
		_, err := cs.CoreV1().Nodes().Patch(ctx, l.cfg.NodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "slipway"})
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// waitMetricsServerRBAC waits until the metrics-server add-on's bindings exist.
func (l *layout) waitMetricsServerRBAC(ctx context.Context) error {
	rc, err := clientcmd.BuildConfigFromFlags("", l.kubeconfig(pki.Admin))
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	for {
		_, err1 := cs.RbacV1().RoleBindings("kube-system").Get(ctx, "metrics-server-auth-reader", metav1.GetOptions{})
		_, err2 := cs.RbacV1().ClusterRoleBindings().Get(ctx, "metrics-server:system:auth-delegator", metav1.GetOptions{})
		if err1 == nil && err2 == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
