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
	"sync"
	"time"
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

// bundleCache keeps what readBundle found, by path, size and modification time:
// reading a bundle means decompressing all of it (the manifest comes after the
// binary), over a second for the real one, and a process (the provider) works
// with the same bundle for every host.
var bundleCache = struct {
	sync.Mutex
	m map[bundleKey]*bundleInfo
}{m: map[bundleKey]*bundleInfo{}}

type bundleKey struct {
	path  string
	size  int64
	mtime time.Time
}

// readBundle checksums the tarball and reads its manifest.json, in one pass.
func readBundle(path string) (*bundleInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	abs, _ := filepath.Abs(path)
	key := bundleKey{abs, fi.Size(), fi.ModTime()}
	bundleCache.Lock()
	cached := bundleCache.m[key]
	bundleCache.Unlock()
	if cached != nil {
		b := *cached
		b.Path = path
		return &b, nil
	}

	h := sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(f, h))
	if err != nil {
		return nil, fmt.Errorf("bundle %s is not a gzip tarball: %w", path, err)
	}
	tr := tar.NewReader(zr)
	var m *manifest
	hasBinary := false
	for m == nil || !hasBinary {
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
	// The rest of the file counts for the checksum, decompressed or not.
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", path, err)
	}
	if m == nil || m.Slipway == "" {
		return nil, fmt.Errorf("bundle %s has no manifest.json naming its version", path)
	}
	if !hasBinary {
		return nil, fmt.Errorf("bundle %s has no bin/slipway", path)
	}
	b := &bundleInfo{Path: path, Name: filepath.Base(path), SHA256: hex.EncodeToString(h.Sum(nil)), Size: fi.Size(),
		Version: m.Slipway, Arch: m.Arch, Files: m.Files}
	bundleCache.Lock()
	bundleCache.m[key] = b
	bundleCache.Unlock()
	c := *b
	return &c, nil
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
