package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryImage reads the pause image archive as containerd's importer does: an
// OCI layout whose index names the image and whose blobs match their digests.
func TestBinaryImage(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(bin, []byte("\x7fELF pretend"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := FromBinary(Spec{Repo: "slipway.local/pause", Path: bin, Name: "pause", Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := FromBinary(Spec{Repo: "slipway.local/pause", Path: bin, Name: "pause", Arch: "amd64"})
	if !bytes.Equal(img.Archive, again.Archive) || img.Ref != again.Ref {
		t.Fatal("the same binary gave two different images")
	}
	if !strings.HasPrefix(img.Ref, "slipway.local/pause:") {
		t.Fatalf("ref = %q", img.Ref)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(img.Archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	for name, b := range files {
		if d, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && Digest(b) != "sha256:"+d {
			t.Errorf("blob %s has digest %s", name, Digest(b))
		}
	}
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Annotations["io.containerd.image.name"] != img.Ref {
		t.Fatalf("index = %+v", index)
	}
	var manifest struct {
		Config struct{ Digest string }   `json:"config"`
		Layers []struct{ Digest string } `json:"layers"`
	}
	if err := json.Unmarshal(files["blobs/sha256/"+strings.TrimPrefix(index.Manifests[0].Digest, "sha256:")], &manifest); err != nil {
		t.Fatal(err)
	}
	layer := files["blobs/sha256/"+strings.TrimPrefix(manifest.Layers[0].Digest, "sha256:")]
	lr := tar.NewReader(bytes.NewReader(layer))
	h, err := lr.Next()
	if err != nil || h.Name != "pause" || h.Mode != 0o755 {
		t.Fatalf("layer's file = %+v, %v; want pause, mode 0755", h, err)
	}
}
