// Command ociimage packs one static executable into an OCI image archive, for
// `ctr images import` or a node's <data-dir>/images folder. The demo builds its web
// image with it: no registry and no image builder needed.
//
//	go run ./hack/ociimage -ref slipway.local/demo-web:1 -name web -o dist/images/demo-web.tar bin/web
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/ociimage"
)

func main() {
	ref := flag.String("ref", "", "the image reference, repo:tag")
	name := flag.String("name", "", "the executable's name in the image (default: the file's)")
	out := flag.String("o", "", "the archive to write")
	arch := flag.String("arch", runtime.GOARCH, "the image's architecture")
	user := flag.String("user", "65532:65532", "the user the entrypoint runs as")
	flag.Parse()
	if flag.NArg() != 1 || *ref == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: ociimage -ref repo:tag -o archive.tar [-name N] [-arch A] EXECUTABLE")
		os.Exit(2)
	}
	repo, tag, ok := strings.Cut(*ref, ":")
	if !ok || strings.Contains(tag, "/") {
		fmt.Fprintf(os.Stderr, "ociimage: -ref %q needs a tag (repo:tag)\n", *ref)
		os.Exit(2)
	}
	if *name == "" {
		*name = filepath.Base(flag.Arg(0))
	}
	img, err := ociimage.FromBinary(ociimage.Spec{Repo: repo, Tag: tag, Path: flag.Arg(0), Name: *name, Arch: *arch, User: *user})
	if err == nil {
		err = os.MkdirAll(filepath.Dir(*out), 0o755)
	}
	if err == nil {
		err = os.WriteFile(*out+".tmp", img.Archive, 0o644)
	}
	if err == nil {
		err = os.Rename(*out+".tmp", *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
	fmt.Println(img.Ref, *out)
}
