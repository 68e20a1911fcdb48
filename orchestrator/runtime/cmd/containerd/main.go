// Command containerd is upstream containerd (with its CRI plugin) as the node bundle
// ships it. Called as `containerd ctr ...` it is upstream ctr instead, so a host has
// the runtime's own client for looking around and for importing images, without a
// second 40 MB binary.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/cmd/containerd/command"
	ctr "github.com/containerd/containerd/v2/cmd/ctr/app"

	_ "github.com/containerd/containerd/v2/cmd/containerd/builtins"
)

func main() {
	ctx := context.Background()
	if len(os.Args) > 1 && os.Args[1] == "ctr" {
		if err := ctr.New().Run(ctx, os.Args[1:]); err != nil {
			_, _ = fmt.Fprintln(os.Stderr, "ctr:", err)
			os.Exit(1)
		}
		return
	}
	if err := command.App().Run(ctx, os.Args); err != nil {
		_, _ = fmt.Fprintln(os.Stderr, "containerd:", err)
		os.Exit(1)
	}
}
