package server

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// NewCommand is `slipway server`.
func NewCommand() *cobra.Command {
	var (
		path  string
		over  config.Config
		ports Ports
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a server: etcd, kube-apiserver, kube-controller-manager and kube-scheduler",
		Long: `Run a server node's control plane in this process: embedded etcd (or the
external datastore-endpoint), kube-apiserver, kube-controller-manager and
kube-scheduler, each the upstream Kubernetes component.

Settings come from the settings file (--config); the flags below override it. The
certificates are generated on first start under <data-dir>/server/tls and reused
afterwards; the admin kubeconfig is written to write-kubeconfig once the API is ready.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(path, cmd.Flags().Changed("config"))
			if err != nil {
				return err
			}
			f := cmd.Flags()
			if f.Changed("data-dir") {
				c.DataDir = over.DataDir
			}
			if f.Changed("node-name") {
				c.NodeName = over.NodeName
			}
			if f.Changed("node-ip") {
				c.NodeIP = over.NodeIP
			}
			if f.Changed("https-port") {
				c.HTTPSPort = over.HTTPSPort
			}
			if f.Changed("disable-agent") {
				c.DisableAgent = over.DisableAgent
			}
			if f.Changed("write-kubeconfig") {
				c.WriteKubeconfig = over.WriteKubeconfig
			}
			return Run(cmd.Context(), Options{Config: c, Ports: ports})
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "config", config.DefaultPath, "the settings file; when the default file is missing, the defaults apply")
	f.StringVar(&over.DataDir, "data-dir", "", "where the node keeps its state (default /var/lib/slipway)")
	f.StringVar(&over.NodeName, "node-name", "", "this node's name (default: the hostname)")
	f.StringVar(&over.NodeIP, "node-ip", "", "the address other nodes reach this one on (default: the address of the default route's interface)")
	f.IntVar(&over.HTTPSPort, "https-port", 0, "the Kubernetes API's port (default 6443)")
	f.BoolVar(&over.DisableAgent, "disable-agent", false, "run the control plane only, no kubelet or other node components")
	f.StringVar(&over.WriteKubeconfig, "write-kubeconfig", "", "where to write the admin kubeconfig (default /etc/slipway/admin.kubeconfig)")
	// Loopback ports the node does not need to move; tests do.
	f.IntVar(&ports.EtcdClient, "etcd-client-port", 0, "embedded etcd's client port")
	f.IntVar(&ports.EtcdPeer, "etcd-peer-port", 0, "embedded etcd's peer port")
	f.IntVar(&ports.ControllerManager, "controller-manager-port", 0, "kube-controller-manager's port")
	f.IntVar(&ports.Scheduler, "scheduler-port", 0, "kube-scheduler's port")
	f.IntVar(&ports.MetricsServer, "metrics-server-port", 0, "metrics-server's port (default 4443)")
	for _, n := range []string{"etcd-client-port", "etcd-peer-port", "controller-manager-port", "scheduler-port", "metrics-server-port"} {
		_ = f.MarkHidden(n)
	}
	return cmd
}

// loadConfig reads the settings file. A missing file is fine only when it is the
// default path nobody asked for: then the defaults apply, with role server.
func loadConfig(path string, explicit bool) (*config.Config, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !explicit {
		c := &config.Config{Role: config.RoleServer}
		c.Defaults()
		return c, nil
	}
	c, err := config.Load(path)
	if err != nil {
		return nil, fmt.Errorf("settings file %w", err)
	}
	return c, nil
}
