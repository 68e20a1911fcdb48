// Package bootstrap turns reachable hosts into Slipway nodes over SSH: it gathers facts,
// uploads the bundle, writes the node's settings and systemd unit, starts the service,
// waits until it is ready and its node joined, and fetches a server's kubeconfig; it
// removes nodes (drain, delete, reset) and resets hosts to how it found them.
// Operations are lists of phases (k0sctl's model) run on many hosts in parallel, and
// re-running one converges: a phase that already holds does nothing.
package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap/remote"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// Paths on a host.
const (
	binLink     = "/usr/local/bin/slipway"
	installRoot = "/opt/slipway"
	bundlesDir  = installRoot + "/bundles"
	releasesDir = installRoot + "/releases"
	configPath  = config.DefaultPath
	unitName    = "slipway.service"
	unitPath    = "/etc/systemd/system/" + unitName
	lockDir     = "/run/slipway"
	lockPath    = lockDir + "/bootstrap.lock"
	pendingPath = lockDir + "/restart-pending"
	// generationPath counts the lock's acquisitions (see lockPhase).
	generationPath = lockDir + "/generation"
	// kubectlCache is the discovery cache of the kubectl runs Remove makes.
	kubectlCache = lockDir + "/kubectl-cache"
	stagingName  = ".slipway-staging" // in the login user's home
)

// Host is one machine an operation works on.
type Host struct {
	// Name labels log lines and errors; default: the SSH address.
	Name string
	// SSH says how to reach the host; unused when Runner is set.
	SSH remote.Config
	// Runner, when set, is used instead of dialling SSH (tests use remote.Fake).
	Runner remote.Runner
	// Config is the node's desired settings; its Role picks server or agent.
	Config config.Config

	// Facts is what the facts phase found, before anything changed.
	Facts *Facts
	// Changes lists what the operation changed on the host, in order ("uploaded
	// bundle ...", "restarted slipway.service"); empty when the host already held.
	Changes []string
	// ServiceStarted is true when the operation started or restarted the service.
	ServiceStarted bool
	// HostKey is the public key the host presented ("ssh-ed25519 AAAA..."): with
	// SSH.TrustOnFirstUse, the one to record and pin from then on.
	HostKey string
	// Kubeconfig is a server's admin kubeconfig, fetched once the server is ready,
	// with its API address set to the host's (APIServer): sensitive.
	Kubeconfig []byte
	// APIServer is the URL Kubeconfig points at ("https://10.0.0.5:6443").
	APIServer string
	// JoinToken is a server's join token (slipway:<id>.<secret>:sha256:<CA hash>),
	// read with the kubeconfig: agents join with it. Secret.
	JoinToken string

	mu      sync.Mutex
	logf    func(format string, args ...any)
	redact  *remote.Redactor
	run     remote.Runner
	dialled bool
	home    string
	root    bool
	staged  bool // the staging folder in home exists
	marked  bool // restart-pending is set on the host
	bundle  *bundleInfo
	lock    *hostLock

	// What this run changed, for the start phase.
	binaryChanged, configChanged, unitChanged bool
	rendered                                  []byte // the settings file as rendered
	unit                                      []byte
}

// Options tune an operation.
type Options struct {
	// Bundles maps an architecture ("amd64", "arm64") to a local bundle tarball
	// (dist/slipway-<version>-linux-<arch>.tar). Install needs the one of each
	// host's architecture.
	Bundles map[string]string
	// Concurrency bounds the hosts worked on at once; default 10.
	Concurrency int
	// Logf receives log lines, secrets redacted; default log.Printf.
	Logf func(format string, args ...any)
	// Dial connects to a host; default remote.Dial. Tests wrap it to record.
	Dial func(ctx context.Context, cfg remote.Config) (remote.Runner, error)
	// SkipWaitReady ends Install after the service (re)started, without waiting for
	// `slipway status` to succeed.
	SkipWaitReady bool
	// ReadyTimeout bounds the wait for readiness; default 5 minutes.
	ReadyTimeout time.Duration
	// ReadyPoll is the pause between readiness checks; default 2s.
	ReadyPoll time.Duration
	// HolderID names this run in host locks; default a random id.
	HolderID string
	// DrainTimeout bounds draining one node in Remove; default 5 minutes.
	DrainTimeout time.Duration
}

func (o *Options) defaults() {
	if o.Logf == nil {
		o.Logf = log.Printf
	}
	if o.Dial == nil {
		o.Dial = func(ctx context.Context, cfg remote.Config) (remote.Runner, error) { return remote.Dial(ctx, cfg) }
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 5 * time.Minute
	}
	if o.ReadyPoll == 0 {
		o.ReadyPoll = 2 * time.Second
	}
	if o.HolderID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		o.HolderID = hex.EncodeToString(b[:])
	}
}

// Install makes each host a running node with its settings: a server or an agent
// (joining the server its settings name). Hosts that already hold the bundle and
// settings are left alone: nothing is uploaded, nothing restarted.
func Install(ctx context.Context, hosts []*Host, opts Options) error {
	opts.defaults()
	bundles, err := readBundles(opts.Bundles)
	if err != nil {
		return err
	}
	// Agents that join a server of this same operation without a CA-pinned token
	// wait for it: the server comes up first, then they get its join token.
	if first, waiting := pendingJoins(hosts); first != nil && len(waiting) > 0 && !opts.SkipWaitReady {
		if err := runInstall(ctx, []*Host{first}, opts, bundles); err != nil {
			return err
		}
		for _, a := range waiting {
			a.Config.Token = first.JoinToken
		}
	}
	return runInstall(ctx, hosts, opts, bundles)
}

