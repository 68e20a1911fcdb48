package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// Remove takes nodes out of the cluster that server belongs to and resets their
// hosts: each node is drained and its Node object deleted, through `slipway
// kubectl` on the server, then its host is reset (see Reset). A node the cluster no
// longer knows is only reset, so an interrupted removal finishes when run again.
// Removing a server is refused for now: its etcd member would have to leave the
// etcd cluster first, which comes with highly available servers.
func Remove(ctx context.Context, server *Host, nodes []*Host, opts Options) error {
	opts.defaults()
	if server == nil || len(nodes) == 0 {
		return errors.New("remove: give the server to drain through and at least one node")
	}
	only := map[*Host]bool{}
	for _, n := range nodes {
		if n == server {
			return fmt.Errorf("remove: %s is the server the removal runs through", n.Name)
		}
		only[n] = true
	}
	onServer := map[*Host]bool{server: true}
	drain := &drainPhase{server: server, nodes: nodes, timeout: opts.DrainTimeout}
	m := &Manager{Concurrency: opts.Concurrency, Logf: opts.Logf, Phases: []Phase{
		&connectPhase{dial: opts.Dial},
		&factsPhase{},
		&validateRemovePhase{server: server},
		onHosts(only, &lockPhase{holder: opts.HolderID}),
		onHosts(onServer, drain),
		onHosts(only, &resetPhase{}),
		onHosts(only, &unlockPhase{removeDir: true}),
	}}
	return m.Run(ctx, append([]*Host{server}, nodes...))
}

// nodeName is the name the node registers under: its node-name setting (wanted, or
// found on the host), else its host name, as slipway does.
func nodeName(h *Host) string {
	if h.Config.NodeName != "" {
		return h.Config.NodeName
	}
	if have, err := h.Facts.ExistingConfig(); err == nil && have != nil && have.NodeName != "" {
		return have.NodeName
	}
	return h.Facts.Hostname
}

type validateRemovePhase struct {
	server *Host
}

func (p *validateRemovePhase) Title() string { return "Validate removal" }

func (p *validateRemovePhase) Run(_ context.Context, h *Host) error {
	have, err := h.Facts.ExistingConfig()
	if err != nil {
		return fmt.Errorf("read the settings on the host: %w", err)
	}
	if h == p.server {
		if have == nil || have.Role != config.RoleServer || !h.Facts.ServiceRunning() {
			return errors.New("the removal runs through this host, which must be a running slipway server")
		}
		return nil
	}
	role := h.Config.Role
	if have != nil {
		role = have.Role
	}
	if role == config.RoleServer {
		return errors.New("removing a server is not supported yet: its etcd member must leave the etcd cluster first, " +
			"which comes with highly available servers")
	}
	if nodeName(h) == "" {
		return errors.New("cannot tell the node's name: set node-name")
	}
	return nil
}

// drainPhase runs on the server: drains each node and deletes its Node object.
type drainPhase struct {
	server  *Host
	nodes   []*Host
	timeout time.Duration
}

func (p *drainPhase) Title() string { return "Drain and delete nodes" }

func (p *drainPhase) Run(ctx context.Context, h *Host) error {
	have, err := h.Facts.ExistingConfig()
	if err != nil {
		return fmt.Errorf("read the server's settings: %w", err)
	}
	if have == nil {
		return errors.New("the server has no settings file")
	}
	timeout := p.timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	// kubectl caches discovery in $HOME/.kube by default: root's home is not ours
	// to leave things in.
	kubectl := binLink + " kubectl --kubeconfig " + q(have.WriteKubeconfig) + " --cache-dir " + kubectlCache + " "
	for _, n := range p.nodes {
		name := nodeName(n)
		out, err := h.sh(ctx, kubectl+"get node "+q(name)+" -o name --ignore-not-found")
		if err != nil {
			return fmt.Errorf("look up node %s: %w", name, err)
		}
		if strings.TrimSpace(out) == "" {
			h.Logf("node %s is not in the cluster: nothing to drain", name)
			continue
		}
		// Daemon sets' pods come back anyway; emptyDir data goes with the node.
		if _, err := h.sh(ctx, fmt.Sprintf("%sdrain %s --ignore-daemonsets --delete-emptydir-data --force --timeout=%ds",
			kubectl, q(name), int(timeout.Seconds()))); err != nil {
			return fmt.Errorf("drain node %s: %w", name, err)
		}
		h.changed("drained node %s", name)
		if _, err := h.sh(ctx, kubectl+"delete node "+q(name)+" --ignore-not-found"); err != nil {
			return fmt.Errorf("delete node %s: %w", name, err)
		}
		h.changed("deleted node %s", name)
	}
	return nil
}

// onHosts limits a phase to some of an operation's hosts.
func onHosts(hosts map[*Host]bool, p Phase) Phase { return &limited{Phase: p, hosts: hosts} }

type limited struct {
	Phase
	hosts map[*Host]bool
}

func (l *limited) ShouldRun(h *Host) bool {
	if !l.hosts[h] {
		return false
	}
	if sr, ok := l.Phase.(ShouldRunner); ok {
		return sr.ShouldRun(h)
	}
	return true
}

func (l *limited) CleanUp(ctx context.Context, h *Host) {
	if cu, ok := l.Phase.(CleanUpper); ok {
		cu.CleanUp(ctx, h)
	}
}
