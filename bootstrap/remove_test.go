package bootstrap

import (
	"context"
	"strings"
	"testing"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap/remote"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// clusterNodes scripts a server's `slipway kubectl` for Remove: the cluster's nodes,
// and what was drained and deleted.
type clusterNodes struct {
	nodes   map[string]bool
	drained []string
	deleted []string
}

func (c *clusterNodes) script(fh *fakeHost) {
	const kubectl = `^/usr/local/bin/slipway kubectl --kubeconfig /etc/slipway/admin\.kubeconfig --cache-dir /run/slipway/kubectl-cache `
	fh.On(kubectl+`get node (\S+) -o name --ignore-not-found$`, func(_ remote.Call, m []string) (string, error) {
		if c.nodes[m[1]] {
			return "node/" + m[1] + "\n", nil
		}
		return "", nil
	})
	fh.On(kubectl+`drain (\S+) --ignore-daemonsets --delete-emptydir-data --force --timeout=300s$`, func(_ remote.Call, m []string) (string, error) {
		c.drained = append(c.drained, m[1])
		return "node/" + m[1] + " drained\n", nil
	})
	fh.On(kubectl+`delete node (\S+) --ignore-not-found$`, func(_ remote.Call, m []string) (string, error) {
		c.deleted = append(c.deleted, m[1])
		delete(c.nodes, m[1])
		return "", nil
	})
}

func TestRemoveDrainsDeletesAndResets(t *testing.T) {
	bundle := makeBundle(t, t.TempDir(), "0.1.0", "amd64")
	opts := fakeOptions(t, &logBuffer{}, bundle)
	srv := newFakeHost(t, true)
	srv.Name = "server:22"
	install(t, srv, serverConfig(), opts)
	agentHost := newFakeHost(t, false)
	agentHost.Name, agentHost.hostname = "agent:22", "agent-1"
	agentCfg := config.Config{Role: config.RoleAgent, Server: "https://10.0.0.1:6443", Token: testToken, NodeName: "agent-1"}
	install(t, agentHost, agentCfg, opts)
	cluster := &clusterNodes{nodes: map[string]bool{"node-1": true, "agent-1": true}}
	cluster.script(srv)
	srv.Reset()

	server := &Host{Runner: srv.Fake, Config: serverConfig()}
	// The node as Terraform knows it after the fact: no node-name in config, so the
	// name comes from the settings on the host.
	node := &Host{Runner: agentHost.Fake, Config: config.Config{Role: config.RoleAgent}}
	if err := Remove(context.Background(), server, []*Host{node}, opts); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cluster.drained, ",") != "agent-1" || strings.Join(cluster.deleted, ",") != "agent-1" || cluster.nodes["agent-1"] {
		t.Fatalf("drained %v, deleted %v, left %v", cluster.drained, cluster.deleted, cluster.nodes)
	}
	if len(agentHost.files) != 0 || agentHost.active || agentHost.link != "" {
		t.Fatalf("the node's host was not reset: files %d active %v link %q", len(agentHost.files), agentHost.active, agentHost.link)
	}
	if !srv.active || len(srv.files) == 0 || srv.lockHolder != "" {
		t.Fatalf("the server must be left running and unlocked")
	}
	for _, c := range srv.Calls() {
		if strings.HasPrefix(c.Cmd, "set -u\ndata=") || c.Upload != "" || strings.HasPrefix(c.Cmd, "HOLDER=") {
			t.Errorf("Remove reset, changed or locked the server: %q", firstLine(c.Cmd))
		}
	}

	// Again, after the node is gone and its settings with it (the name now comes
	// from the host name): nothing to drain, the reset converges.
	logs := &logBuffer{}
	opts.Logf = logs.logf
	if err := Remove(context.Background(), server, []*Host{node}, opts); err != nil {
		t.Fatal(err)
	}
	if len(cluster.drained) != 1 || !strings.Contains(logs.String(), "server:22: node agent-1 is not in the cluster: nothing to drain") {
		t.Fatalf("drained %v; logs:\n%s", cluster.drained, logs)
	}
}

func TestRemoveRefusals(t *testing.T) {
	bundle := makeBundle(t, t.TempDir(), "0.1.0", "amd64")
	opts := fakeOptions(t, &logBuffer{}, bundle)
	srv := newFakeHost(t, true)
	install(t, srv, serverConfig(), opts)
	other := newFakeHost(t, true)
	second := serverConfig()
	second.NodeName = "node-2"
	install(t, other, second, opts)

	t.Run("a server", func(t *testing.T) {
		other.Reset()
		err := Remove(context.Background(), &Host{Runner: srv.Fake, Config: serverConfig()}, []*Host{{Runner: other.Fake}}, opts)
		if err == nil || !strings.Contains(err.Error(), "removing a server is not supported yet") {
			t.Fatalf("want a refusal, got %v", err)
		}
		if m := mutating(other.Calls()); len(m) != 0 || !other.active {
			t.Fatalf("a refused removal changed the host: %q", m)
		}
	})
	t.Run("through a server that is not running", func(t *testing.T) {
		srv.active = false
		defer func() { srv.active = true }()
		agent := newFakeHost(t, true)
		err := Remove(context.Background(), &Host{Runner: srv.Fake}, []*Host{{Runner: agent.Fake, Config: config.Config{NodeName: "a"}}}, opts)
		if err == nil || !strings.Contains(err.Error(), "must be a running slipway server") {
			t.Fatalf("want a refusal, got %v", err)
		}
	})
}
