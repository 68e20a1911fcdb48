// Command slipway is the node binary: one multi-call executable that runs the
// upstream Kubernetes components on a host.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/agent"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/cmd/internal/process"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/server"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/status"
)

func main() {
	// An agent runs as slipway-agent when the bundle has it: that binary links only
	// the node's components (no apiserver, etcd or controllers), so the agent's
	// process is about half the size in memory.
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		execLeanAgent()
	}
	process.Run(newRootCommand)
}

// execLeanAgent replaces this process with slipway-agent from beside this binary,
// with the same arguments; without it, the agent runs in this process.
func execLeanAgent() {
	self, err := os.Executable()
	if err != nil {
		return
	}
	lean := filepath.Join(filepath.Dir(self), "slipway-agent")
	if _, err := os.Stat(lean); err != nil {
		return
	}
	argv := append([]string{lean}, os.Args[1:]...)
	err = syscall.Exec(lean, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "slipway: running the agent in this process: exec %s: %v\n", lean, err)
}

func newRootCommand(ctx context.Context) *cobra.Command {
	root := &cobra.Command{
		Use:           "slipway",
		Short:         "Slipway node: upstream Kubernetes in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(process.NewVersionCommand(), server.NewCommand(), agent.NewCommand(), status.NewCommand(),
		server.NewTokenCommand(), newDrainCommand())

	kubectl := kubectlcmd.NewDefaultKubectlCommand()
	kubectl.Use = "kubectl"
	kubectl.Short = "kubectl at the Kubernetes version Slipway packages"
	root.AddCommand(kubectl)

	// The upstream components, each runnable on its own, for debugging. They are
	// built only when called: building kube-apiserver's command installs a
	// process-wide signal handler that may exist only once, and `slipway server`
	// runs the components itself.
	components := &cobra.Command{Use: "component", Short: "Run one upstream Kubernetes component by itself"}
	for name, build := range map[string]func() *cobra.Command{
		"kube-apiserver":          apiserver.NewAPIServerCommand,
		"kube-controller-manager": controllermanager.NewControllerManagerCommand,
		"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
		"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(ctx) },
		"kube-proxy":              proxy.NewProxyCommand,
	} {
		components.AddCommand(&cobra.Command{
			Use:                name,
			Short:              "Run " + name + " (all arguments go to it; --help lists them)",
			DisableFlagParsing: true,
			RunE: func(_ *cobra.Command, args []string) error {
				c := build()
				c.SetArgs(args)
				return c.Execute()
			},
		})
	}
	root.AddCommand(components)
	return root
}

// newDrainCommand is `slipway drain NODE`: upstream kubectl drain with the settings
// a node's removal wants (cordon, then evict every pod but daemon sets', honouring
// PodDisruptionBudgets, within a timeout), through the server's admin kubeconfig.
func newDrainCommand() *cobra.Command {
	var kubeconfig string
	var timeout time.Duration
	var force bool
	cmd := &cobra.Command{
		Use:   "drain NODE",
		Short: "Cordon a node and evict its pods, honouring PodDisruptionBudgets (on a server)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k := kubectlcmd.NewDefaultKubectlCommand()
			k.SetArgs([]string{"drain", args[0], "--kubeconfig", kubeconfig, "--ignore-daemonsets", "--delete-emptydir-data",
				"--timeout", timeout.String(), fmt.Sprintf("--force=%t", force)})
			return k.ExecuteContext(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "/etc/slipway/admin.kubeconfig", "the admin kubeconfig")
	cmd.Flags().BoolVar(&force, "force", false, "also delete pods no controller will recreate (a node about to be removed)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long (pods a PodDisruptionBudget protects wait until then)")
	return cmd
}
