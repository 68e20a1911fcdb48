package bootstrap

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap/remote"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// Facts is what a host is and has, gathered before anything changes.
type Facts struct {
	Hostname    string // the default node name
	OS          string // ID from /etc/os-release ("debian")
	OSVersion   string // VERSION_ID ("12")
	Machine     string // uname -m ("x86_64")
	Arch        string // the bundle architecture it needs ("amd64"); empty when unsupported
	Init        string // "systemd", or what PID 1 is
	Cgroup      int    // 1 or 2
	FreeDiskKiB int64  // free space where releases unpack (/opt)
	FreeDataKiB int64  // free space of the data dir's file system

	// The existing install, if any.
	BinaryTarget   string // where /usr/local/bin/slipway points
	Version        string // what `slipway version` reports
	ConfigPresent  bool
	ConfigChecksum string // sha256 of /etc/slipway/config.yaml
	UnitChecksum   string // sha256 of the systemd unit
	ServiceState   string // systemctl is-active: active, activating, inactive, failed, ...
	ServiceEnabled string // systemctl is-enabled: enabled, disabled, ...
	// UnitLoad is systemd's view of the unit: LoadState and NeedDaemonReload, so a
	// run killed between writing the unit and reloading systemd is finished later.
	UnitLoadState   string
	UnitNeedsReload bool
	// OtherKubernetes names signs of another Kubernetes on the host (a kubelet's
	// state, k3s, k0s, RKE2, MicroK8s); empty when there are none.
	OtherKubernetes string
	// RestartPending is set when an earlier run changed the binary or settings and
	// did not get to restart the service.
	RestartPending bool

	// Bundle state, for the bundle this host needs.
	BundleChecksum  string // sha256 of the uploaded tarball, if there
	ReleaseChecksum string // the bundle checksum the release folder was unpacked from

	existingConfig []byte
	// lockGeneration counts the host lock's acquisitions: a lock phase that finds
	// another count knows another run worked on the host after these facts.
	lockGeneration string
}

// Installed reports whether Slipway is (partly) installed.
func (f *Facts) Installed() bool {
	return f.BinaryTarget != "" || f.UnitChecksum != "" || f.ConfigPresent
}

// ServiceRunning is true while systemd runs or restarts the service.
func (f *Facts) ServiceRunning() bool {
	switch f.ServiceState {
	case "active", "activating", "reloading":
		return true
	}
	return false
}

// ExistingConfig parses the settings file found on the host.
func (f *Facts) ExistingConfig() (*config.Config, error) {
	if !f.ConfigPresent {
		return nil, nil
	}
	return config.Parse(f.existingConfig)
}

// factsScript prints key=value lines. It reads, never writes.
const factsScript = `set -u
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "hostname=$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)"
echo "os=${ID:-unknown}"
echo "os_version=${VERSION_ID:-}"
echo "machine=$(uname -m)"
if [ -d /run/systemd/system ]; then echo init=systemd; else echo "init=$(cat /proc/1/comm 2>/dev/null || echo unknown)"; fi
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo cgroup=2; else echo cgroup=1; fi
dfree() { df -Pk "$1" 2>/dev/null | awk 'NR == 2 { print $4; ok = 1 } END { exit !ok }'; }
echo "disk_free_kib=$(dfree /opt || dfree /)"
d=/var/lib/slipway; [ -d "$d" ] || d=/var/lib
echo "data_free_kib=$(dfree "$d")"
if [ -L /usr/local/bin/slipway ] || [ -e /usr/local/bin/slipway ]; then
	echo "binary=$(readlink /usr/local/bin/slipway || echo /usr/local/bin/slipway)"
	echo "version=$(timeout 20 /usr/local/bin/slipway version 2>/dev/null | awk 'NR == 1 { print $2 }')"
fi
if [ -f /etc/slipway/config.yaml ]; then echo "config=$(base64 -w0 </etc/slipway/config.yaml)"; fi
if [ -f /etc/systemd/system/slipway.service ]; then echo "unit_sha256=$(sha256sum </etc/systemd/system/slipway.service | cut -c1-64)"; fi
if command -v systemctl >/dev/null 2>&1; then
	echo "active=$(systemctl is-active slipway.service 2>/dev/null)"
	echo "enabled=$(systemctl is-enabled slipway.service 2>/dev/null)"
	echo "load_state=$(systemctl show -p LoadState --value slipway.service 2>/dev/null)"
	echo "need_reload=$(systemctl show -p NeedDaemonReload --value slipway.service 2>/dev/null)"
fi
if [ -f /run/slipway/restart-pending ]; then echo restart_pending=yes; fi
echo "lock_generation=$(cat /run/slipway/generation 2>/dev/null || echo 0)"
other=""
for p in /var/lib/kubelet /etc/kubernetes/kubelet.conf /var/lib/rancher /var/lib/k0s /var/snap/microk8s; do
	if [ -e "$p" ]; then other="$other $p"; fi
done
if command -v systemctl >/dev/null 2>&1; then
	for u in kubelet k3s k3s-agent k0scontroller k0sworker rke2-server rke2-agent snap.microk8s.daemon-kubelite; do
		if systemctl is-active -q "$u.service" 2>/dev/null; then other="$other $u.service"; fi
	done
fi
echo "other_kubernetes=${other# }"
`

