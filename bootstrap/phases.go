package bootstrap

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strings"
	"text/template"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap/remote"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/bundle"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

var q = remote.ShellQuote

// ---- connect

type connectPhase struct {
	dial func(ctx context.Context, cfg remote.Config) (remote.Runner, error)
}

func (p *connectPhase) Title() string { return "Connect to hosts" }

func (p *connectPhase) Run(ctx context.Context, h *Host) error {
	if h.Runner != nil {
		h.run = h.Runner
		return nil
	}
	cfg := h.SSH
	cfg.Secrets = append(append([]string(nil), cfg.Secrets...), h.Config.Token)
	r, err := p.dial(ctx, cfg)
	if err != nil {
		return err
	}
	h.run, h.dialled = r, true
	if k, ok := r.(interface{ HostKey() ssh.PublicKey }); ok && k.HostKey() != nil {
		h.HostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.HostKey())))
	}
	h.Logf("connected as %s", cfg.User)
	return nil
}

func (p *connectPhase) CleanUp(_ context.Context, h *Host) {
	if h.dialled && h.run != nil {
		_ = h.run.Close()
		h.dialled = false
	}
}

// ---- facts

type factsPhase struct {
	bundles map[string]*bundleInfo
}

func (p *factsPhase) Title() string { return "Gather host facts" }

