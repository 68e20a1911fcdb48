// Command slipway-agent is the agent's part of slipway alone: containerd, kubelet,
// kube-proxy and the pod network, without the apiserver, etcd, controllers or
// kubectl. `slipway agent` runs it when it sits beside slipway (as in the bundle):
// linking less keeps an idle agent's memory about half of what the full binary takes.
package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/agent"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/cmd/internal/process"
)

func main() {
	process.Run(func(context.Context) *cobra.Command {
		root := &cobra.Command{
			Use:           "slipway",
			Short:         "Slipway agent: a node's part of upstream Kubernetes",
			SilenceUsage:  true,
			SilenceErrors: true,
		}
		root.AddCommand(agent.NewCommand(), process.NewVersionCommand())
		return root
	})
}
