package server

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/join"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/pki"
)

// Default loopback ports of the components that only this host talks to.
const (
	DefaultEtcdClientPort        = 2379
	DefaultEtcdPeerPort          = 2380
	DefaultControllerManagerPort = 10257
	DefaultSchedulerPort         = 10259
	// The resource metrics API listens on every interface: the aggregator reaches it
	// at the node's address.
	DefaultMetricsServerPort = 4443
)

// Ports are the loopback ports besides the API's (https-port in the settings).
// Tests move them to free ports; a node uses the defaults.
type Ports struct {
	EtcdClient, EtcdPeer, ControllerManager, Scheduler, MetricsServer int
}

func (p *Ports) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.EtcdClient, DefaultEtcdClientPort)
	def(&p.EtcdPeer, DefaultEtcdPeerPort)
	def(&p.ControllerManager, DefaultControllerManagerPort)
	def(&p.Scheduler, DefaultSchedulerPort)
	def(&p.MetricsServer, DefaultMetricsServerPort)
}

// layout is the resolved settings and the paths of everything a server keeps under
// its data dir:
//
//	<data-dir>/server/tls/        PKI (pki package)
//	<data-dir>/server/cred/       component kubeconfigs
//	<data-dir>/server/etc/        generated component configuration files
//	<data-dir>/server/db/etcd/    embedded etcd's data
type layout struct {
	cfg      *config.Config
	ports    Ports
	hostname string
	nodeIP   net.IP
	pki      *pki.PKI
	token    join.Token
}

func (l *layout) serverDir() string { return filepath.Join(l.cfg.DataDir, "server") }
func (l *layout) tlsDir() string    { return filepath.Join(l.serverDir(), "tls") }
func (l *layout) credDir() string   { return filepath.Join(l.serverDir(), "cred") }
func (l *layout) etcDir() string    { return filepath.Join(l.serverDir(), "etc") }
func (l *layout) etcdDir() string   { return filepath.Join(l.serverDir(), "db", "etcd") }
func (l *layout) kubeconfig(user string) string {
	return filepath.Join(l.credDir(), user+".kubeconfig")
}
func (l *layout) schedulerConfig() string { return filepath.Join(l.etcDir(), "scheduler.yaml") }
func (l *layout) apiURL() string {
	return "https://127.0.0.1:" + strconv.Itoa(l.cfg.HTTPSPort)
}
func (l *layout) serviceAccountIssuer() string {
	return "https://kubernetes.default.svc." + l.cfg.ClusterDomain
}

// etcdServers is what the apiserver's --etcd-servers gets.
func (l *layout) etcdServers() string {
	if l.cfg.DatastoreEndpoint != "" {
		return l.cfg.DatastoreEndpoint
	}
	return "https://127.0.0.1:" + strconv.Itoa(l.ports.EtcdClient)
}

// firstServiceIP is the kubernetes Service's ClusterIP: the service range's first
// address after the network address (10.43.0.1 for 10.43.0.0/16).
func firstServiceIP(cidr string) (net.IP, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, err
	}
	a := p.Masked().Addr().Next()
	if !p.Contains(a) {
		return nil, fmt.Errorf("service-cidr %s has no room for the kubernetes Service", cidr)
	}
	return net.IP(a.AsSlice()), nil
}

func (l *layout) pkiSpec() (pki.Spec, error) {
	svcIP, err := firstServiceIP(l.cfg.ServiceCIDR)
	if err != nil {
		return pki.Spec{}, err
	}
	return pki.Spec{
		NodeName:      l.cfg.NodeName,
		Hostname:      l.hostname,
		NodeIP:        l.nodeIP,
		ServiceIP:     svcIP,
		ClusterDomain: l.cfg.ClusterDomain,
		ExtraSANs:     l.cfg.TLSSANs,
	}, nil
}

// flag renders one --name=value argument.
func flag(name string, value any) string { return fmt.Sprintf("--%s=%v", name, value) }

