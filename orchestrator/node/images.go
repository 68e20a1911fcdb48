package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/ociimage"
)

// systemImages are built from the bundle's binaries of the same name on every node:
// the pod sandbox, and the cluster add-ons that run as pods.
var systemImages = []string{"pause", "coredns", "volume-helper"}

// systemImage builds the system image name from the bundle's binary of that name.
// The sandbox runs as upstream's pause does, as 65535.
func systemImage(binDir, name string) (*ociimage.Image, error) {
	user := ""
	if name == "pause" {
		user = "65535:65535"
	}
	return ociimage.FromBinary(ociimage.Spec{Repo: "slipway.local/" + name, Path: filepath.Join(binDir, name), Name: name, Arch: runtime.GOARCH, User: user})
}

// ImageRef is the reference of the system image built from the bundle's binary
// name in binDir: what a server puts into the add-ons it deploys.
func ImageRef(binDir, name string) (string, error) {
	img, err := systemImage(binDir, name)
	if err != nil {
		return "", err
	}
	return img.Ref, nil
}

// importImages loads the system images and every image archive in
// <data-dir>/images (docker save or OCI layout tarballs, also compressed) into the
// runtime, unpacked for the CRI snapshotter, so pods start with no registry.
func (n *node) importImages(ctx context.Context, snapshotter string) error {
	// Building the system images holds their binaries in memory several times over
	// (CoreDNS alone is 50 MB); Go would give that back to the kernel only over
	// minutes, and an idle agent would look three times its size. Give it back now.
	defer debug.FreeOSMemory()
	for _, name := range systemImages {
		img, err := systemImage(n.opts.BinDir, name)
		if err != nil {
			return fmt.Errorf("%s image: %w", name, err)
		}
		tmp := filepath.Join(n.agentDir(), name+"-image.tar")
		if err := writeFile(tmp, img.Archive, 0o600); err != nil {
			return err
		}
		_, err = n.ctr(ctx, "images", "import", "--local", "--snapshotter", snapshotter, tmp)
		os.Remove(tmp)
		if err != nil {
			return fmt.Errorf("import the %s image: %w", name, err)
		}
	}
	dir := filepath.Join(n.opts.Config.DataDir, "images")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("images folder: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && imageArchive(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		start := time.Now()
		if _, err := n.ctr(ctx, "images", "import", "--local", "--snapshotter", snapshotter, filepath.Join(dir, name)); err != nil {
			// One bad archive must not keep the node down: its pods report the missing image.
			klog.Errorf("slipway: image archive %s not imported: %v", filepath.Join(dir, name), err)
			continue
		}
		klog.Infof("slipway: imported image archive %s (%s)", name, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func imageArchive(name string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.zst"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}
