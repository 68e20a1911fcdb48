package bootstrap

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap/remote"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

const testToken = "K10f00dfeed1234567890::server:t0p-s3cret-j0in-t0ken"

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func serverConfig() config.Config {
	return config.Config{Role: config.RoleServer, NodeName: "node-1", Token: testToken}
}

func fakeOptions(t *testing.T, logs *logBuffer, bundle string) Options {
	return Options{Bundles: map[string]string{"amd64": bundle}, Logf: logs.logf, ReadyPoll: time.Millisecond, ReadyTimeout: time.Second}
}

func install(t *testing.T, fh *fakeHost, cfg config.Config, opts Options) *Host {
	t.Helper()
	h := &Host{Runner: fh.Fake, Config: cfg}
	if err := Install(context.Background(), []*Host{h}, opts); err != nil {
		t.Fatalf("Install: %v", err)
	}
	return h
}

func TestInstallThenRerunIsNoOp(t *testing.T) {
	for _, root := range []bool{true, false} {
		t.Run(fmt.Sprintf("root=%v", root), func(t *testing.T) {
			fh := newFakeHost(t, root)
			logs := &logBuffer{}
			opts := fakeOptions(t, logs, makeBundle(t, t.TempDir(), "0.1.0", "amd64"))
			h := install(t, fh, serverConfig(), opts)

			want := []string{"uploaded slipway-0.1.0-linux-amd64.tar ", "installed slipway 0.1.0", "wrote /etc/slipway/config.yaml",
				"wrote /etc/systemd/system/slipway.service", "enabled slipway.service", "started slipway.service"}
			if len(h.Changes) != len(want) {
				t.Fatalf("changes = %q, want %d like %q", h.Changes, len(want), want)
			}
			for i, w := range want {
				if !strings.HasPrefix(h.Changes[i], w) {
					t.Errorf("change %d = %q, want %q...", i, h.Changes[i], w)
				}
			}
			if cfg := fh.files[configPath]; !bytes.Contains(cfg, []byte("role: server")) {
				t.Fatalf("config not written: %q", cfg)
			}
			if f, _ := fh.File(fh.home + "/" + stagingName); f.Data != nil {
				t.Fatalf("staging left behind")
			}
			if !fh.active || !fh.enabled || fh.lockHolder != "" || fh.pending || !h.ServiceStarted {
				t.Fatalf("after install: active=%v enabled=%v lock=%q pending=%v started=%v", fh.active, fh.enabled, fh.lockHolder, fh.pending, h.ServiceStarted)
			}
			for _, title := range []string{"Connect to hosts", "Gather host facts", "Validate hosts", "Acquire host lock", "Upload bundle",
				"Configure node", "Start service", "Wait until ready", "Release host lock"} {
				if !strings.Contains(logs.String(), "==> Running phase: "+title) {
					t.Errorf("log lacks phase %q:\n%s", title, logs)
				}
			}

			fh.Reset()
			restarts := fh.restarts
			h = install(t, fh, serverConfig(), opts)
			if len(h.Changes) != 0 || h.ServiceStarted {
				t.Fatalf("a re-run with no change changed %q (service started: %v)", h.Changes, h.ServiceStarted)
			}
			if m := mutating(fh.Calls()); len(m) != 0 {
				t.Fatalf("a re-run with no change ran %q", m)
			}
			if fh.restarts != restarts {
				t.Fatal("a re-run with no change restarted the service")
			}
		})
	}
}

