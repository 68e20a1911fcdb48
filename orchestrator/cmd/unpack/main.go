// Command unpack is the bundle's own unpacker: `unpack BUNDLE DIR` extracts the
// bundle's zstd payload into DIR, so a host needs tar and nothing else (see
// package bundle). It stays small: it links the zstd decoder and the standard library.
package main

import (
	"fmt"
	"os"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/bundle"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: unpack BUNDLE DIR")
		os.Exit(2)
	}
	if err := bundle.Unpack(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "unpack:", err)
		os.Exit(1)
	}
}
