package bootstrap

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap/remote"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/bundle"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// fakeSlipway is the bundle's bin/slipway in tests: it answers version and status and
// runs as a long-lived service, without Kubernetes. Like a node with pods, it leaves a
// child ("sleep 1000001", a stand-in for a container shim) that must outlive restarts
// (KillMode=process) and be gone after a reset.
const fakeSlipway = `#!/bin/sh
case "$1" in
version) printf 'slipway %s\nkubernetes v1.37.2\n' "@VERSION@" ;;
status) exit 0 ;;
server|agent) sleep 1000001 & exec sleep infinity ;;
*) echo "fake slipway: unknown command $1" >&2; exit 2 ;;
esac
`

// makeBundle writes a small bundle like `make bundle` does: bin/slipway and a
// manifest.json listing the files' checksums.
func makeBundle(t testing.TB, dir, version, arch string) string {
	return makePaddedBundle(t, dir, version, arch, nil)
}

// makePaddedBundle adds share/padding to the bundle: a big bundle uploads slowly.
func makePaddedBundle(t testing.TB, dir, version, arch string, padding []byte) string {
	t.Helper()
	files := []bundle.File{{Name: "bin/slipway", Mode: 0o755, Data: []byte(strings.ReplaceAll(fakeSlipway, "@VERSION@", version))}}
	if padding != nil {
		files = append(files, bundle.File{Name: "share/padding", Mode: 0o644, Data: padding})
	}
	p := filepath.Join(dir, fmt.Sprintf("slipway-%s-linux-%s.tar", version, arch))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := bundle.Manifest{Slipway: version, Kubernetes: "v1.37.2", Arch: arch}
	if err := bundle.Write(f, m, unpackProgram(t), files); err != nil {
		t.Fatal(err)
	}
	return p
}

var unpackBuild struct {
	sync.Once
	data []byte
	err  error
}

// unpackProgram is the bundle's unpack program for this machine, built once: fake
// bundles unpack on real test hosts too.
func unpackProgram(t testing.TB) []byte {
	t.Helper()
	unpackBuild.Do(func() {
		out := filepath.Join(os.TempDir(), fmt.Sprintf("slipway-test-unpack-%d", os.Getpid()))
		defer os.Remove(out)
		cmd := exec.Command("go", "build", "-o", out, "github.com/slipway-dev/terraform-provider-slipway/orchestrator/cmd/unpack")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if b, err := cmd.CombinedOutput(); err != nil {
			unpackBuild.err = fmt.Errorf("build the unpack program: %v\n%s", err, b)
			return
		}
		unpackBuild.data, unpackBuild.err = os.ReadFile(out)
	})
	if unpackBuild.err != nil {
		t.Fatal(unpackBuild.err)
	}
	return unpackBuild.data
}

// fakeHost emulates, on a remote.Fake, the commands the phases run on a Debian host
// with systemd: files, the binary link, the service's state, the host lock.
type fakeHost struct {
	*remote.Fake
	t *testing.T

	mu       sync.Mutex
	uid      string
	home     string
	hostname string
	// otherKubernetes is what the facts report of another Kubernetes on the host.
	otherKubernetes string
	init            string
	machine         string
	files           map[string][]byte // files the phases put in place on the host
	link            string            // /usr/local/bin/slipway's target
	releases        map[string]string // release dir -> bundle checksum it came from
	enabled         bool
	active          bool
	unitLoaded      []byte // the unit systemd has loaded
	pending         bool
	lockHolder      string
	lockAlive       bool
	generation      int // the lock's acquisitions
	statusFails     int // `slipway status` fails this many times before succeeding; -1 forever
	journal         string
	restarts        int
	starts          int
	// otherNodes adds lines to `kubectl get nodes` (under mu): nodes of other hosts.
	otherNodes func() []string
	// afterFacts runs (under mu) once the facts script's answer is ready: a stand-in
	// for another run changing the host right after this run looked at it.
	afterFacts func()
}

// fakeJoinToken is the join token a fake server keeps, pinned to a made-up CA.
const fakeJoinToken = "slipway:abc123.0123456789abcdef:sha256:" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func newFakeHost(t *testing.T, root bool) *fakeHost {
	fh := &fakeHost{t: t, Fake: &remote.Fake{Name: "fake-1:22", Root: root}, init: "systemd", machine: "x86_64",
		files: map[string][]byte{}, releases: map[string]string{}, uid: "0", home: "/root", hostname: "fake-1"}
	if !root {
		fh.uid, fh.home = "1000", "/home/admin"
	}
	fh.script()
	return fh
}

func (fh *fakeHost) ok(c remote.Call, m []string) (string, error) { return "", nil }