// H6: the same settings render the same file on install and on upgrade; a changed
// setting reaches the host and restarts the service, nothing else; a host running
// without its settings, or a server whose datastore would change, stops the upgrade.
func TestCase_SameSettingsInstallAndUpgrade(t *testing.T) {
	cfg := serverConfig()
	cfg.DatastoreEndpoint = "https://etcd-user:etcd-pass@etcd-1.example:2379/?ca=x&y=z,https://etcd-2.example:2379"
	cfg.Disable = []string{"servicelb", "dns", "metrics-server"}
	cfg.NodeTaints = []string{"dedicated=infra:NoSchedule", "node-role.kubernetes.io/control-plane=:NoExecute"}
	dir := t.TempDir()
	logs := &logBuffer{}
	fh := newFakeHost(t, false)
	opts := fakeOptions(t, logs, makeBundle(t, dir, "0.1.0", "amd64"))
	install(t, fh, cfg, opts)
	installed := append([]byte(nil), fh.files[configPath]...)

	t.Run("upgrade with the same settings", func(t *testing.T) {
		fh.Reset()
		same := cfg
		same.Disable = []string{"metrics-server", "dns", "servicelb"} // another order, same meaning
		up := opts
		up.Bundles = map[string]string{"amd64": makeBundle(t, dir, "0.2.0", "amd64")}
		h := install(t, fh, same, up)
		if !bytes.Equal(fh.files[configPath], installed) {
			t.Fatalf("upgrade rendered other settings:\n%s\nvs\n%s", fh.files[configPath], installed)
		}
		for _, c := range h.Changes {
			if strings.Contains(c, configPath) {
				t.Fatalf("upgrade rewrote the settings: %q", h.Changes)
			}
		}
		if last := h.Changes[len(h.Changes)-1]; !strings.Contains(last, "restarted slipway.service (binary)") {
			t.Fatalf("upgrade must restart for the binary alone: %q", h.Changes)
		}
		opts = up
	})

	t.Run("a changed setting reaches the host", func(t *testing.T) {
		fh.Reset()
		changed := cfg
		changed.NodeLabels = []string{"zone=a"}
		h := install(t, fh, changed, opts)
		if len(h.Changes) != 2 || !strings.HasPrefix(h.Changes[0], "wrote "+configPath) ||
			!strings.HasPrefix(h.Changes[1], "restarted slipway.service (settings)") {
			t.Fatalf("want only the settings written and a restart, got %q", h.Changes)
		}
		for _, c := range fh.Calls() {
			if c.Upload != "" && !strings.Contains(c.Upload, "config.yaml") {
				t.Fatalf("uploaded %s for a settings change", c.Upload)
			}
		}
		if !bytes.Contains(fh.files[configPath], []byte("zone=a")) {
			t.Fatalf("setting not on the host")
		}
	})

	t.Run("a server's datastore cannot change", func(t *testing.T) {
		fh.Reset()
		embedded := cfg
		embedded.DatastoreEndpoint = ""
		err := Install(context.Background(), []*Host{{Runner: fh.Fake, Config: embedded}}, opts)
		if err == nil || !strings.Contains(err.Error(), "empty datastore") {
			t.Fatalf("want a refusal, got %v", err)
		}
		if strings.Contains(err.Error(), "etcd-pass") {
			t.Fatalf("datastore credentials leaked: %v", err)
		}
		if m := mutating(fh.Calls()); len(m) != 0 {
			t.Fatalf("a refused upgrade changed the host: %q", m)
		}
	})

	t.Run("running without its settings file stops the upgrade", func(t *testing.T) {
		fh.Reset()
		delete(fh.files, configPath)
		err := Install(context.Background(), []*Host{{Runner: fh.Fake, Config: cfg}}, opts)
		if err == nil || !strings.Contains(err.Error(), "empty datastore") || !strings.Contains(err.Error(), configPath) {
			t.Fatalf("want a refusal naming the missing settings, got %v", err)
		}
		if m := mutating(fh.Calls()); len(m) != 0 {
			t.Fatalf("a refused upgrade changed the host: %q", m)
		}
	})
}

// H5 in the phases: as a sudo user, everything but the user's own staging folder goes
// through RunPrivileged.
func TestCase_SudoEverywherePhases(t *testing.T) {
	fh := newFakeHost(t, false)
	logs := &logBuffer{}
	opts := fakeOptions(t, logs, makeBundle(t, t.TempDir(), "0.1.0", "amd64"))
	install(t, fh, serverConfig(), opts)
	if err := Reset(context.Background(), []*Host{{Runner: fh.Fake}}, opts); err != nil {
		t.Fatal(err)
	}
	for _, c := range fh.Calls() {
		if c.Privileged || c.Hold {
			continue
		}
		if c.Upload != "" {
			if !strings.HasPrefix(c.Upload, fh.home+"/"+stagingName+"/") {
				t.Errorf("upload as the login user outside its staging folder: %s", c.Upload)
			}
			continue
		}
		switch c.Cmd {
		case `printf '%s %s\n' "$(id -u)" "$HOME"`,
			"mkdir -p -m 0700 " + fh.home + "/" + stagingName,
			"rm -rf " + fh.home + "/" + stagingName:
		default:
			t.Errorf("not privileged: %q", c.Cmd)
		}
	}
}

