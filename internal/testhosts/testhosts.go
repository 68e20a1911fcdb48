// Package testhosts gives tests real Linux hosts: containers with systemd and OpenSSH
// started by hack/testhosts/hosts.sh, described by the inventory it writes.
package testhosts

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/bundle"
)

// Inventory is .slipway/hosts.json as hosts.sh writes it.
type Inventory struct {
	Set        string `json:"set"`
	Network    string `json:"network"`
	Subnet     string `json:"subnet"`
	PrivateKey string `json:"private_key"`
	Hosts      []Host `json:"hosts"`
}

// Host is one test host.
type Host struct {
	Name          string `json:"name"`
	Address       string `json:"address"`
	Port          int    `json:"port"`
	Users         []User `json:"users"`
	HostPublicKey string `json:"host_public_key"`
}

// User is a login on a test host.
type User struct {
	Name         string `json:"name"`
	Sudo         bool   `json:"sudo"`
	SudoPassword string `json:"sudo_password,omitempty"`
}

// User returns the named login, failing the test when the host has none.
func (h Host) User(t testing.TB, name string) User {
	t.Helper()
	for _, u := range h.Users {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("test host %s has no user %q", h.Name, name)
	return User{}
}

// RepoRoot is the checkout the test runs in: the nearest folder above the working
// directory (go test runs in the package's folder) that holds go.mod. Source paths
// from runtime.Caller cannot serve: builds here use -trimpath.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// Enabled reports whether the end-to-end tier is switched on; tests skip otherwise.
func Enabled() bool { return os.Getenv("SLIPWAY_E2E") == "1" }

// SkipUnlessEnabled skips t, saying why, when the end-to-end tier is off.
func SkipUnlessEnabled(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skip("end-to-end test: needs test hosts (docker); set SLIPWAY_E2E=1 or run make e2e")
	}
}

// Start brings up n hosts in their own set (so tests running in parallel never share
// hosts by accident) and removes them when the test ends, unless SLIPWAY_KEEP_HOSTS=1.
func Start(t testing.TB, set string, n int) Inventory {
	t.Helper()
	file := filepath.Join(t.TempDir(), "hosts-"+set+".json")
	env := append(os.Environ(), "SLIPWAY_HOSTS_SET="+set, "SLIPWAY_HOSTS_FILE="+file)
	if os.Getenv("SLIPWAY_KEEP_HOSTS") != "1" {
		t.Cleanup(func() {
			if out, err := hostsCmd(env, "down").CombinedOutput(); err != nil {
				t.Errorf("remove test hosts of set %s: %v\n%s", set, err, out)
			}
		})
	}
	cmd := hostsCmd(env, "up", strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("start %d test hosts (set %s): %v\n%s", n, set, err, out)
	}
	inv, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Hosts) != n {
		t.Fatalf("inventory %s lists %d hosts, want %d", file, len(inv.Hosts), n)
	}
	return inv
}

func hostsCmd(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(RepoRoot(), "hack", "testhosts", "hosts.sh"), args...)
	cmd.Env = env
	return cmd
}

// Load reads an inventory file.
func Load(path string) (Inventory, error) {
	var inv Inventory
	b, err := os.ReadFile(path)
	if err != nil {
		return inv, fmt.Errorf("read test host inventory: %w", err)
	}
	if err := json.Unmarshal(b, &inv); err != nil {
		return inv, fmt.Errorf("parse test host inventory %s: %w", path, err)
	}
	return inv, nil
}

// PrivateKeyPEM reads the client key every test host accepts.
func (inv Inventory) PrivateKeyPEM(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(inv.PrivateKey)
	if err != nil {
		t.Fatalf("read test hosts' client key: %v", err)
	}
	return b
}

// UnpackSlipway unpacks the bundle into dir and gives the path of its slipway binary,
// for `slipway kubectl`.
func UnpackSlipway(t testing.TB, b, dir string) string {
	t.Helper()
	if err := bundle.Unpack(b, dir); err != nil {
		t.Fatalf("unpack %s: %v", b, err)
	}
	return filepath.Join(dir, "bin", "slipway")
}

// Leftovers lists what Slipway left on host h after its removal: its files, anything in
// its data dir (a volume on test hosts, so the folder itself stays) and its processes.
// Empty means clean.
func Leftovers(t testing.TB, h Host) string {
	t.Helper()
	script := "for p in /usr/local/bin/slipway /opt/slipway /etc/slipway /etc/systemd/system/slipway.service; do " +
		"[ -e $p ] && echo $p; done; ls -A /var/lib/slipway 2>/dev/null; pgrep -x slipway; pgrep -x slipway-agent; true"
	out, err := exec.Command("docker", "exec", h.Name, "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: look for leftovers: %v\n%s", h.Name, err, out)
	}
	return strings.TrimSpace(string(out))
}