// apiserverArgs are kube-apiserver's arguments. Its listener is handed over already
// bound (see Run), so --bind-address and --secure-port only describe it.
func (l *layout) apiserverArgs() []string {
	p := l.pki
	args := []string{
		flag("advertise-address", l.nodeIP),
		flag("bind-address", "0.0.0.0"),
		flag("secure-port", l.cfg.HTTPSPort),
		flag("allow-privileged", true),
		flag("anonymous-auth", false),
		flag("authorization-mode", "Node,RBAC"),
		// Agents join with a bootstrap token (orchestrator/join).
		flag("enable-bootstrap-token-auth", true),
		flag("enable-admission-plugins", "NodeRestriction"),
		flag("profiling", false),
		flag("client-ca-file", p.Cert(pki.ClusterCA)),
		flag("tls-cert-file", p.Cert(pki.APIServer)),
		flag("tls-private-key-file", p.Key(pki.APIServer)),
		flag("kubelet-client-certificate", p.Cert(pki.APIServerKubeletClient)),
		flag("kubelet-client-key", p.Key(pki.APIServerKubeletClient)),
		// Kubelets serve with certificates from the cluster CA: check them.
		flag("kubelet-certificate-authority", p.Cert(pki.ClusterCA)),
		flag("proxy-client-cert-file", p.Cert(pki.FrontProxyClient)),
		flag("proxy-client-key-file", p.Key(pki.FrontProxyClient)),
		flag("requestheader-client-ca-file", p.Cert(pki.FrontProxyCA)),
		flag("requestheader-allowed-names", "system:auth-proxy"),
		flag("requestheader-username-headers", "X-Remote-User"),
		flag("requestheader-group-headers", "X-Remote-Group"),
		flag("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
		flag("enable-aggregator-routing", true),
		flag("service-account-issuer", l.serviceAccountIssuer()),
		flag("api-audiences", l.serviceAccountIssuer()),
		flag("service-account-key-file", p.ServiceAccountPublicKey()),
		flag("service-account-signing-key-file", p.ServiceAccountPrivateKey()),
		flag("service-cluster-ip-range", l.cfg.ServiceCIDR),
		flag("service-node-port-range", "30000-32767"),
		flag("default-not-ready-toleration-seconds", l.cfg.NotReadyTolerationSeconds),
		flag("default-unreachable-toleration-seconds", l.cfg.UnreachableTolerationSeconds),
		flag("etcd-servers", l.etcdServers()),
	}
	if l.cfg.DatastoreEndpoint == "" {
		args = append(args,
			flag("etcd-cafile", p.Cert(pki.EtcdCA)),
			flag("etcd-certfile", p.Cert(pki.APIServerEtcdClient)),
			flag("etcd-keyfile", p.Key(pki.APIServerEtcdClient)))
	} else {
		for f, v := range map[string]string{
			"etcd-cafile":   l.cfg.DatastoreCAFile,
			"etcd-certfile": l.cfg.DatastoreCertFile,
			"etcd-keyfile":  l.cfg.DatastoreKeyFile,
		} {
			if v != "" {
				args = append(args, flag(f, v))
			}
		}
	}
	return args
}

// controllerManagerArgs are kube-controller-manager's arguments. It signs kubelet
// certificates with the cluster CA and service-account tokens with the server's key.
func (l *layout) controllerManagerArgs() []string {
	p := l.pki
	kc := l.kubeconfig(pki.ControllerManager)
	return []string{
		flag("kubeconfig", kc),
		flag("authentication-kubeconfig", kc),
		flag("authorization-kubeconfig", kc),
		flag("bind-address", "127.0.0.1"),
		flag("secure-port", l.ports.ControllerManager),
		flag("profiling", false),
		flag("leader-elect", true),
		flag("use-service-account-credentials", true),
		flag("service-account-private-key-file", p.ServiceAccountPrivateKey()),
		flag("root-ca-file", p.Cert(pki.ClusterCA)),
		flag("cluster-signing-cert-file", p.Cert(pki.ClusterCA)),
		flag("cluster-signing-key-file", p.Key(pki.ClusterCA)),
		flag("cluster-cidr", l.cfg.ClusterCIDR),
		flag("allocate-node-cidrs", true),
		flag("service-cluster-ip-range", l.cfg.ServiceCIDR),
		flag("node-monitor-grace-period", l.cfg.NodeMonitorGracePeriod.Duration),
		flag("configure-cloud-routes", false),
		flag("controllers", "*,tokencleaner"),
	}
}

// schedulerArgs are kube-scheduler's arguments; the rest is in its configuration file.
// Like the controller-manager, it serves /healthz on loopback with a self-signed
// certificate it keeps in memory.
// metricsServerArgs: metrics-server serves the metrics.k8s.io API for the aggregator
// (authenticating it by the front-proxy certificate, read from the cluster) and scrapes
// every kubelet at its InternalIP, checking the kubelet's serving certificate against
// the cluster CA.
func (l *layout) metricsServerArgs() []string {
	p := l.pki
	kc := l.kubeconfig(pki.MetricsServerClient)
	return []string{
		flag("secure-port", l.ports.MetricsServer),
		flag("bind-address", "0.0.0.0"),
		flag("tls-cert-file", p.Cert(pki.MetricsServer)),
		flag("tls-private-key-file", p.Key(pki.MetricsServer)),
		flag("kubeconfig", kc),
		flag("authentication-kubeconfig", kc),
		flag("authorization-kubeconfig", kc),
		flag("kubelet-certificate-authority", p.Cert(pki.ClusterCA)),
		flag("kubelet-client-certificate", p.Cert(pki.MetricsServerClient)),
		flag("kubelet-client-key", p.Key(pki.MetricsServerClient)),
		flag("kubelet-preferred-address-types", "InternalIP"),
		flag("kubelet-use-node-status-port", true),
		flag("metric-resolution", "15s"),
	}
}

func (l *layout) schedulerArgs() []string {
	kc := l.kubeconfig(pki.Scheduler)
	return []string{
		flag("config", l.schedulerConfig()),
		flag("authentication-kubeconfig", kc),
		flag("authorization-kubeconfig", kc),
		flag("bind-address", "127.0.0.1"),
		flag("secure-port", l.ports.Scheduler),
	}
}

// schedulerConfiguration renders the KubeSchedulerConfiguration.
//
// binpack (the default) scores nodes with NodeResourcesFit MostAllocated, so pods
// fill the fullest node that fits, and drops the scheduler's implicit topology
// spreading (the system default PodTopologySpread constraints would otherwise pull
// replicas apart); constraints a pod sets itself still apply. It also turns off
// NodeResourcesBalancedAllocation: for pods that request mostly one resource, that
// score favours the emptier node about as much as MostAllocated favours the fuller
// one, and placement became close to a coin toss. spread scores with LeastAllocated
// and keeps the system defaults.
func (l *layout) schedulerConfiguration() ([]byte, error) {
	strategy := "MostAllocated"
	if l.cfg.Scheduler == config.SchedulerSpread {
		strategy = "LeastAllocated"
	}
	pluginConfig := []any{map[string]any{
		"name": "NodeResourcesFit",
		"args": map[string]any{
			"scoringStrategy": map[string]any{
				"type": strategy,
				"resources": []any{
					map[string]any{"name": "cpu", "weight": 1},
					map[string]any{"name": "memory", "weight": 1},
				},
			},
		},
	}}
	if l.cfg.Scheduler == config.SchedulerBinpack {
		pluginConfig = append(pluginConfig, map[string]any{
			"name": "PodTopologySpread",
			"args": map[string]any{"defaultingType": "List"},
		})
	}
	profile := map[string]any{
		"schedulerName": "default-scheduler",
		"pluginConfig":  pluginConfig,
	}
	if l.cfg.Scheduler == config.SchedulerBinpack {
		profile["plugins"] = map[string]any{
			"score": map[string]any{"disabled": []any{map[string]any{"name": "NodeResourcesBalancedAllocation"}}},
		}
	}
	return yaml.Marshal(map[string]any{
		"apiVersion": "kubescheduler.config.k8s.io/v1",
		"kind":       "KubeSchedulerConfiguration",
		"clientConnection": map[string]any{
			"kubeconfig": l.kubeconfig(pki.Scheduler),
		},
		"leaderElection": map[string]any{"leaderElect": true},
		"profiles":       []any{profile},
	})
}