func TestWaitReady(t *testing.T) {
	bundle := makeBundle(t, t.TempDir(), "0.1.0", "amd64")
	t.Run("ready after a few checks", func(t *testing.T) {
		fh := newFakeHost(t, true)
		fh.statusFails = 3
		install(t, fh, serverConfig(), fakeOptions(t, &logBuffer{}, bundle))
		if n := countCalls(fh, func(c string) bool { return strings.HasSuffix(c, "slipway status") }); n != 4 {
			t.Fatalf("status ran %d times, want 4", n)
		}
	})
	t.Run("timeout shows the journal, redacted", func(t *testing.T) {
		fh := newFakeHost(t, true)
		fh.statusFails = -1
		fh.journal = "Dec 03 apiserver: listening\nDec 03 etcd: token " + testToken + " rejected\nDec 03 fatal: giving up\n"
		logs := &logBuffer{}
		opts := fakeOptions(t, logs, bundle)
		opts.ReadyTimeout = 100 * time.Millisecond
		opts.ReadyPoll = 10 * time.Millisecond
		err := Install(context.Background(), []*Host{{Runner: fh.Fake, Config: serverConfig()}}, opts)
		if err == nil {
			t.Fatal("want a readiness error")
		}
		for _, want := range []string{"did not become ready within 100ms", "not ready: apiserver not answering", "fatal: giving up", "journalctl -u slipway"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if strings.Contains(err.Error(), "t0p-s3cret") {
			t.Fatalf("token leaked into the error:\n%v", err)
		}
		if fh.lockHolder != "" {
			t.Fatal("a failed install must release its lock")
		}
	})
}

// Tokens never reach errors or logs, whichever way they come back.
func TestSecretsRedactedInErrorsAndLogs(t *testing.T) {
	fh := newFakeHost(t, false)
	fh.Secrets = nil // the runner itself does not know the token: bootstrap must hide it
	const endpoint = "https://etcd-user:etcd-pass-9876@etcd-1.example:2379"
	fh.Fail(`^systemctl restart`, 1, "Job failed: bad token "+testToken+"; cannot reach "+endpoint+"\n")
	logs := &logBuffer{}
	opts := fakeOptions(t, logs, makeBundle(t, t.TempDir(), "0.1.0", "amd64"))
	cfg := serverConfig()
	cfg.DatastoreEndpoint = endpoint
	h := &Host{Runner: fh.Fake, Config: cfg}
	err := Install(context.Background(), []*Host{h}, opts)
	if err == nil {
		t.Fatal("want an error")
	}
	var ce *remote.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("the cause must stay reachable: %T", err)
	}
	for name, text := range map[string]string{"error": err.Error(), "logs": logs.String()} {
		if strings.Contains(text, "t0p-s3cret") {
			t.Errorf("token in %s:\n%s", name, text)
		}
		if strings.Contains(text, "etcd-pass-9876") {
			t.Errorf("datastore password in %s:\n%s", name, text)
		}
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error should show where the token was: %v", err)
	}
	// The settings file on the host does hold the token, only with mode 0600.
	if f, ok := fh.files[configPath]; !ok || !bytes.Contains(f, []byte(testToken)) {
		t.Fatalf("the token must reach the settings file")
	}
	for _, c := range fh.Calls() {
		if strings.Contains(c.Cmd, "t0p-s3cret") {
			t.Errorf("token on a command line: %q", c.Cmd)
		}
	}
}

func TestHostLock(t *testing.T) {
	bundle := makeBundle(t, t.TempDir(), "0.1.0", "amd64")
	t.Run("held by a live run", func(t *testing.T) {
		fh := newFakeHost(t, true)
		fh.lockHolder, fh.lockAlive = "other-run", true
		err := Install(context.Background(), []*Host{{Runner: fh.Fake, Config: serverConfig()}}, fakeOptions(t, &logBuffer{}, bundle))
		if err == nil || !strings.Contains(err.Error(), "another run is working on this host (holder other-run") {
			t.Fatalf("want a lock refusal naming the holder, got %v", err)
		}
		if m := mutating(fh.Calls()); len(m) != 0 {
			t.Fatalf("changed a locked host: %q", m)
		}
	})
	t.Run("stale lock of a killed run", func(t *testing.T) {
		fh := newFakeHost(t, true)
		fh.lockHolder, fh.lockAlive = "killed-run", false
		logs := &logBuffer{}
		install(t, fh, serverConfig(), fakeOptions(t, logs, bundle))
		if !strings.Contains(logs.String(), "fake-1:22: took over a stale lock (holder killed-run") {
			t.Fatalf("want the takeover logged:\n%s", logs)
		}
		if fh.lockHolder != "" {
			t.Fatal("lock not released")
		}
	})
}

