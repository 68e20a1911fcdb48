package bootstrap

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/bundle"
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
// reading a bundle means checksumming all of it, most of a second for the real
// one, and a process (the provider) works
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

// readBundle checksums the bundle and reads its manifest.json, in one pass.
func readBundle(path string) (*bundleInfo, error) {
	fi, err := os.Stat(path)
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
	info, err := bundle.Read(path)
	if err != nil {
		return nil, err
	}
	m := info.Manifest
	b := &bundleInfo{Path: path, Name: filepath.Base(path), SHA256: info.SHA256, Size: info.Size,
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