func parseFacts(out string) (*Facts, error) {
	f := &Facts{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "hostname":
			f.Hostname = v
		case "os":
			f.OS = v
		case "os_version":
			f.OSVersion = v
		case "machine":
			f.Machine = v
			f.Arch = goArch(v)
		case "init":
			f.Init = v
		case "cgroup":
			f.Cgroup, _ = strconv.Atoi(v)
		case "disk_free_kib":
			f.FreeDiskKiB, _ = strconv.ParseInt(v, 10, 64)
		case "data_free_kib":
			f.FreeDataKiB, _ = strconv.ParseInt(v, 10, 64)
		case "binary":
			f.BinaryTarget = v
		case "version":
			f.Version = v
		case "config":
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", configPath, err)
			}
			f.ConfigPresent = true
			f.existingConfig = b
			f.ConfigChecksum = config.Checksum(b)
		case "unit_sha256":
			f.UnitChecksum = v
		case "active":
			f.ServiceState = v
		case "enabled":
			f.ServiceEnabled = v
		case "load_state":
			f.UnitLoadState = v
		case "need_reload":
			f.UnitNeedsReload = v == "yes"
		case "restart_pending":
			f.RestartPending = v == "yes"
		case "other_kubernetes":
			f.OtherKubernetes = v
		case "lock_generation":
			f.lockGeneration = v
		}
	}
	if f.Machine == "" {
		return nil, fmt.Errorf("unexpected facts output: %q", withoutConfig(out))
	}
	return f, nil
}

func goArch(machine string) string {
	switch machine {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64", "armv8l":
		return "arm64"
	}
	return ""
}

// bundleStateScript prints the checksum of the uploaded tarball and of the bundle the
// release folder came from.
func bundleStateScript(b *bundleInfo) string {
	return fmt.Sprintf(`f=%s; r=%s
if [ -f "$f" ]; then echo "bundle_sha256=$(sha256sum <"$f" | cut -c1-64)"; fi
if [ -f "$r/.bundle-sha256" ]; then echo "release_sha256=$(cat "$r/.bundle-sha256")"; fi
`, q(bundlesDir+"/"+b.Name), q(b.ReleaseDir()))
}

func (f *Facts) parseBundleState(out string) {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "bundle_sha256="); ok {
			f.BundleChecksum = v
		}
		if v, ok := strings.CutPrefix(l, "release_sha256="); ok {
			f.ReleaseChecksum = strings.TrimSpace(v)
		}
	}
}

// gather runs the facts scripts on h.
func gather(ctx context.Context, h *Host, bundles map[string]*bundleInfo) error {
	who, err := h.run.Run(ctx, `printf '%s %s\n' "$(id -u)" "$HOME"`)
	if err != nil {
		return fmt.Errorf("find the login user: %w", err)
	}
	uid, home, _ := strings.Cut(strings.TrimSpace(who), " ")
	h.root, h.home = uid == "0", home
	out, err := h.sh(ctx, factsScript)
	var ce *remote.CommandError
	if errors.As(err, &ce) && strings.Contains(ce.Stdout, "config=") {
		// Its output holds the settings file, and so the join token, in base64
		// that no redaction would recognise: keep only what went to stderr.
		return fmt.Errorf("the facts script exited with status %d: %s", ce.ExitCode, strings.TrimSpace(ce.Stderr))
	}
	if err != nil {
		return err
	}
	f, err := parseFacts(out)
	if err != nil {
		return err
	}
	if b := bundles[f.Arch]; b != nil {
		h.bundle = b
		out, err := h.sh(ctx, bundleStateScript(b))
		if err != nil {
			return fmt.Errorf("check the bundle on the host: %w", err)
		}
		f.parseBundleState(out)
	}
	h.Facts = f
	return nil
}

// withoutConfig drops the settings file (base64, with its secrets) from facts output.
func withoutConfig(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "config=") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