func (fh *fakeHost) upload(p string) []byte {
	f, ok := fh.File(p)
	if !ok {
		fh.t.Fatalf("fake host: %s was never uploaded", p)
	}
	return f.Data
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (fh *fakeHost) script() {
	f := fh.Fake
	lock := func(fn func(c remote.Call, m []string) (string, error)) func(c remote.Call, m []string) (string, error) {
		return func(c remote.Call, m []string) (string, error) {
			fh.mu.Lock()
			defer fh.mu.Unlock()
			return fn(c, m)
		}
	}
	f.On(`^printf '%s %s\\n' "\$\(id -u\)" "\$HOME"$`, lock(func(remote.Call, []string) (string, error) {
		return fh.uid + " " + fh.home + "\n", nil
	}))
	f.On(`^set -u\nif \[ -r /etc/os-release \]`, lock(func(remote.Call, []string) (string, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "hostname=%s\nos=debian\nos_version=12\nmachine=%s\ninit=%s\ncgroup=2\ndisk_free_kib=10000000\ndata_free_kib=10000000\n", fh.hostname, fh.machine, fh.init)
		if fh.link != "" {
			fmt.Fprintf(&b, "binary=%s\nversion=%s\n", fh.link, "x")
		}
		if c, ok := fh.files[configPath]; ok {
			fmt.Fprintf(&b, "config=%s\n", base64.StdEncoding.EncodeToString(c))
		}
		if u, ok := fh.files[unitPath]; ok {
			fmt.Fprintf(&b, "unit_sha256=%s\n", sum(u))
		}
		state := "inactive"
		if fh.active {
			state = "active"
		}
		enabled := "disabled"
		if fh.enabled {
			enabled = "enabled"
		}
		load, reload := "not-found", "no"
		if fh.unitLoaded != nil {
			load = "loaded"
			if !bytes.Equal(fh.unitLoaded, fh.files[unitPath]) {
				reload = "yes"
			}
		}
		fmt.Fprintf(&b, "active=%s\nenabled=%s\nload_state=%s\nneed_reload=%s\n", state, enabled, load, reload)
		if fh.pending {
			b.WriteString("restart_pending=yes\n")
		}
		fmt.Fprintf(&b, "lock_generation=%d\nother_kubernetes=%s\n", fh.generation, fh.otherKubernetes)
		if fh.afterFacts != nil {
			fh.afterFacts()
		}
		return b.String(), nil
	}))
	f.On(`^f=(\S+); r=(\S+)\n`, lock(func(_ remote.Call, m []string) (string, error) {
		var b strings.Builder
		if data, ok := fh.files[m[1]]; ok {
			fmt.Fprintf(&b, "bundle_sha256=%s\n", sum(data))
		}
		if s, ok := fh.releases[m[2]]; ok {
			fmt.Fprintf(&b, "release_sha256=%s\n", s)
		}
		return b.String(), nil
	}))
	f.On(`^HOLDER=(\S+) PID=(\S+) BY=`, lock(func(c remote.Call, m []string) (string, error) {
		if fh.lockHolder != "" && fh.lockHolder != m[1] && fh.lockAlive {
			return "", f.Exit(c, 75, "held\nholder="+fh.lockHolder+"\npid=123\nsince=2026-01-01T00:00:00Z\nby=elsewhere pid 9\n", "")
		}
		out := "ok\n"
		if fh.lockHolder != "" {
			out = "stale\nholder=" + fh.lockHolder + "\npid=123\n"
		}
		fh.lockHolder, fh.lockAlive = m[1], true
		out += fmt.Sprintf("generation=%d\n", fh.generation)
		fh.generation++
		return out, nil
	}))
	f.On(`^f=/run/slipway/bootstrap.lock; if .* grep -qx '?holder=(\w+)'?`, lock(func(_ remote.Call, m []string) (string, error) {
		if fh.lockHolder == m[1] {
			fh.lockHolder = ""
		}
		return "", nil
	}))
	f.On(`^mkdir -p /opt/slipway/bundles /opt/slipway/releases && rm -f`, fh.ok)
	f.On(`^mkdir -p -m 0700 \S+/\.slipway-staging$`, fh.ok)
	f.On(`^rm -rf \S+/\.slipway-staging$`, fh.ok)
	f.On(`^set -e\n(?:install -m 0644 -o root -g root (\S+) (\S+) && rm -f \S+ && )?got=\$\(sha256sum <(\S+) \| cut -c1-64\)\nif \[ "\$got" != (\S+) \][^\n]*\nmv -f \S+ (\S+)$`,
		lock(func(c remote.Call, m []string) (string, error) {
			staged := m[3]
			if m[1] != "" {
				staged = m[1]
			}
			data := fh.upload(staged)
			if sum(data) != m[4] {
				return "", f.Exit(c, 1, "", "checksum mismatch after upload")
			}
			fh.files[m[5]] = data
			return "", nil
		}))
	f.On(`^set -eu\nrel=(\S+); bundle=(\S+); want=(\S+); prev=`, lock(func(_ remote.Call, m []string) (string, error) {
		if sum(fh.files[m[2]]) != m[3] && fh.releases[m[1]] != m[3] {
			fh.t.Errorf("unpack of a bundle that is not on the host")
		}
		fh.releases[m[1]] = m[3]
		fh.link = m[1] + "/bin/slipway"
		return "", nil
	}))
	f.On(`^mkdir -p /run/slipway && touch /run/slipway/restart-pending$`, lock(func(remote.Call, []string) (string, error) {
		fh.pending = true
		return "", nil
	}))
	f.On(`^rm -f /run/slipway/restart-pending$`, lock(func(remote.Call, []string) (string, error) {
		fh.pending = false
		return "", nil
	}))
	f.On(`^set -e; mkdir -p \S+; install -m (\d+) -o root -g root (\S+) \S+; rm -f \S+; mv -f \S+ (\S+)$`,
		lock(func(_ remote.Call, m []string) (string, error) {
			fh.files[m[3]] = fh.upload(m[2])
			return "", nil
		}))
	f.On(`^systemctl daemon-reload$`, lock(func(remote.Call, []string) (string, error) {
		fh.unitLoaded = fh.files[unitPath]
		return "", nil
	}))
	f.On(`^systemctl enable slipway.service$`, lock(func(remote.Call, []string) (string, error) {
		fh.enabled = true
		return "", nil
	}))
	f.On(`^systemctl (re)?start slipway.service$`, lock(func(_ remote.Call, m []string) (string, error) {
		if fh.unitLoaded == nil {
			return "", fmt.Errorf("fake host: start before the unit was loaded")
		}
		if m[1] != "" {
			fh.restarts++
		} else {
			fh.starts++
		}
		fh.active = true
		return "", nil
	}))
	f.On(`^timeout 30 /usr/local/bin/slipway status$`, lock(func(c remote.Call, _ []string) (string, error) {
		if fh.statusFails != 0 {
			if fh.statusFails > 0 {
				fh.statusFails--
			}
			return "", f.Exit(c, 1, "", "not ready: apiserver not answering")
		}
		return "ready\n", nil
	}))
	f.On(`^cat /etc/slipway/admin.kubeconfig$`, lock(func(c remote.Call, _ []string) (string, error) {
		if !fh.active {
			return "", f.Exit(c, 1, "", "cat: /etc/slipway/admin.kubeconfig: No such file or directory")
		}
		return fakeKubeconfig, nil
	}))
	f.On(`^cat /var/lib/slipway/server/token$`, lock(func(c remote.Call, _ []string) (string, error) {
		if !fh.active {
			return "", f.Exit(c, 1, "", "cat: /var/lib/slipway/server/token: No such file or directory")
		}
		return fakeJoinToken + "\n", nil
	}))
	f.On(` --cache-dir /run/slipway/kubectl-cache get nodes -o jsonpath=`, lock(func(remote.Call, []string) (string, error) {
		var b strings.Builder
		// A server with a kubelet is a node itself, Ready while it runs.
		if c, err := config.Parse(fh.files[configPath]); fh.active && err == nil && !c.DisableAgent {
			name := c.NodeName
			if name == "" {
				name = fh.hostname
			}
			b.WriteString(name + "\tTrue\tKubeletReady\tkubelet is posting ready status\n")
		}
		if fh.otherNodes != nil {
			for _, l := range fh.otherNodes() {
				b.WriteString(l + "\n")
			}
		}
		return b.String(), nil
	}))
	f.On(`^journalctl -u slipway.service`, lock(func(remote.Call, []string) (string, error) { return fh.journal, nil }))
	f.On(`^set -u\ndata=`, lock(func(remote.Call, []string) (string, error) {
		fh.files, fh.releases, fh.link = map[string][]byte{}, map[string]string{}, ""
		fh.enabled, fh.active, fh.unitLoaded, fh.pending = false, false, nil, false
		return "", nil
	}))
}

