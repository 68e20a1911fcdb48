// Command slipway is the node binary: one multi-call executable that runs the
// upstream Kubernetes components on a host.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	logsapi "k8s.io/component-base/logs/api/v1"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/agent"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/server"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/status"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/version"
)

// defaultGCPercent is the node's GOGC unless the environment sets one.
const defaultGCPercent = 25

func main() {
	// The apiserver, kubelet and kube-proxy each apply their logging configuration;
	// in one process the same configuration applied again is fine, a different one
	// is still an error.
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
	// A node idles far more than it works: collect garbage when the heap has grown by
	// 25% rather than Go's default 100%. `make bench` measured an agent at 344 MiB
	// with 100% and 172 MiB with 20%; GOGC in the service's environment overrides it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRootCommand(ctx)
	root.SetContext(ctx)
	err := cli.RunNoErrOutput(root)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func newRootCommand(ctx context.Context) *cobra.Command {
	root := &cobra.Command{
		Use:           "slipway",
		Short:         "Slipway node: upstream Kubernetes in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand(), server.NewCommand(), agent.NewCommand(), status.NewCommand(),
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

func newVersionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print Slipway's version and the Kubernetes version it packages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			switch output {
			case "":
				fmt.Fprint(cmd.OutOrStdout(), info.String())
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			default:
				return fmt.Errorf("unknown output format %q: use json or leave it empty", output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
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
