package bootstrap

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// bundleInfo describes a local bundle tarball: what it is and how to check it on a host.
type bundleInfo struct {
	Path    string
	Name    string // file name, as stored on hosts
	SHA256  string
	Size    int64
	Version string
	Arch    string
	// Files lists each file's sha256 from manifest.json, checked after unpacking.
	Files map[string]string
}

// ReleaseDir is the versioned folder the bundle unpacks to.
func (b *bundleInfo) ReleaseDir() string {
	return releasesDir + "/" + safeName(b.Version) + "-" + b.SHA256[:12]
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._+-]`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

type manifest struct {
	Slipway string            `json:"slipway"`
	Arch    string            `json:"arch"`
	Files   map[string]string `json:"files"`
}

func readBundles(paths map[string]string) (map[string]*bundleInfo, error) {
	out := map[string]*bundleInfo{}
	for arch, p := range paths {
		b, err := readBundle(p)
		if err != nil {
			return nil, err
		}
		if b.Arch != "" && b.Arch != arch {
			return nil, fmt.Errorf("bundle %s is for %s, given for %s", p, b.Arch, arch)
		}
		b.Arch = arch
		out[arch] = b
	}
	return out, nil
}

// readBundle checksums the tarball and reads its manifest.json.
func readBundle(path string) (*bundleInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", path, err)
	}
	b := &bundleInfo{Path: path, Name: filepath.Base(path), SHA256: hex.EncodeToString(h.Sum(nil)), Size: size}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("bundle %s is not a gzip tarball: %w", path, err)
	}
	tr := tar.NewReader(zr)
	var m *manifest
	hasBinary := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", path, err)
		}
		switch strings.TrimPrefix(hdr.Name, "./") {
		case "manifest.json":
			m = &manifest{}
			if err := json.NewDecoder(tr).Decode(m); err != nil {
				return nil, fmt.Errorf("bundle %s: manifest.json: %w", path, err)
			}
		case "bin/slipway":
			hasBinary = true
		}
	}
	if m == nil || m.Slipway == "" {
		return nil, fmt.Errorf("bundle %s has no manifest.json naming its version", path)
	}
	if !hasBinary {
		return nil, fmt.Errorf("bundle %s has no bin/slipway", path)
	}
	b.Version, b.Arch, b.Files = m.Slipway, m.Arch, m.Files
	return b, nil
}

// checkLines is the manifest as `sha256sum -c` input.
func (b *bundleInfo) checkLines() string {
	names := make([]string, 0, len(b.Files))
	for n := range b.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&sb, "%s  %s\n", b.Files[n], n)
	}
	return sb.String()
}
