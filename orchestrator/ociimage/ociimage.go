// Package ociimage writes OCI image archives (the layout `ctr images import` and
// `docker load` read) holding one static executable. Nodes build their system
// images (pause, CoreDNS) with it from the bundle's binaries, and the demo builds
// its web image with it, so nothing needs a registry.
package ociimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"time"
)

// Image is an image archive and the reference it is imported under.
type Image struct {
	Ref     string // repo:tag, e.g. slipway.local/pause:<hash of the binary>
	Archive []byte // OCI image layout as a tar stream
}

// Spec describes an image of one executable.
type Spec struct {
	Repo string // slipway.local/pause
	// Tag; "" takes the binary's hash, so a new binary brings a new image and the
	// same binary always the same one.
	Tag  string
	Path string // the executable
	Name string // stored as /<Name>, the entrypoint
	Arch string // amd64, arm64
	User string // "65535:65535"; "" runs as root
}

// FromBinary builds the image. The same inputs give the same bytes.
func FromBinary(s Spec) (*Image, error) {
	bin, err := os.ReadFile(s.Path)
	if err != nil {
		return nil, err
	}
	tag := s.Tag
	if tag == "" {
		sum := sha256.Sum256(bin)
		tag = hex.EncodeToString(sum[:])[:16]
	}
	ref := s.Repo + ":" + tag

	// The layer: one file with fixed metadata.
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	if err := tw.WriteHeader(&tar.Header{Name: s.Name, Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	cfg := map[string]any{"Entrypoint": []string{"/" + s.Name}}
	if s.User != "" {
		cfg["User"] = s.User
	}
	config, err := json.Marshal(map[string]any{
		"architecture": s.Arch,
		"os":           "linux",
		"config":       cfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{Digest(layer.Bytes())}},
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
			"org.opencontainers.image.ref.name": tag,
		})},
	})
	if err != nil {
		return nil, err
	}

	var out bytes.Buffer
	aw := tar.NewWriter(&out)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{BlobPath(config), config},
		{BlobPath(layer.Bytes()), layer.Bytes()},
		{BlobPath(manifest), manifest},
	} {
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
	return &Image{Ref: ref, Archive: out.Bytes()}, nil
}

// Digest is b's OCI content digest.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// BlobPath is where b lives in an OCI layout.
func BlobPath(b []byte) string {
	return "blobs/sha256/" + strings.TrimPrefix(Digest(b), "sha256:")
}

func descriptor(mediaType string, b []byte, annotations map[string]string) map[string]any {
	d := map[string]any{"mediaType": mediaType, "digest": Digest(b), "size": len(b)}
	if annotations != nil {
		d["annotations"] = annotations
	}
	return d
}