func (p *factsPhase) Run(ctx context.Context, h *Host) error {
	if h.run == nil {
		return errNotConnected
	}
	if err := gather(ctx, h, p.bundles); err != nil {
		return fmt.Errorf("gather facts: %w", err)
	}
	f := h.Facts
	installed := "not installed"
	if f.Installed() {
		installed = fmt.Sprintf("slipway %s installed, service %s", orNone(f.Version), orNone(f.ServiceState))
	}
	h.Logf("%s %s, %s, %s, cgroup v%d; %s", f.OS, f.OSVersion, f.Machine, f.Init, f.Cgroup, installed)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// ---- validate

type validatePhase struct{}

func (p *validatePhase) Title() string { return "Validate hosts" }

// minFreeKiB is what a release needs beside the bundle itself.
const minFreeKiB = 256 * 1024

func (p *validatePhase) Run(_ context.Context, h *Host) error { return validateHost(h) }

// validateHost checks the host's facts against the wanted settings and renders the
// settings file and the unit, changing nothing.
func validateHost(h *Host) error {
	f := h.Facts
	if f.Init != "systemd" {
		return fmt.Errorf("the init system is %q, not systemd: Slipway runs as a systemd service, so the host must boot with systemd", f.Init)
	}
	if f.Arch == "" {
		return fmt.Errorf("architecture %q is not supported: Slipway runs on amd64 (x86_64) and arm64 (aarch64)", f.Machine)
	}
	if h.bundle == nil {
		return fmt.Errorf("no bundle given for %s, the host's architecture", f.Arch)
	}
	if f.OtherKubernetes != "" && !f.Installed() {
		return fmt.Errorf("another Kubernetes is on this host (%s): Slipway's node would share the kubelet's folders with it, "+
			"and resetting the node would remove them; uninstall it first, or use another host", f.OtherKubernetes)
	}
	// The tarball, the unpacked release and the previous release side by side.
	if need := 3*h.bundle.Size/1024 + minFreeKiB; f.FreeDiskKiB > 0 && f.FreeDiskKiB < need && f.ReleaseChecksum != h.bundle.SHA256 {
		return fmt.Errorf("not enough free disk under %s: %d MiB free, %d MiB needed", installRoot, f.FreeDiskKiB/1024, need/1024)
	}

	want := h.Config
	want.Defaults()
	if err := want.Validate(); err != nil {
		return fmt.Errorf("invalid node settings:\n%w", err)
	}
	if err := checkExisting(f, &want); err != nil {
		return err
	}
	rendered, err := h.Config.Render()
	if err != nil {
		return fmt.Errorf("render the node settings: %w", err)
	}
	unit, err := renderUnit(want.Role)
	if err != nil {
		return err
	}
	h.rendered, h.unit = rendered, unit
	return nil
}

// checkExisting refuses changes that would lose a node's state (case H6): a host that
// runs Slipway without its settings file, settings it cannot read, another role, or
// a server whose datastore would change (it would start on an empty datastore).
func checkExisting(f *Facts, want *config.Config) error {
	if !f.Installed() {
		return nil
	}
	if !f.ConfigPresent {
		if f.UnitChecksum != "" || f.ServiceRunning() {
			return fmt.Errorf("slipway is installed but %s is missing, so its settings (its datastore among them) are unknown: "+
				"continuing could start it on an empty datastore; restore the file, or reset the host to start over", configPath)
		}
		return nil
	}
	have, err := f.ExistingConfig()
	if err != nil {
		return fmt.Errorf("slipway is installed but its settings in %s cannot be read, so they are not overwritten: %w", configPath, err)
	}
	if have.Role != want.Role {
		return fmt.Errorf("the host runs slipway in %s mode and the settings want %s mode: changing a node's role is not supported; remove the node and reset the host first", have.Role, want.Role)
	}
	if have.Role == config.RoleServer && have.DatastoreEndpoint != want.DatastoreEndpoint {
		return fmt.Errorf("the server's datastore cannot change (%s on the host, %s wanted): it would start on an empty datastore",
			describeDatastore(have.DatastoreEndpoint), describeDatastore(want.DatastoreEndpoint))
	}
	return nil
}

// describeDatastore names a datastore without the credentials its URLs may carry.
func describeDatastore(ep string) string {
	if ep == "" {
		return "embedded etcd"
	}
	var out []string
	for _, e := range strings.Split(ep, ",") {
		if u, err := url.Parse(e); err == nil {
			if u.User != nil {
				u.User = url.User("[redacted]")
			}
			u.RawQuery = ""
			out = append(out, u.String())
		} else {
			out = append(out, "(unparsable endpoint)")
		}
	}
	return "datastore-endpoint " + strings.Join(out, ",")
}

//go:embed templates/slipway.service.tmpl
var templates embed.FS

var unitTemplate = template.Must(template.ParseFS(templates, "templates/slipway.service.tmpl"))

// renderUnit renders the systemd unit. It carries no settings, only the mode: the
// settings file is the one place settings live.
func renderUnit(role string) ([]byte, error) {
	var b bytes.Buffer
	err := unitTemplate.Execute(&b, struct{ Role, Binary, ConfigPath string }{role, binLink, configPath})
	if err != nil {
		return nil, fmt.Errorf("render the systemd unit: %w", err)
	}
	return b.Bytes(), nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ---- lock

type lockPhase struct {
	holder string
	// bundles and validate: how to gather and check the facts again when another
	// run worked on the host after they were gathered.
	bundles  map[string]*bundleInfo
	validate bool
}

type hostLock struct {
	holder   string
	release  func()
	released bool
}

func (p *lockPhase) Title() string { return "Acquire host lock" }

// lockScript takes the host lock, or reports who holds it. The holder is a process
// started through this run's connection that reads its input to the end: it ends
// when the connection does, also when this process is killed. A lock whose holder
// process is gone (or is another process now) is stale and taken over.
const lockScript = `set -eu
mkdir -p ` + lockDir + `
exec 9<` + lockDir + `
flock -w 60 9 || { echo "timed out waiting for ` + lockDir + `" >&2; exit 1; }
f=` + lockPath + `
if [ -f "$f" ]; then
	old_holder=$(sed -n 's/^holder=//p' "$f")
	old_pid=$(sed -n 's/^pid=//p' "$f")
	if [ "$old_holder" != "$HOLDER" ] && [ -n "$old_pid" ] && [ -r "/proc/$old_pid/environ" ] &&
		tr '\0' '\n' <"/proc/$old_pid/environ" | grep -qx "SLIPWAY_LOCK=$old_holder"; then
		echo held
		cat "$f"
		exit 75
	fi
	echo stale
	cat "$f"
fi
printf 'holder=%s\npid=%s\nsince=%s\nby=%s\n' "$HOLDER" "$PID" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$BY" >"$f.new"
mv -f "$f.new" "$f"
g=$(cat ` + generationPath + ` 2>/dev/null || echo 0)
echo $((g + 1)) >` + generationPath + `.new
mv -f ` + generationPath + `.new ` + generationPath + `
echo "generation=$g"
`

func (p *lockPhase) Run(ctx context.Context, h *Host) error {
	pid, release, err := h.run.Hold(ctx, "env SLIPWAY_LOCK="+q(p.holder)+` sh -c 'echo $$; exec cat >/dev/null'`)
	if err != nil {
		return fmt.Errorf("start the lock holder: %w", err)
	}
	if pid == "" {
		release()
		return errors.New("start the lock holder: it printed no process id")
	}
	hostname, _ := os.Hostname()
	by := fmt.Sprintf("%s pid %d", hostname, os.Getpid())
	out, err := h.sh(ctx, fmt.Sprintf("HOLDER=%s PID=%s BY=%s sh -c %s", q(p.holder), q(pid), q(by), q(lockScript)))
	if err != nil {
		release()
		var ce *remote.CommandError
		if errors.As(err, &ce) && ce.ExitCode == 75 {
			return fmt.Errorf("another run is working on this host (%s): wait for it to finish; a killed run's lock is taken over once its connection is gone",
				lockDescription(ce.Stdout))
		}
		return fmt.Errorf("take the host lock: %w", err)
	}
	if strings.HasPrefix(out, "stale") {
		h.Logf("took over a stale lock (%s)", lockDescription(out))
	}
	h.lock = &hostLock{holder: p.holder, release: release}
	if gen := lockValue(out, "generation"); h.Facts != nil && gen != h.Facts.lockGeneration {
		// Another run held the lock after this run gathered the facts: what they
		// say (installed or not, role, datastore) may no longer hold, and acting
		// on them could undo that run's work. Gather and check them again, now
		// that nobody else can change the host.
		h.Logf("another run worked on this host since its facts were gathered: gathering them again")
		if err := gather(ctx, h, p.bundles); err != nil {
			return fmt.Errorf("gather facts: %w", err)
		}
		if p.validate {
			if err := validateHost(h); err != nil {
				return err
			}
		}
	}
	return nil
}

func lockValue(out, key string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func lockDescription(out string) string {
	var parts []string
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && k != "generation" {
			parts = append(parts, k+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}

func (p *lockPhase) CleanUp(ctx context.Context, h *Host) {
	if err := releaseLock(ctx, h, false); err != nil {
		h.Logf("warning: release the host lock: %v", err)
	}
}

func releaseLock(ctx context.Context, h *Host, removeDir bool) error {
	l := h.lock
	if l == nil || l.released {
		return nil
	}
	cmd := fmt.Sprintf(`f=%s; if [ -f "$f" ] && grep -qx %s "$f"; then rm -f "$f"; fi`, lockPath, q("holder="+l.holder))
	if removeDir {
		cmd += "; rm -rf " + generationPath + " " + kubectlCache + "; rmdir " + lockDir + " 2>/dev/null || true"
	}
	_, err := h.sh(ctx, cmd)
	l.release()
	l.released = true
	return err
}

// ---- upload

type uploadPhase struct{}

func (p *uploadPhase) Title() string { return "Upload bundle" }

func binaryTarget(b *bundleInfo) string { return b.ReleaseDir() + "/bin/slipway" }

func (p *uploadPhase) ShouldRun(h *Host) bool {
	f, b := h.Facts, h.bundle
	return f.ReleaseChecksum != b.SHA256 || f.BinaryTarget != binaryTarget(b)
}

func (p *uploadPhase) Run(ctx context.Context, h *Host) error {
	f, b := h.Facts, h.bundle
	final := bundlesDir + "/" + b.Name
	if f.ReleaseChecksum != b.SHA256 && f.BundleChecksum != b.SHA256 {
		if err := uploadBundle(ctx, h, b, final); err != nil {
			return err
		}
	}
	if err := markRestart(ctx, h); err != nil {
		return err
	}
	rel := b.ReleaseDir()
	script := fmt.Sprintf(`set -eu
rel=%s; bundle=%s; want=%s; prev=%s
if [ "$(cat "$rel/.bundle-sha256" 2>/dev/null || true)" != "$want" ]; then
	rm -rf "$rel.partial"
	mkdir -p "$rel.partial"
	%s
	if [ -n %s ]; then
		(cd "$rel.partial" && sha256sum --quiet -c) <<'SLIPWAY_MANIFEST_END'
%sSLIPWAY_MANIFEST_END
	fi
	echo "$want" >"$rel.partial/.bundle-sha256"
	rm -rf "$rel"
	mv "$rel.partial" "$rel"
fi
ln -sfn "$rel/bin/slipway" %s.slipway-new
mv -fT %s.slipway-new %s
# Keep this release and the one before it; drop older ones and other tarballs.
for d in %s/*; do
	[ "$d" = "$rel" ] || [ "$d/bin/slipway" = "$prev" ] || rm -rf "$d"
done
for t in %s/*; do
	[ "$t" = "$bundle" ] || rm -f "$t"
done
`, q(rel), q(final), q(b.SHA256), q(f.BinaryTarget), bundle.UnpackScript(`"$bundle"`, `"$rel.partial"`), q(b.checkLines()), b.checkLines(),
		binLink, binLink, binLink, releasesDir, bundlesDir)
	if _, err := h.sh(ctx, script); err != nil {
		return fmt.Errorf("unpack bundle: %w", err)
	}
	h.binaryChanged = f.BinaryTarget != binaryTarget(b)
	h.changed("installed slipway %s into %s", b.Version, rel)
	return nil
}

// uploadBundle copies the tarball to the host, verifies its checksum and renames it
// into place. A root login uploads beside the final path; others upload into their
// home and a privileged step moves the file.
func uploadBundle(ctx context.Context, h *Host, b *bundleInfo, final string) error {
	// Leftovers of an interrupted run.
	if _, err := h.sh(ctx, fmt.Sprintf("mkdir -p %s %s && rm -f %s/*.partial %s/.*.slipway-*",
		bundlesDir, releasesDir, bundlesDir, bundlesDir)); err != nil {
		return err
	}
	partial := final + ".partial"
	staged := partial
	if !h.root {
		dir, err := stagingDir(ctx, h)
		if err != nil {
			return err
		}
		staged = dir + "/" + b.Name
	}
	src, err := os.Open(b.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	h.Logf("uploading %s (%d MiB)", b.Name, (b.Size+(1<<20)-1)>>20)
	start := time.Now()
	if err := h.run.Upload(ctx, src, staged, 0o644); err != nil {
		return err
	}
	move := ""
	if staged != partial {
		move = fmt.Sprintf("install -m 0644 -o root -g root %s %s && rm -f %s && ", q(staged), q(partial), q(staged))
	}
	script := fmt.Sprintf(`set -e
%sgot=$(sha256sum <%s | cut -c1-64)
if [ "$got" != %s ]; then rm -f %s; echo "checksum mismatch after upload: got $got, want "%s >&2; exit 1; fi
mv -f %s %s`, move, q(partial), q(b.SHA256), q(partial), q(b.SHA256), q(partial), q(final))
	if _, err := h.sh(ctx, script); err != nil {
		return err
	}
	h.changed("uploaded %s in %.1fs", b.Name, time.Since(start).Seconds())
	return nil
}

// stagingDir is a folder in the login user's home for files on their way to a
// privileged place.
func stagingDir(ctx context.Context, h *Host) (string, error) {
	dir := path.Join(h.home, stagingName)
	if !h.staged {
		if _, err := h.run.Run(ctx, "mkdir -p -m 0700 "+q(dir)); err != nil {
			return "", fmt.Errorf("make a staging folder: %w", err)
		}
		h.staged = true
	}
	return dir, nil
}

// markRestart records on the host that the service must restart, before the change
// that needs it: a run killed after the change and before the restart leaves the
// mark for the next run to finish.
func markRestart(ctx context.Context, h *Host) error {
	if h.marked || h.Facts.RestartPending {
		return nil
	}
	if _, err := h.sh(ctx, "mkdir -p "+lockDir+" && touch "+pendingPath); err != nil {
		return fmt.Errorf("mark the pending restart: %w", err)
	}
	h.marked = true
	return nil
}

// writeFile puts data at p with mode, owned by root, atomically: uploaded to the
// staging folder (mode 0600, the data may be secret), then moved by a privileged step.
func writeFile(ctx context.Context, h *Host, p string, data []byte, mode os.FileMode) error {
	dir, err := stagingDir(ctx, h)
	if err != nil {
		return err
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	staged := dir + "/" + path.Base(p) + "." + hex.EncodeToString(rnd[:])
	if err := h.run.Upload(ctx, bytes.NewReader(data), staged, 0o600); err != nil {
		return err
	}
	tmp := p + ".slipway-new"
	_, err = h.sh(ctx, fmt.Sprintf("set -e; mkdir -p %s; install -m %04o -o root -g root %s %s; rm -f %s; mv -f %s %s",
		q(path.Dir(p)), mode.Perm(), q(staged), q(tmp), q(staged), q(tmp), q(p)))
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// ---- configure

type configurePhase struct{}

func (p *configurePhase) Title() string { return "Configure node" }

func (p *configurePhase) ShouldRun(h *Host) bool {
	return config.Checksum(h.rendered) != h.Facts.ConfigChecksum || sha256Hex(h.unit) != h.Facts.UnitChecksum
}

func (p *configurePhase) Run(ctx context.Context, h *Host) error {
	f := h.Facts
	if sum := config.Checksum(h.rendered); sum != f.ConfigChecksum {
		if err := markRestart(ctx, h); err != nil {
			return err
		}
		if err := writeFile(ctx, h, configPath, h.rendered, 0o600); err != nil {
			return err
		}
		h.configChanged = true
		h.changed("wrote %s (settings checksum %s)", configPath, sum[:12])
	}
	if sha256Hex(h.unit) != f.UnitChecksum {
		if err := markRestart(ctx, h); err != nil {
			return err
		}
		if err := writeFile(ctx, h, unitPath, h.unit, 0o644); err != nil {
			return err
		}
		h.unitChanged = true
		h.changed("wrote %s", unitPath)
	}
	return nil
}

// ---- start

type startPhase struct{}

func (p *startPhase) Title() string { return "Start service" }

func (p *startPhase) needReload(h *Host) bool {
	return h.unitChanged || h.Facts.UnitNeedsReload || h.Facts.UnitLoadState == "not-found"
}

func (p *startPhase) needRestart(h *Host) bool {
	return h.binaryChanged || h.configChanged || h.unitChanged || h.Facts.RestartPending
}

func (p *startPhase) ShouldRun(h *Host) bool {
	f := h.Facts
	return p.needReload(h) || p.needRestart(h) || f.ServiceEnabled != "enabled" || !f.ServiceRunning()
}

func (p *startPhase) Run(ctx context.Context, h *Host) error {
	f := h.Facts
	if p.needReload(h) {
		if _, err := h.sh(ctx, "systemctl daemon-reload"); err != nil {
			return err
		}
	}
	if f.ServiceEnabled != "enabled" {
		if _, err := h.sh(ctx, "systemctl enable "+unitName); err != nil {
			return err
		}
		h.changed("enabled %s", unitName)
	}
	switch {
	case p.needRestart(h):
		var why []string
		for _, c := range []struct {
			on   bool
			what string
		}{{h.binaryChanged, "binary"}, {h.configChanged, "settings"}, {h.unitChanged, "unit"}, {f.RestartPending, "pending from an earlier run"}} {
			if c.on {
				why = append(why, c.what)
			}
		}
		if _, err := h.sh(ctx, "systemctl restart "+unitName); err != nil {
			return err
		}
		verb := "restarted"
		if !f.ServiceRunning() {
			verb = "started"
		}
		h.ServiceStarted = true
		h.changed("%s %s (%s)", verb, unitName, strings.Join(why, ", "))
	case !f.ServiceRunning():
		if _, err := h.sh(ctx, "systemctl start "+unitName); err != nil {
			return err
		}
		h.ServiceStarted = true
		h.changed("started %s", unitName)
	}
	if _, err := h.sh(ctx, "rm -f "+pendingPath); err != nil {
		return err
	}
	return nil
}

// ---- wait ready

type waitReadyPhase struct {
	skip    bool
	timeout time.Duration
	poll    time.Duration
}

func (p *waitReadyPhase) Title() string { return "Wait until ready" }

func (p *waitReadyPhase) ShouldRun(*Host) bool { return !p.skip }

// journalLines is how much of the service's log a readiness failure shows.
const journalLines = 25

func (p *waitReadyPhase) Run(ctx context.Context, h *Host) error {
	wctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var last error
	for {
		_, err := h.sh(wctx, "timeout 30 "+binLink+" status")
		if err == nil {
			h.Logf("ready")
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-wctx.Done():
		case <-time.After(p.poll):
			continue
		}
		break
	}
	jctx, jcancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer jcancel()
	journal, err := h.sh(jctx, fmt.Sprintf("journalctl -u %s --no-pager -n %d -o short-iso", unitName, journalLines))
	if err != nil {
		journal = "(could not read the journal: " + err.Error() + ")"
	}
	return fmt.Errorf("slipway did not become ready within %s (last check: %v); last lines of journalctl -u %s:\n%s",
		p.timeout, last, unitName, indent(strings.TrimRight(journal, "\n")))
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }

// ---- unlock

type unlockPhase struct {
	removeDir bool
}

func (p *unlockPhase) Title() string { return "Release host lock" }

func (p *unlockPhase) Run(ctx context.Context, h *Host) error {
	if h.staged {
		if _, err := h.run.Run(ctx, "rm -rf "+q(path.Join(h.home, stagingName))); err != nil {
			h.Logf("warning: remove the staging folder: %v", err)
		}
		h.staged = false
	}
	return releaseLock(ctx, h, p.removeDir)
}

// ---- reset

type resetPhase struct{}

func (p *resetPhase) Title() string { return "Reset host" }

// protectedDirs are never removed as a data dir, whatever the settings say.
var protectedDirs = map[string]bool{"/": true, "/bin": true, "/boot": true, "/dev": true, "/etc": true, "/home": true,
	"/lib": true, "/opt": true, "/proc": true, "/root": true, "/run": true, "/sbin": true, "/sys": true, "/tmp": true,
	"/usr": true, "/var": true, "/var/lib": true, "/var/log": true}

// resetScript undoes an install: %[1]s the data dir, %[2]s the unit's name, %[3]s its
// path, %[4]s the binary link, %[5]s the install root, %[6]s the restart mark. What
// the node's runtime makes outside the data dir (kubelet's state, CNI's, containerd's
// under /run, the pod network's links and firewall rules) goes too, but only where
// Slipway's node ran: another Kubernetes' state is never touched (and an install on a
// host that has one is refused).
const resetScript = `set -u
data=%[1]s
ours=0
if [ -d "$data/agent" ] || [ -f /etc/slipway/config.yaml ] || [ -e %[4]s ] || [ -d /run/slipway/containerd ]; then ours=1; fi
# The node's cgroup root, as slipway computes it: PID 1's (the whole host, or the
# whole container), without systemd's init.scope.
cgroot=$(awk -F: '$1 == "0" && $2 == "" { v2 = $3 } $2 == "name=systemd" { v1 = $3 }
	END { p = (v1 != "" ? v1 : v2); sub("/init.scope$", "", p); if (p == "/") p = ""; print p }' /proc/1/cgroup 2>/dev/null)
pods_cgroups() {
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[ -d "$h$cgroot/kubepods" ] && echo "$h$cgroot/kubepods"
	done
}
# Pods' processes live in the kubepods cgroups, outside the unit's: they outlive
# the unit, so they are killed first (and again, in case some were starting).
kill_pods() {
	[ "$ours" = 1 ] || return 0
	pods_cgroups | while read -r c; do find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null; done |
		awk '$1 > 0' | sort -u | xargs -r kill -9 2>/dev/null || true
}
kill_pods
if command -v systemctl >/dev/null 2>&1; then
	# KillMode=process leaves the containerd shims and other children running through
	# restarts, in the unit's cgroup: a reset ends them all, while the unit still has
	# its cgroup. (Restart=always waits RestartSec before starting again; the stop
	# cancels it.)
	systemctl kill --kill-who=all --signal=SIGKILL %[2]s 2>/dev/null || true
	systemctl stop %[2]s 2>/dev/null || true
	systemctl disable %[2]s 2>/dev/null || true
fi
kill_pods
rm -f %[3]s %[3]s.slipway-new
if command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload
	systemctl reset-failed %[2]s 2>/dev/null || true
fi
if [ "$ours" = 1 ]; then
	# Empty cgroups go once their processes are gone: children first.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		left=$(pods_cgroups | while read -r c; do find "$c" -depth -type d -exec rmdir {} + 2>/dev/null; [ -d "$c" ] && echo "$c"; done)
		[ -z "$left" ] && break
		sleep 0.5
	done
	# kubelet bind-mounts its root onto itself: that mount goes too.
	dirs="/var/lib/kubelet /run/slipway"
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ { print $1 }'); do ip netns delete "$ns" 2>/dev/null || true; done
else
	dirs=""
fi
# Mounts below the data dir (not the data dir itself: it may be the host's own
# volume), and at or below the node's other folders; deepest first.
awk -v data="$data/" -v dirs="$dirs" 'BEGIN { n = split(dirs, d, " ") }
	index($2, data) == 1 { print $2; next }
	{ for (i = 1; i <= n; i++) if ($2 == d[i] || index($2, d[i] "/") == 1) { print $2; break } }' /proc/self/mounts |
	sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
for l in slipway0 cni0 flannel.1 flannel-v6.1 kube-ipvs0; do
	if [ -e "/sys/class/net/$l" ]; then ip link delete "$l" 2>/dev/null || true; fi
done
# The routes to other nodes' pods and the cluster range's unreachable route carry
# the node's own rtnetlink protocol number (83; orchestrator/node/routes.go).
for f in -4 -6; do ip "$f" route flush proto 83 2>/dev/null || true; done
for t in iptables ip6tables; do
	if command -v "$t-save" >/dev/null 2>&1 && "$t-save" 2>/dev/null | grep -qE 'KUBE-|CNI-|FLANNEL'; then
		"$t-save" | grep -vE 'KUBE-|CNI-|FLANNEL' | "$t-restore"
	fi
done
# With iptables' nf_tables backend, the node's rules created tables of their own;
# once empty (no rules, no chains of anyone's, ACCEPT policies) they go as well.
if [ "$ours" = 1 ] && command -v nft >/dev/null 2>&1 && iptables -V 2>/dev/null | grep -q nf_tables; then
	for fam in ip ip6; do
		save=iptables-save
		[ "$fam" = ip6 ] && save=ip6tables-save
		for tb in filter mangle nat raw security; do
			nft list table "$fam" "$tb" >/dev/null 2>&1 || continue
			if ! "$save" -t "$tb" 2>/dev/null | grep -qE '^-A |^:[^ ]+ (-|DROP)'; then
				nft delete table "$fam" "$tb" 2>/dev/null || true
			fi
		done
	done
fi
rm -f %[4]s %[4]s.slipway-new
rm -rf %[5]s /etc/slipway %[6]s
if [ -d "$data" ]; then
	if mountpoint -q "$data"; then find "$data" -mindepth 1 -delete; else rm -rf "$data"; fi
fi
if [ "$ours" = 1 ]; then
	rm -rf /var/lib/kubelet /run/slipway/containerd /var/log/pods /var/log/containers \
		/var/lib/cni/networks/slipway /var/lib/cni/results/slipway-* /var/lib/cni/results/cni-loopback-*
	rm -f /run/nri/nri.sock
	# The shims' and runc's state under containerd's default /run/containerd, unless
	# another containerd is running on the host.
	if ! pgrep -x containerd >/dev/null 2>&1; then
		rm -rf /run/containerd/runc/k8s.io /run/containerd/s
	fi
	# Default folders of containerd, CNI and ip-netns, when they are left empty.
	if [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ] && mountpoint -q /run/netns; then umount -l /run/netns 2>/dev/null || true; fi
	for d in /var/lib/cni/networks /var/lib/cni/results /var/lib/cni/cache /var/lib/cni /run/nri /run/netns \
		/run/containerd/runc /run/containerd /opt/containerd/bin /opt/containerd/lib /opt/containerd; do
		rmdir "$d" 2>/dev/null || true
	done
fi
`

func (p *resetPhase) Run(ctx context.Context, h *Host) error {
	dataDir := "/var/lib/slipway"
	if have, err := h.Facts.ExistingConfig(); err == nil && have != nil && have.DataDir != "" {
		dataDir = have.DataDir
	} else if h.Config.DataDir != "" {
		dataDir = h.Config.DataDir
	}
	dataDir = path.Clean(dataDir)
	if !path.IsAbs(dataDir) || protectedDirs[dataDir] {
		return fmt.Errorf("refusing to remove data dir %q", dataDir)
	}
	script := fmt.Sprintf(resetScript, q(dataDir), unitName, unitPath, binLink, installRoot, pendingPath)
	if _, err := h.sh(ctx, script); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	// A killed run may have left files on their way to /etc in the login user's
	// staging folder.
	if h.home != "" {
		if _, err := h.run.Run(ctx, "rm -rf "+q(path.Join(h.home, stagingName))); err != nil {
			return fmt.Errorf("remove the staging folder: %w", err)
		}
	}
	if h.Facts.Installed() {
		h.changed("removed slipway (service, unit, binaries, settings, data in %s)", dataDir)
	} else {
		h.Logf("slipway was not installed; removed any leftovers")
	}
	return nil
}
