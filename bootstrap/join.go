package bootstrap

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// joinPhase waits until every node of the operation is registered and Ready: the
// agents, servers that join, and servers that run a kubelet (without
// disable-agent). It runs on the operation's first server, asking the API through
// `slipway kubectl` there, all nodes in one command per check, so no host sees more
// than one extra SSH session. When the operation has no server (agents joining a
// cluster whose servers are elsewhere), it only logs that it cannot check.
type joinPhase struct {
	hosts   []*Host
	skip    bool
	timeout time.Duration
	poll    time.Duration
}

func (p *joinPhase) Title() string { return "Wait for nodes to join" }

// through is the server the check runs on: the first server that starts a cluster.
func (p *joinPhase) through() *Host {
	for _, h := range p.hosts {
		if h.Config.Role == config.RoleServer && h.Config.Server == "" {
			return h
		}
	}
	return nil
}

// nodes are the hosts whose Node must become Ready.
func (p *joinPhase) nodes() []*Host {
	var out []*Host
	for _, h := range p.hosts {
		if h.Config.Role == config.RoleAgent || !h.Config.DisableAgent {
			out = append(out, h)
		}
	}
	return out
}

func (p *joinPhase) ShouldRun(h *Host) bool {
	if p.skip || len(p.nodes()) == 0 {
		return false
	}
	if s := p.through(); s != nil {
		return h == s
	}
	// No server here: say so once, on the first node.
	return h == p.nodes()[0]
}

// nodesJSONPath prints "name<TAB>status<TAB>reason<TAB>message" for each node's Ready
// condition.
const nodesJSONPath = `{range .items[*]}{.metadata.name}{"\t"}{range .status.conditions[?(@.type=="Ready")]}{.status}{"\t"}{.reason}{"\t"}{.message}{end}{"\n"}{end}`

func (p *joinPhase) Run(ctx context.Context, h *Host) error {
	if p.through() == nil {
		h.Logf("no server in this operation: not checking that the nodes joined")
		return nil
	}
	want := map[string]*Host{}
	for _, n := range p.nodes() {
		want[nodeName(n)] = n
	}
	cfg := h.Config
	cfg.Defaults()
	cmd := binLink + " kubectl --kubeconfig " + q(cfg.WriteKubeconfig) + " --cache-dir " + kubectlCache +
		" get nodes -o jsonpath=" + q(nodesJSONPath)
	wctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	seen := map[string]bool{}
	state := map[string]string{}
	var last error
	for {
		out, err := h.sh(wctx, cmd)
		if err != nil && wctx.Err() == nil {
			last = err
		}
		if err == nil {
			last = nil
			for _, l := range strings.Split(out, "\n") {
				f := strings.Split(l, "\t")
				if len(f) < 2 || want[f[0]] == nil {
					continue
				}
				if f[1] == "True" {
					if !seen[f[0]] {
						seen[f[0]] = true
						h.Logf("node %s is Ready", f[0])
					}
					continue
				}
				state[f[0]] = strings.TrimSpace("Ready=" + strings.Join(f[1:], " "))
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(seen) == len(want) {
			return nil
		}
		select {
		case <-wctx.Done():
			return p.timedOut(ctx, want, seen, state, last)
		case <-time.After(p.poll):
		}
	}
}

// timedOut explains which nodes did not become Ready, with the last lines of their
// service's journal.
func (p *joinPhase) timedOut(ctx context.Context, want map[string]*Host, seen map[string]bool, state map[string]string, last error) error {
	var names []string
	for n := range want {
		if !seen[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "nodes did not become Ready within %s", p.timeout)
	if last != nil {
		fmt.Fprintf(&b, " (last check: %v)", last)
	}
	b.WriteString(":")
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	for _, n := range names {
		s := state[n]
		if s == "" {
			s = "not registered"
		}
		fmt.Fprintf(&b, "\n  node %s (%s): %s", n, want[n].Name, s)
		if r := want[n].run; r != nil {
			j, err := r.RunPrivileged(jctx, fmt.Sprintf("journalctl -u %s --no-pager -n 10 -o short-iso", unitName))
			if err != nil {
				j = "(could not read the journal: " + err.Error() + ")"
			}
			fmt.Fprintf(&b, "; last lines of its journal:\n%s", indent(indent(strings.TrimRight(want[n].redact.String(j), "\n"))))
		}
	}
	return fmt.Errorf("%s", b.String())
}