// mutating lists the calls that changed something on the host.
func mutating(calls []remote.Call) []string {
	var out []string
	for _, c := range calls {
		switch {
		case c.Upload != "":
			out = append(out, "upload "+c.Upload)
		case strings.HasPrefix(c.Cmd, "systemctl "), strings.HasPrefix(c.Cmd, "set -e"), strings.Contains(c.Cmd, "touch "),
			strings.HasPrefix(c.Cmd, "mkdir -p /opt"):
			out = append(out, strings.SplitN(c.Cmd, "\n", 2)[0])
		}
	}
	return out
}

// fakeKubeconfig is what a server writes: its API on loopback, credentials inline.
const fakeKubeconfig = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EgREFUQQ==
    server: https://127.0.0.1:6443
  name: slipway
contexts:
- context:
    cluster: slipway
    user: slipway
  name: slipway
current-context: slipway
kind: Config
preferences: {}
users:
- name: slipway
  user:
    client-certificate-data: Q0VSVCBEQVRB
    client-key-data: ` + fakeClientKey + `
`

const fakeClientKey = "S0VZLURBVEEtc2VjcmV0LWNsaWVudC1rZXk="

// countCalls counts the commands run on fh that match.
func countCalls(fh *fakeHost, match func(cmd string) bool) int {
	n := 0
	for _, c := range fh.Calls() {
		if match(c.Cmd) {
			n++
		}
	}
	return n
}
