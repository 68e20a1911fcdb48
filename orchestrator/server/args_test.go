package server

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/klog/v2"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/validation"

	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/pki"
)

func testLayout(t *testing.T, mutate func(*config.Config)) *layout {
	t.Helper()
	c := &config.Config{Role: config.RoleServer, DataDir: filepath.Join(t.TempDir(), "data"), NodeName: "node-a"}
	if mutate != nil {
		mutate(c)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	l := &layout{cfg: c, hostname: "host-a", nodeIP: net.ParseIP("10.90.0.5")}
	l.ports.defaults()
	l.pki = &pki.PKI{Dir: l.tlsDir()}
	return l
}

// TestArgs_ParsedByTheComponents: every generated argument is one the upstream
// component knows, and the settings arrive in the component's options.
func TestArgs_ParsedByTheComponents(t *testing.T) {
	l := testLayout(t, func(c *config.Config) {
		c.ServiceCIDR = "10.96.0.0/12"
		c.ClusterDNS = "10.96.0.10"
		c.ClusterCIDR = "10.244.0.0/16"
		c.NotReadyTolerationSeconds = 45
		c.UnreachableTolerationSeconds = 50
		c.NodeMonitorGracePeriod.Duration = 33 * time.Second
	})

	api, err := apiserverOptions(l.apiserverArgs())
	if err != nil {
		t.Fatalf("kube-apiserver rejects its arguments: %v", err)
	}
	if got := api.ServiceClusterIPRanges; got != "10.96.0.0/12" {
		t.Errorf("service-cluster-ip-range = %q", got)
	}
	if got := api.Authorization.Modes; !slices.Equal(got, []string{"Node", "RBAC"}) {
		t.Errorf("authorization modes = %v", got)
	}
	// These two land in an admission plugin's package variables; that the apiserver
	// parsed them is checked above, their values here.
	for _, want := range []string{"--default-not-ready-toleration-seconds=45", "--default-unreachable-toleration-seconds=50"} {
		if !slices.Contains(l.apiserverArgs(), want) {
			t.Errorf("apiserver arguments lack %s", want)
		}
	}
	if got := api.Etcd.StorageConfig.Transport.ServerList; !slices.Equal(got, []string{"https://127.0.0.1:2379"}) {
		t.Errorf("etcd servers = %v", got)
	}
	if got := api.Authentication.ServiceAccounts.Issuers; !slices.Equal(got, []string{"https://kubernetes.default.svc.cluster.local"}) {
		t.Errorf("service-account issuer = %v", got)
	}
	if api.Etcd.StorageConfig.Transport.CertFile != l.pki.Cert(pki.APIServerEtcdClient) {
		t.Errorf("etcd client certificate = %q", api.Etcd.StorageConfig.Transport.CertFile)
	}

	cm, err := controllerManagerOptions(l.controllerManagerArgs())
	if err != nil {
		t.Fatalf("kube-controller-manager rejects its arguments: %v", err)
	}
	if got := cm.KubeCloudShared.ClusterCIDR; got != "10.244.0.0/16" {
		t.Errorf("cluster-cidr = %q", got)
	}
	if !cm.KubeCloudShared.AllocateNodeCIDRs {
		t.Error("allocate-node-cidrs is off")
	}
	if got := cm.NodeLifecycleController.NodeMonitorGracePeriod.Duration; got != 33*time.Second {
		t.Errorf("node-monitor-grace-period = %v", got)
	}
	if got := cm.CSRSigningController.ClusterSigningCertFile; got != l.pki.Cert(pki.ClusterCA) {
		t.Errorf("cluster-signing-cert-file = %q", got)
	}

	sched, err := schedulerOptions(l.schedulerArgs())
	if err != nil {
		t.Fatalf("kube-scheduler rejects its arguments: %v", err)
	}
	if sched.ConfigFile != l.schedulerConfig() {
		t.Errorf("scheduler config = %q", sched.ConfigFile)
	}
}

// TestArgs_ExternalDatastore: with datastore-endpoint the apiserver talks to it with
// the given TLS files, not to an embedded etcd.
func TestArgs_ExternalDatastore(t *testing.T) {
	l := testLayout(t, func(c *config.Config) {
		c.DatastoreEndpoint = "https://etcd-1:2379,https://etcd-2:2379"
		c.DatastoreCAFile = "/etc/etcd/ca.crt"
		c.DatastoreCertFile = "/etc/etcd/client.crt"
		c.DatastoreKeyFile = "/etc/etcd/client.key"
	})
	api, err := apiserverOptions(l.apiserverArgs())
	if err != nil {
		t.Fatal(err)
	}
	tr := api.Etcd.StorageConfig.Transport
	if !slices.Equal(tr.ServerList, []string{"https://etcd-1:2379", "https://etcd-2:2379"}) || tr.TrustedCAFile != "/etc/etcd/ca.crt" || tr.CertFile != "/etc/etcd/client.crt" {
		t.Errorf("etcd transport = %+v", tr)
	}
}

// TestArgs_SchedulerPolicy: binpack scores with MostAllocated and drops the implicit
// spreading and the balanced-allocation score; spread scores with LeastAllocated. Both files pass the scheduler's own
// loading and validation.
func TestArgs_SchedulerPolicy(t *testing.T) {
	for policy, want := range map[string]schedconfig.ScoringStrategyType{
		config.SchedulerBinpack: schedconfig.MostAllocated,
		config.SchedulerSpread:  schedconfig.LeastAllocated,
	} {
		t.Run(policy, func(t *testing.T) {
			l := testLayout(t, func(c *config.Config) { c.Scheduler = policy })
			data, err := l.schedulerConfiguration()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "scheduler.yaml")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := scheduleroptions.LoadConfigFromFile(klog.Background(), path)
			if err != nil {
				t.Fatalf("the scheduler cannot load its configuration: %v\n%s", err, data)
			}
			if err := validation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
				t.Fatalf("invalid scheduler configuration: %v\n%s", err, data)
			}
			if cfg.ClientConnection.Kubeconfig != l.kubeconfig(pki.Scheduler) {
				t.Errorf("kubeconfig = %q", cfg.ClientConnection.Kubeconfig)
			}
			var fit *schedconfig.NodeResourcesFitArgs
			var spread *schedconfig.PodTopologySpreadArgs
			for _, pc := range cfg.Profiles[0].PluginConfig {
				switch a := pc.Args.(type) {
				case *schedconfig.NodeResourcesFitArgs:
					fit = a
				case *schedconfig.PodTopologySpreadArgs:
					spread = a
				}
			}
			if fit == nil || fit.ScoringStrategy == nil || fit.ScoringStrategy.Type != want {
				t.Fatalf("NodeResourcesFit scoring = %+v, want %s", fit, want)
			}
			implicit := spread == nil || spread.DefaultingType == schedconfig.SystemDefaulting
			if implicit != (policy == config.SchedulerSpread) {
				t.Errorf("implicit topology spreading = %v for %s", implicit, policy)
			}
			// The defaults are enabled through multiPoint; a score plugin turned off is
			// listed under score.disabled.
			balanced := true
			for _, d := range cfg.Profiles[0].Plugins.Score.Disabled {
				if d.Name == "NodeResourcesBalancedAllocation" || d.Name == "*" {
					balanced = false
				}
			}
			if balanced != (policy == config.SchedulerSpread) {
				t.Errorf("NodeResourcesBalancedAllocation scoring = %v for %s", balanced, policy)
			}
		})
	}
}

func TestFirstServiceIP(t *testing.T) {
	for cidr, want := range map[string]string{"10.43.0.0/16": "10.43.0.1", "10.96.0.0/12": "10.96.0.1", "fd00:43::/108": "fd00:43::1"} {
		got, err := firstServiceIP(cidr)
		if err != nil || got.String() != want {
			t.Errorf("firstServiceIP(%s) = %v, %v; want %s", cidr, got, err, want)
		}
	}
}
