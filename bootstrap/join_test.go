package bootstrap

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// joinCluster is a server and two agents on fake hosts; the server's API reports
// the agents' nodes as polls goes by.
func joinCluster(t *testing.T) (srv *fakeHost, agents []*fakeHost, hosts []*Host) {
	srv = newFakeHost(t, true)
	srv.Name = "server:22"
	hosts = []*Host{{Runner: srv.Fake, Config: serverConfig()}}
	for _, n := range []string{"agent-1", "agent-2"} {
		a := newFakeHost(t, false)
		a.Name = n + ":22"
		agents = append(agents, a)
		hosts = append(hosts, &Host{Runner: a.Fake, Config: config.Config{Role: config.RoleAgent, NodeName: n,
			Server: "https://10.0.0.1:6443", Token: testToken}})
	}
	return srv, agents, hosts
}

func TestJoinWaitsForEveryNode(t *testing.T) {
	srv, _, hosts := joinCluster(t)
	polls := 0
	srv.otherNodes = func() []string {
		polls++
		switch {
		case polls < 2:
			return nil
		case polls < 4:
			return []string{"agent-1\tFalse\tKubeletNotReady\tcontainer runtime network not ready", "agent-2\tTrue\tKubeletReady\tok"}
		}
		return []string{"agent-1\tTrue\tKubeletReady\tok", "agent-2\tTrue\tKubeletReady\tok"}
	}
	logs := &logBuffer{}
	opts := fakeOptions(t, logs, makeBundle(t, t.TempDir(), "0.1.0", "amd64"))
	if err := Install(context.Background(), hosts, opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server:22: node node-1 is Ready", "server:22: node agent-1 is Ready", "server:22: node agent-2 is Ready"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if polls != 4 {
		t.Errorf("%d checks, want 4", polls)
	}
}

func TestJoinTimeoutNamesTheNode(t *testing.T) {
	srv, agents, hosts := joinCluster(t)
	srv.otherNodes = func() []string { return []string{"agent-1\tTrue\tKubeletReady\tok"} }
	agents[1].journal = "Dec 04 slipway: join https://10.0.0.1:6443 with token " + testToken + ": connection refused\n"
	opts := fakeOptions(t, &logBuffer{}, makeBundle(t, t.TempDir(), "0.1.0", "amd64"))
	opts.ReadyTimeout = 50 * time.Millisecond
	opts.ReadyPoll = 5 * time.Millisecond
	err := Install(context.Background(), hosts, opts)
	if err == nil {
		t.Fatal("want a timeout")
	}
	for _, want := range []string{"nodes did not become Ready within 50ms:", "node agent-2 (agent-2:22): not registered", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "agent-1 (") || strings.Contains(err.Error(), "t0p-s3cret") {
		t.Errorf("a Ready node listed, or the token shown:\n%v", err)
	}
}

// A server without a kubelet (disable-agent) is no node; an operation without a
// server cannot check the join and says so.
func TestJoinWhatIsWaitedFor(t *testing.T) {
	bundle := makeBundle(t, t.TempDir(), "0.1.0", "amd64")
	cfg := serverConfig()
	cfg.DisableAgent = true
	fh := newFakeHost(t, true)
	install(t, fh, cfg, fakeOptions(t, &logBuffer{}, bundle))
	for _, c := range fh.Calls() {
		if strings.Contains(c.Cmd, "get nodes") {
			t.Fatalf("waited for nodes of a control-plane-only server: %q", c.Cmd)
		}
	}

	logs := &logBuffer{}
	agent := newFakeHost(t, true)
	install(t, agent, config.Config{Role: config.RoleAgent, Server: "https://10.0.0.1:6443", Token: testToken},
		fakeOptions(t, logs, bundle))
	if !strings.Contains(logs.String(), "fake-1:22: no server in this operation: not checking that the nodes joined") {
		t.Fatalf("logs:\n%s", logs)
	}
}
