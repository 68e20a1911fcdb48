package bundle

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestWriteReadUnpack(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "b.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	files := []File{{"bin/slipway", 0o755, []byte("#!/bin/sh\n")}, {"share/x/y", 0o644, []byte("y")}}
	if err := Write(f, Manifest{Slipway: "1.2.3", Kubernetes: "v1.37.2", Arch: "amd64"}, []byte("unpack"), files); err != nil {
		t.Fatal(err)
	}
	f.Close()
	info, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	m := info.Manifest
	if m.Slipway != "1.2.3" || m.Arch != "amd64" || len(m.Files) != 2 || info.Size == 0 || len(info.SHA256) != 64 {
		t.Fatalf("Read = %+v", info)
	}
	out := t.TempDir()
	if err := Unpack(p, out); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(out, "bin", "slipway"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("bin/slipway: %v %v", st, err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "share", "x", "y")); string(b) != "y" {
		t.Fatalf("share/x/y = %q", b)
	}
}

func TestReadRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "old.tar.gz")
	os.WriteFile(gz, []byte("\x1f\x8b\x08\x00 not a tar"), 0o644)
	if _, err := Read(gz); err == nil || !strings.Contains(err.Error(), "is not a Slipway bundle") {
		t.Fatalf("Read(gzip) = %v", err)
	}
	// A tar with a manifest and nothing else.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	m := []byte(`{"slipway":"1","files":{"bin/slipway":"00"}}`)
	tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(m)), Typeflag: tar.TypeReg})
	tw.Write(m)
	tw.Close()
	p := filepath.Join(dir, "partial.tar")
	os.WriteFile(p, buf.Bytes(), 0o644)
	if _, err := Read(p); err == nil || !strings.Contains(err.Error(), "has no unpack") {
		t.Fatalf("Read(partial) = %v", err)
	}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	var payload bytes.Buffer
	zw, _ := zstd.NewWriter(&payload)
	ptw := tar.NewWriter(zw)
	ptw.WriteHeader(&tar.Header{Name: "../escape", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	ptw.Write([]byte("x"))
	ptw.Close()
	zw.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	if err := unpackPayload(&payload, out); err == nil || !strings.Contains(err.Error(), "outside the bundle") {
		t.Fatalf("unpack ../escape = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
		t.Fatal("../escape was written")
	}
}