// pendingJoins finds the operation's cluster-starting server and the hosts that
// join it without a token pinned to its CA.
func pendingJoins(hosts []*Host) (first *Host, waiting []*Host) {
	for _, h := range hosts {
		if h.Config.Role == config.RoleServer && h.Config.Server == "" && first == nil {
			first = h
		}
	}
	for _, h := range hosts {
		if h != first && h.Config.Server != "" && !strings.Contains(h.Config.Token, ":sha256:") {
			waiting = append(waiting, h)
		}
	}
	return first, waiting
}

func runInstall(ctx context.Context, hosts []*Host, opts Options, bundles map[string]*bundleInfo) error {
	m := &Manager{Concurrency: opts.Concurrency, Logf: opts.Logf, Phases: []Phase{
		&connectPhase{dial: opts.Dial},
		&factsPhase{bundles: bundles},
		&validatePhase{},
		&lockPhase{holder: opts.HolderID, bundles: bundles, validate: true},
		&uploadPhase{},
		&configurePhase{},
		&startPhase{},
		&waitReadyPhase{skip: opts.SkipWaitReady, timeout: opts.ReadyTimeout, poll: opts.ReadyPoll},
		&kubeconfigPhase{skip: opts.SkipWaitReady},
		&joinPhase{hosts: hosts, skip: opts.SkipWaitReady, timeout: opts.ReadyTimeout, poll: opts.ReadyPoll},
		&unlockPhase{},
	}}
	return m.Run(ctx, hosts)
}

// Reset stops and removes Slipway from each host: the service and its unit, the
// binaries, the settings, the data dir, the network and runtime state it made. The
// host is left as it was found before the install.
func Reset(ctx context.Context, hosts []*Host, opts Options) error {
	opts.defaults()
	m := &Manager{Concurrency: opts.Concurrency, Logf: opts.Logf, Phases: []Phase{
		&connectPhase{dial: opts.Dial},
		&factsPhase{},
		&lockPhase{holder: opts.HolderID},
		&resetPhase{},
		&unlockPhase{removeDir: true},
	}}
	return m.Run(ctx, hosts)
}

// Inspect gathers each host's facts (OS, architecture, existing install, its version,
// settings checksum and service state) without changing anything: what Terraform's
// Read compares with the desired state.
func Inspect(ctx context.Context, hosts []*Host, opts Options) error {
	opts.defaults()
	m := &Manager{Concurrency: opts.Concurrency, Logf: opts.Logf, Phases: []Phase{
		&connectPhase{dial: opts.Dial},
		&factsPhase{},
	}}
	return m.Run(ctx, hosts)
}

func (h *Host) init(logf func(string, ...any)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.Name == "" {
		if h.Runner != nil {
			h.Name = h.Runner.Host()
		} else {
			h.Name = h.SSH.Address
		}
	}
	h.logf = logf
	h.redact = &remote.Redactor{}
	h.redact.Add(h.Config.Token, h.SSH.Password, h.SSH.SudoPassword, h.SSH.PrivateKeyPassphrase, string(h.SSH.PrivateKey))
	h.redact.Add(h.SSH.Secrets...)
	h.redact.Add(datastoreSecrets(h.Config.DatastoreEndpoint)...)
	// Everything below is one run's state: a Host used for a second operation
	// starts from what that run finds, never from what the last one left.
	h.Facts, h.Changes, h.Kubeconfig, h.APIServer, h.HostKey = nil, nil, nil, "", ""
	h.run, h.dialled, h.home, h.root = nil, false, "", false
	h.staged, h.marked, h.bundle, h.lock = false, false, nil, nil
	h.binaryChanged, h.configChanged, h.unitChanged = false, false, false
	h.rendered, h.unit = nil, nil
}

// datastoreSecrets are the credentials in datastore URLs ("https://user:pass@etcd:2379").
func datastoreSecrets(endpoints string) []string {
	var out []string
	for _, e := range strings.Split(endpoints, ",") {
		u, err := url.Parse(strings.TrimSpace(e))
		if err != nil || u.User == nil {
			continue
		}
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw, u.User.String())
		}
	}
	return out
}

// Logf logs one line about this host, "<host>: ...", with secrets redacted.
func (h *Host) Logf(format string, args ...any) {
	h.logf("%s", h.redact.String(h.Name+": "+fmt.Sprintf(format, args...)))
}

func (h *Host) changed(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	h.mu.Lock()
	h.Changes = append(h.Changes, msg)
	h.mu.Unlock()
	h.Logf("%s", msg)
}

// wrapErr names the host (once) and the phase in an error and hides secrets in its
// message; errors.As still reaches the cause.
func (h *Host) wrapErr(phase string, err error) error {
	msg := err.Error()
	if h.run != nil {
		msg = strings.ReplaceAll(msg, h.run.Host()+": ", "")
	}
	return &HostError{Host: h.Name, Phase: phase, msg: h.redact.String(msg), err: err}
}

// HostError is an operation's failure on one host.
type HostError struct {
	Host  string
	Phase string
	msg   string
	err   error
}

func (e *HostError) Error() string { return e.Host + ": " + strings.ToLower(e.Phase) + ": " + e.msg }
func (e *HostError) Unwrap() error { return e.err }

// sh runs a privileged command: unchanged as root, through sudo otherwise (case H5).
func (h *Host) sh(ctx context.Context, cmd string) (string, error) {
	return h.run.RunPrivileged(ctx, cmd)
}

var errNotConnected = errors.New("not connected")
