// Package process is what both node binaries (slipway and slipway-agent) do around
// their commands: garbage-collector and logging settings, signals, exit status.
package process

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/version"
)

// defaultGCPercent is the node's GOGC unless the environment sets one.
const defaultGCPercent = 25

// Run runs the root command built by newRoot and exits with its status.
func Run(newRoot func(context.Context) *cobra.Command) {
	// kubelet and kube-proxy (and the apiserver on a server) each apply their logging
	// configuration; in one process the same configuration applied again is fine, a
	// different one is still an error.
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
	// A node idles far more than it works: collect garbage when the heap has grown by
	// 25% rather than Go's default 100%. `make bench` measured an agent at 344 MiB
	// with 100% and 172 MiB with 20%; GOGC in the service's environment overrides it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRoot(ctx)
	root.SetContext(ctx)
	err := cli.RunNoErrOutput(root)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

// NewVersionCommand is `slipway version`.
func NewVersionCommand() *cobra.Command {
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
