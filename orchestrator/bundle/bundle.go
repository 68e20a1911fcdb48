// Package bundle is the node bundle's file format, read by the bootstrapper on the
// workstation and unpacked on hosts.
//
// A bundle is a plain (uncompressed) tar of three members, in this order:
//
//	manifest.json    what the bundle is: versions, architecture, each file's sha256
//	unpack           a small static program for the bundle's architecture
//	payload.tar.zst  the files (bin/slipway, bin/slipway-agent, containerd, ...)
//
// zstd with a long window compresses the two Go binaries, which share most of their
// code, into little more than one; gzip cannot (its window is 32 KiB), and minimal
// hosts have tar but not zstd. So a host needs only tar: it takes `unpack` out and
// lets it decompress the payload (UnpackScript).
package bundle

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Member names in the outer tar.
const (
	ManifestName = "manifest.json"
	UnpackName   = "unpack"
	PayloadName  = "payload.tar.zst"
)

// maxWindow is the largest zstd window a payload may use (hack/bundle.sh: --long=27).
const maxWindow = 1 << 27

// Manifest is manifest.json.
type Manifest struct {
	Slipway    string `json:"slipway"`
	Kubernetes string `json:"kubernetes"`
	Arch       string `json:"arch"`
	// Files maps each payload file to its sha256, checked on the host after unpacking.
	Files map[string]string `json:"files"`
}

// Info is what Read finds in a bundle file.
type Info struct {
	Manifest Manifest
	SHA256   string // of the whole file
	Size     int64
}

// Read checksums a bundle and reads its manifest, checking the members are there.
func Read(path string) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	tr := tar.NewReader(io.TeeReader(f, h))
	var m *Manifest
	members := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bundle %s is not a Slipway bundle (a tar of %s, %s and %s): %w",
				path, ManifestName, UnpackName, PayloadName, err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		members[name] = true
		if name == ManifestName {
			m = &Manifest{}
			if err := json.NewDecoder(tr).Decode(m); err != nil {
				return nil, fmt.Errorf("bundle %s: %s: %w", path, ManifestName, err)
			}
		}
	}
	// Tar's end-of-archive padding counts for the checksum too.
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", path, err)
	}
	if m == nil || m.Slipway == "" {
		return nil, fmt.Errorf("bundle %s has no %s naming its version", path, ManifestName)
	}
	for _, want := range []string{UnpackName, PayloadName} {
		if !members[want] {
			return nil, fmt.Errorf("bundle %s has no %s", path, want)
		}
	}
	if _, ok := m.Files["bin/slipway"]; !ok {
		return nil, fmt.Errorf("bundle %s has no bin/slipway", path)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", path, err)
	}
	return &Info{Manifest: *m, SHA256: hex.EncodeToString(h.Sum(nil)), Size: fi.Size()}, nil
}

// UnpackScript is the shell that unpacks the bundle file at bundle into the existing,
// empty folder dir on a host: it needs tar and nothing else.
func UnpackScript(bundle, dir string) string {
	return fmt.Sprintf(`tar -xf %[1]s -C %[2]s --no-same-owner %[3]s && %[2]s/%[3]s %[1]s %[2]s && rm -f %[2]s/%[3]s`,
		bundle, dir, UnpackName)
}

// Unpack extracts the payload of the bundle file at bundle into dir: what the
// `unpack` member does on a host.
func Unpack(bundle, dir string) error {
	f, err := os.Open(bundle)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s has no %s", bundle, PayloadName)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", bundle, err)
		}
		if strings.TrimPrefix(hdr.Name, "./") == PayloadName {
			return unpackPayload(tr, dir)
		}
	}
}

func unpackPayload(r io.Reader, dir string) error {
	zr, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("payload: %w", err)
		}
		name := filepath.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." {
			continue
		}
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("payload entry %q is outside the bundle", hdr.Name)
		}
		p := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(p, tr, os.FileMode(hdr.Mode).Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("payload entry %q: only files and folders are expected", hdr.Name)
		}
	}
}

func writeFile(p string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// File is one payload file for Write.
type File struct {
	Name string
	Mode int64
	Data []byte
}

// Write writes a bundle: the manifest (its Files filled in from files), the unpack
// program and the payload. `make bundle` packs with the zstd command line for a better
// ratio; Write serves tests and tools that make small bundles.
func Write(w io.Writer, m Manifest, unpack []byte, files []File) error {
	m.Files = map[string]string{}
	var payload strings.Builder
	zw, err := zstd.NewWriter(&payload)
	if err != nil {
		return err
	}
	ptw := tar.NewWriter(zw)
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		m.Files[f.Name] = hex.EncodeToString(sum[:])
		if err := ptw.WriteHeader(&tar.Header{Name: f.Name, Mode: f.Mode, Size: int64(len(f.Data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := ptw.Write(f.Data); err != nil {
			return err
		}
	}
	if err := ptw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, member := range []File{{ManifestName, 0o644, mb}, {UnpackName, 0o755, unpack}, {PayloadName, 0o644, []byte(payload.String())}} {
		if err := tw.WriteHeader(&tar.Header{Name: member.Name, Mode: member.Mode, Size: int64(len(member.Data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(member.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}
