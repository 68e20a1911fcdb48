// Command volume-helper prepares and removes the folders of local volumes on a node.
// A server runs it in a short pod on the volume's node (as k3s's local-path
// provisioner runs a helper pod), so no node needs to hand out rights to the API.
//
//	volume-helper rm <dir>     remove a released volume's folder
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "rm" {
		fmt.Fprintln(os.Stderr, "usage: volume-helper rm <dir under /storage>")
		os.Exit(2)
	}
	dir := filepath.Clean(os.Args[2])
	// Only below the storage mount, never the mount itself.
	if !strings.HasPrefix(dir, "/storage/") {
		fmt.Fprintf(os.Stderr, "volume-helper: %s is not below /storage\n", dir)
		os.Exit(2)
	}
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "volume-helper:", err)
		os.Exit(1)
	}
	fmt.Println("removed", dir)
}
