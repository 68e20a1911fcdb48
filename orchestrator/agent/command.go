package agent

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// NewCommand is `slipway agent`.
func NewCommand() *cobra.Command {
	var (
		path string
		over config.Config
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Join a cluster and run pods: containerd, kubelet, kube-proxy and the pod network",
		Long: `Join the cluster at server with a join token, then run this node's part:
containerd, the upstream kubelet and kube-proxy, and the pod network.

The join token (slipway:<id>.<secret>:sha256:<CA hash>, from the server's token
file or 'slipway token create') pins the cluster CA: the agent refuses a server
that does not present it, and refuses to start when the server does not accept
the token. The kubelet then gets its certificates from the cluster.

Settings come from the settings file (--config); the flags below override it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := &config.Config{Role: config.RoleAgent}
			// Without a settings file at the default path, flags alone can do.
			if _, err := os.Stat(path); err == nil || cmd.Flags().Changed("config") {
				if c, err = config.Load(path); err != nil {
					return fmt.Errorf("settings file %w", err)
				}
			}
			f := cmd.Flags()
			for name, apply := range map[string]func(){
				"server":    func() { c.Server = over.Server },
				"token":     func() { c.Token = over.Token },
				"data-dir":  func() { c.DataDir = over.DataDir },
				"node-name": func() { c.NodeName = over.NodeName },
				"node-ip":   func() { c.NodeIP = over.NodeIP },
			} {
				if f.Changed(name) {
					apply()
				}
			}
			return Run(cmd.Context(), Options{Config: c})
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "config", config.DefaultPath, "the settings file")
	f.StringVar(&over.Server, "server", "", "the URL of a server to join (https://host:6443)")
	f.StringVar(&over.Token, "token", "", "the join token (prefer the settings file: flags show in the process list)")
	f.StringVar(&over.DataDir, "data-dir", "", "where the node keeps its state (default /var/lib/slipway)")
	f.StringVar(&over.NodeName, "node-name", "", "this node's name (default: the hostname, lowercased)")
	f.StringVar(&over.NodeIP, "node-ip", "", "the address other nodes reach this one on (default: the address of the default route's interface)")
	return cmd
}