func TestInterruptedInstallConverges(t *testing.T) {
	bundle := makeBundle(t, t.TempDir(), "0.1.0", "amd64")
	fh := newFakeHost(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	fh.On(`^mkdir -p /opt/slipway/bundles`, func(remote.Call, []string) (string, error) {
		cancel() // the upload's context ends right after this step
		return "", nil
	})
	err := Install(ctx, []*Host{{Runner: fh.Fake, Config: serverConfig()}}, fakeOptions(t, &logBuffer{}, bundle))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want the cancellation, got %v", err)
	}
	if fh.lockHolder != "" {
		t.Fatal("a cancelled run must still release its lock")
	}

	// Killed between writing the settings and restarting: the next run restarts.
	fh.On(`^mkdir -p /opt/slipway/bundles`, fh.ok)
	fh.Fail(`^systemctl restart`, 1, "killed")
	if err := Install(context.Background(), []*Host{{Runner: fh.Fake, Config: serverConfig()}}, fakeOptions(t, &logBuffer{}, bundle)); err == nil {
		t.Fatal("want the restart to fail")
	}
	fh.On(`^systemctl restart slipway.service$`, func(remote.Call, []string) (string, error) {
		fh.restarts++
		fh.active = true
		return "", nil
	})
	h := install(t, fh, serverConfig(), fakeOptions(t, &logBuffer{}, bundle))
	if len(h.Changes) != 1 || !strings.HasSuffix(h.Changes[0], "slipway.service (pending from an earlier run)") {
		t.Fatalf("the re-run must finish the restart, and only that: %q", h.Changes)
	}
	if fh.pending {
		t.Fatal("restart mark left behind")
	}
}

func TestValidateRefusals(t *testing.T) {
	bundle := makeBundle(t, t.TempDir(), "0.1.0", "amd64")
	for name, tc := range map[string]struct {
		setup func(fh *fakeHost)
		cfg   func(c *config.Config)
		want  string
	}{
		"not systemd":       {setup: func(fh *fakeHost) { fh.init = "init" }, want: `the init system is "init", not systemd`},
		"unsupported arch":  {setup: func(fh *fakeHost) { fh.machine = "riscv64" }, want: `architecture "riscv64" is not supported`},
		"no bundle for arm": {setup: func(fh *fakeHost) { fh.machine = "aarch64" }, want: "no bundle given for arm64"},
		"invalid settings":  {cfg: func(c *config.Config) { c.ClusterCIDR = "10.43.0.0/16" }, want: "service-cidr: 10.43.0.0/16 overlaps"},
		"another Kubernetes": {setup: func(fh *fakeHost) { fh.otherKubernetes = "/var/lib/kubelet k3s.service" },
			want: "another Kubernetes is on this host (/var/lib/kubelet k3s.service)"},
	} {
		t.Run(name, func(t *testing.T) {
			fh := newFakeHost(t, true)
			if tc.setup != nil {
				tc.setup(fh)
			}
			cfg := serverConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			err := Install(context.Background(), []*Host{{Runner: fh.Fake, Config: cfg}}, fakeOptions(t, &logBuffer{}, bundle))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
			if m := mutating(fh.Calls()); len(m) != 0 {
				t.Fatalf("changed the host before validating: %q", m)
			}
		})
	}
}

func TestResetLeavesHostAsFound(t *testing.T) {
	fh := newFakeHost(t, true)
	opts := fakeOptions(t, &logBuffer{}, makeBundle(t, t.TempDir(), "0.1.0", "amd64"))
	install(t, fh, serverConfig(), opts)
	if err := Reset(context.Background(), []*Host{{Runner: fh.Fake}}, opts); err != nil {
		t.Fatal(err)
	}
	if len(fh.files) != 0 || fh.link != "" || fh.enabled || fh.active || fh.lockHolder != "" {
		t.Fatalf("after reset: files %d link %q enabled %v active %v lock %q", len(fh.files), fh.link, fh.enabled, fh.active, fh.lockHolder)
	}
	// Resetting a clean host is fine too.
	if err := Reset(context.Background(), []*Host{{Runner: fh.Fake}}, opts); err != nil {
		t.Fatal(err)
	}
}

