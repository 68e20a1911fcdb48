package node

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

// binaryImage is an OCI image holding one static executable, built on the node from
// what the bundle ships: the pod sandbox (pause) needs no registry.
type binaryImage struct {
	ref     string // slipway.local/pause:<hash of the binary>
	archive []byte // OCI image layout as a tar stream
}

// newBinaryImage makes an image whose only file is the executable at path, as
// /<name>, with it as the entrypoint. The tag is the binary's hash, so a new bundle
// with a new binary brings a new image and the same bundle always the same one.
func newBinaryImage(name, path string) (*binaryImage, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	binSum := sha256.Sum256(bin)
	ref := "slipway.local/" + name + ":" + hex.EncodeToString(binSum[:])[:16]

	// The layer: one file, fixed metadata, so the same binary gives the same digest.
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	hdr := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerDigest := digest(layer.Bytes())

	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config":       map[string]any{"Entrypoint": []string{"/" + name}, "User": "65535:65535"},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	})
	if err != nil {
		return nil, err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor("application/vnd.oci.image.config.v1+json", config, nil),
		"layers":        []any{descriptor("application/vnd.oci.image.layer.v1.tar", layer.Bytes(), nil)},
	})
	if err != nil {
		return nil, err
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []any{descriptor("application/vnd.oci.image.manifest.v1+json", manifest, map[string]string{
			"io.containerd.image.name":          ref,
			"org.opencontainers.image.ref.name": ref[strings.LastIndex(ref, ":")+1:],
		})},
	})
	if err != nil {
		return nil, err
	}

	var out bytes.Buffer
	aw := tar.NewWriter(&out)
	files := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{blobPath(config), config},
		{blobPath(layer.Bytes()), layer.Bytes()},
		{blobPath(manifest), manifest},
	}
	for _, f := range files {
		if err := aw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := aw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return &binaryImage{ref: ref, archive: out.Bytes()}, nil
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func blobPath(b []byte) string {
	return "blobs/sha256/" + strings.TrimPrefix(digest(b), "sha256:")
}

func descriptor(mediaType string, b []byte, annotations map[string]string) map[string]any {
	d := map[string]any{"mediaType": mediaType, "digest": digest(b), "size": len(b)}
	if annotations != nil {
		d["annotations"] = annotations
	}
	return d
}

// systemImages are built from the bundle's binaries of the same name on every node:
// the pod sandbox, and the cluster add-ons that run as pods.
var systemImages = []string{"pause", "coredns"}

// ImageRef is the reference of the system image built from the bundle's binary
// name in binDir: what a server puts into the add-ons it deploys.
func ImageRef(binDir, name string) (string, error) {
	img, err := newBinaryImage(name, filepath.Join(binDir, name))
	if err != nil {
		return "", err
	}
	return img.ref, nil
}

// importImages loads the system images and every image archive in
// <data-dir>/images (docker save or OCI layout tarballs, also compressed) into the
// runtime, unpacked for the CRI snapshotter, so pods start with no registry.
func (n *node) importImages(ctx context.Context, snapshotter string) error {
	for _, name := range systemImages {
		img := n.pause
		if name != "pause" {
			var err error
			if img, err = newBinaryImage(name, filepath.Join(n.opts.BinDir, name)); err != nil {
				return fmt.Errorf("%s image: %w", name, err)
			}
		}
		tmp := filepath.Join(n.agentDir(), name+"-image.tar")
		if err := writeFile(tmp, img.archive, 0o600); err != nil {
			return err
		}
		_, err := n.ctr(ctx, "images", "import", "--local", "--snapshotter", snapshotter, tmp)
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