// Inspect reports what Terraform's Read compares: version, settings checksum, service
// state; and changes nothing.
func TestInspect(t *testing.T) {
	fh := newFakeHost(t, false)
	opts := fakeOptions(t, &logBuffer{}, makeBundle(t, t.TempDir(), "0.1.0", "amd64"))
	install(t, fh, serverConfig(), opts)
	fh.Reset()
	fh.active = false // stopped by hand: drift
	h := &Host{Runner: fh.Fake}
	if err := Inspect(context.Background(), []*Host{h}, opts); err != nil {
		t.Fatal(err)
	}
	rendered, _ := serverConfig().Render()
	if f := h.Facts; !f.Installed() || f.ConfigChecksum != config.Checksum(rendered) || f.ServiceRunning() || f.Arch != "amd64" {
		t.Fatalf("facts %+v", f)
	}
	if m := mutating(fh.Calls()); len(m) != 0 {
		t.Fatalf("Inspect changed %q", m)
	}
	// The next install starts the stopped service, and only that.
	h = install(t, fh, serverConfig(), opts)
	if len(h.Changes) != 1 || h.Changes[0] != "started slipway.service" || !h.ServiceStarted {
		t.Fatalf("changes %q, service started %v", h.Changes, h.ServiceStarted)
	}
}

func TestUnitCarriesNoSettings(t *testing.T) {
	for _, role := range []string{config.RoleServer, config.RoleAgent} {
		u, err := renderUnit(role)
		if err != nil {
			t.Fatal(err)
		}
		s := string(u)
		for _, want := range []string{"KillMode=process\n", "Delegate=yes\n", "Restart=always\n", "\nExecStart=/usr/local/bin/slipway " + role + "\n", "WantedBy=multi-user.target"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s unit lacks %q:\n%s", role, want, s)
			}
		}
		if strings.Contains(s, "--") || strings.Contains(s, "Environment") {
			t.Errorf("the unit must carry no settings:\n%s", s)
		}
	}
}

// recordingPhase notes when it runs, for the manager's tests.
type recordingPhase struct {
	title    string
	skip     map[string]bool
	fail     map[string]bool
	delay    time.Duration
	running  *atomic.Int32
	maxSeen  *atomic.Int32
	mu       sync.Mutex
	ran      []string
	cleanups *[]string
	cmu      *sync.Mutex
}

func (p *recordingPhase) Title() string { return p.title }
func (p *recordingPhase) ShouldRun(h *Host) bool {
	return !p.skip[h.Name]
}

func (p *recordingPhase) Run(ctx context.Context, h *Host) error {
	n := p.running.Add(1)
	defer p.running.Add(-1)
	for {
		m := p.maxSeen.Load()
		if n <= m || p.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(p.delay)
	p.mu.Lock()
	p.ran = append(p.ran, h.Name)
	p.mu.Unlock()
	h.Logf("did %s", p.title)
	if p.fail[h.Name] {
		return errors.New("boom")
	}
	return nil
}

func (p *recordingPhase) CleanUp(_ context.Context, h *Host) {
	p.cmu.Lock()
	*p.cleanups = append(*p.cleanups, p.title+"/"+h.Name)
	p.cmu.Unlock()
}

func TestManager(t *testing.T) {
	var running, maxSeen atomic.Int32
	var cleanups []string
	var cmu sync.Mutex
	mk := func(title string) *recordingPhase {
		return &recordingPhase{title: title, delay: 20 * time.Millisecond, running: &running, maxSeen: &maxSeen, cleanups: &cleanups, cmu: &cmu}
	}
	a, b, c := mk("first"), mk("second"), mk("third")
	b.skip = map[string]bool{"h2": true}
	b.fail = map[string]bool{"h3": true}
	var hosts []*Host
	for i := 1; i <= 6; i++ {
		hosts = append(hosts, &Host{Name: fmt.Sprintf("h%d", i), Config: config.Config{Token: testToken}})
	}
	logs := &logBuffer{}
	m := &Manager{Phases: []Phase{a, b, c}, Concurrency: 2, Logf: logs.logf}
	err := m.Run(context.Background(), hosts)
	if err == nil || !strings.Contains(err.Error(), "h3: second: boom") {
		t.Fatalf("want h3's failure, got %v", err)
	}
	if maxSeen.Load() > 2 {
		t.Fatalf("%d hosts at once, limit 2", maxSeen.Load())
	}
	if len(a.ran) != 6 || len(b.ran) != 5 || len(c.ran) != 0 {
		t.Fatalf("ran first on %v, second on %v, third on %v", a.ran, b.ran, c.ran)
	}
	if !strings.Contains(logs.String(), "==> Running phase: first\n") || !strings.Contains(logs.String(), "h4: did second") {
		t.Fatalf("logs:\n%s", logs)
	}
	// Clean-ups: reverse phase order, only where the phase ran.
	if len(cleanups) != 11 || !strings.HasPrefix(cleanups[0], "second/") || !strings.HasPrefix(cleanups[10], "first/") {
		t.Fatalf("clean-ups %v", cleanups)
	}

	// A cancelled context stops before the next phase.
	ctx, cancel := context.WithCancel(context.Background())
	d := mk("cancels")
	e := mk("never")
	m = &Manager{Phases: []Phase{&cancelPhase{d, cancel}, e}, Logf: logs.logf}
	if err := m.Run(ctx, hosts[:1]); !errors.Is(err, context.Canceled) {
		t.Fatalf("want the cancellation, got %v", err)
	}
	if len(e.ran) != 0 {
		t.Fatal("a phase ran after the context was cancelled")
	}
}

type cancelPhase struct {
	*recordingPhase
	cancel context.CancelFunc
}

func (p *cancelPhase) Run(ctx context.Context, h *Host) error {
	p.cancel()
	return p.recordingPhase.Run(ctx, h)
}

// Facts are gathered before the lock (so that every host is validated before any
// changes); when another run took the lock in between, the facts are gathered and
// checked again under the lock, and nothing is done on the old ones.
func TestFactsGatheredAgainWhenAnotherRunCameBetween(t *testing.T) {
	bundle := makeBundle(t, t.TempDir(), "0.1.0", "amd64")
	fh := newFakeHost(t, true)
	server, err := serverConfig().Render()
	if err != nil {
		t.Fatal(err)
	}
	fh.afterFacts = func() {
		// Another run installs a server here and releases its lock.
		fh.files[configPath] = server
		fh.files[unitPath], _ = renderUnit(config.RoleServer)
		fh.generation++
		fh.afterFacts = nil
	}
	logs := &logBuffer{}
	agent := config.Config{Role: config.RoleAgent, Server: "https://10.0.0.1:6443", Token: testToken}
	err = Install(context.Background(), []*Host{{Runner: fh.Fake, Config: agent}}, fakeOptions(t, logs, bundle))
	if err == nil || !strings.Contains(err.Error(), "the host runs slipway in server mode and the settings want agent mode") {
		t.Fatalf("want the role change refused on the new facts, got %v", err)
	}
	if !strings.Contains(logs.String(), "gathering them again") {
		t.Errorf("want the second look logged:\n%s", logs)
	}
	if m := mutating(fh.Calls()); len(m) != 0 {
		t.Fatalf("acted on stale facts: %q", m)
	}
	if fh.lockHolder != "" {
		t.Fatal("the refused run must release its lock")
	}

	// Without another run in between, the facts are gathered once.
	fh2 := newFakeHost(t, true)
	install(t, fh2, serverConfig(), fakeOptions(t, &logBuffer{}, bundle))
	if n := countCalls(fh2, func(c string) bool { return strings.HasPrefix(c, "set -u\nif [ -r /etc/os-release ]") }); n != 1 {
		t.Fatalf("facts gathered %d times, want once", n)
	}
}

// One Host value can serve several operations: each starts from what it finds.
func TestHostReusedAcrossOperations(t *testing.T) {
	fh := newFakeHost(t, false)
	opts := fakeOptions(t, &logBuffer{}, makeBundle(t, t.TempDir(), "0.1.0", "amd64"))
	h := &Host{Runner: fh.Fake, Config: serverConfig()}
	for i, op := range []func(context.Context, []*Host, Options) error{Install, Reset, Install} {
		if err := op(context.Background(), []*Host{h}, opts); err != nil {
			t.Fatalf("operation %d: %v", i, err)
		}
	}
	if len(h.Changes) != 6 || !fh.active || fh.pending || fh.lockHolder != "" {
		t.Fatalf("the second install: changes %q, active %v, pending %v, lock %q", h.Changes, fh.active, fh.pending, fh.lockHolder)
	}
}

// A ready server's admin kubeconfig comes back pointing at the host, not at the
// loopback address it was written for; its key stays out of logs and errors.
func TestKubeconfigFetched(t *testing.T) {
	bundle := makeBundle(t, t.TempDir(), "0.1.0", "amd64")
	fh := newFakeHost(t, false)
	logs := &logBuffer{}
	cfg := serverConfig()
	cfg.NodeIP = "10.0.0.5"
	h := install(t, fh, cfg, fakeOptions(t, logs, bundle))
	if h.APIServer != "https://10.0.0.5:6443" {
		t.Fatalf("APIServer = %q", h.APIServer)
	}
	kc := string(h.Kubeconfig)
	for _, want := range []string{"server: https://10.0.0.5:6443\n", "client-key-data: " + fakeClientKey, "certificate-authority-data: Q0EgREFUQQ=="} {
		if !strings.Contains(kc, want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, kc)
		}
	}
	if strings.Contains(kc, "127.0.0.1") || strings.Contains(logs.String(), fakeClientKey) {
		t.Errorf("loopback left in the kubeconfig, or the key logged:\n%s\n%s", kc, logs)
	}
	if !strings.Contains(logs.String(), "fake-1:22: fetched the admin kubeconfig (API https://10.0.0.5:6443)") {
		t.Errorf("logs:\n%s", logs)
	}

	// Agents have none; without waiting for readiness there is none to fetch yet.
	agent := config.Config{Role: config.RoleAgent, Server: "https://10.0.0.5:6443", Token: testToken}
	for name, tc := range map[string]struct {
		cfg  config.Config
		skip bool
	}{"agent": {agent, false}, "server without waiting": {serverConfig(), true}} {
		fh := newFakeHost(t, true)
		opts := fakeOptions(t, &logBuffer{}, bundle)
		opts.SkipWaitReady = tc.skip
		h := install(t, fh, tc.cfg, opts)
		if h.Kubeconfig != nil {
			t.Errorf("%s: fetched a kubeconfig", name)
		}
	}
}

// A bundle read once is not read again, unless the file changed.
func TestBundleReadOnceUnlessChanged(t *testing.T) {
	dir := t.TempDir()
	p := makeBundle(t, dir, "0.1.0", "amd64")
	a, err := readBundle(p)
	if err != nil || a.Version != "0.1.0" {
		t.Fatalf("read %v %v", a, err)
	}
	// Another bundle moved over the same path, its time set back to the first's.
	fi, _ := os.Stat(p)
	q := makeBundle(t, t.TempDir(), "0.2.0", "amd64")
	if err := os.Rename(q, p); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	b, err := readBundle(p)
	if err != nil || b.Version != "0.2.0" || b.SHA256 == a.SHA256 {
		t.Fatalf("a changed bundle must be read again: %+v %v", b, err)
	}
	if want := sum(mustRead(t, p)); b.SHA256 != want {
		t.Fatalf("checksum %s, want %s", b.SHA256, want)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyedRunner is a Runner that reports the host key it saw, as remote.SSH does.
type keyedRunner struct {
	remote.Runner
	key ssh.PublicKey
}

func (k keyedRunner) HostKey() ssh.PublicKey { return k.key }

// With trust on first use, the key the host presented comes back on the Host, for
// Terraform to keep and pin.
func TestHostKeyReported(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	fh := newFakeHost(t, true)
	var dialled remote.Config
	opts := fakeOptions(t, &logBuffer{}, makeBundle(t, t.TempDir(), "0.1.0", "amd64"))
	opts.Dial = func(_ context.Context, cfg remote.Config) (remote.Runner, error) {
		dialled = cfg
		return keyedRunner{fh.Fake, signer.PublicKey()}, nil
	}
	h := &Host{SSH: remote.Config{Address: "10.0.0.9", User: "root", TrustOnFirstUse: true}, Config: serverConfig()}
	if err := Install(context.Background(), []*Host{h}, opts); err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	if h.HostKey != want || !dialled.TrustOnFirstUse {
		t.Fatalf("HostKey = %q, want %q", h.HostKey, want)
	}
	if !strings.Contains(string(h.Kubeconfig), "server: https://10.0.0.9:6443") {
		t.Fatalf("the kubeconfig must point at the SSH address without node-ip:\n%s", h.Kubeconfig)
	}
}
