package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// serverArgsEnv makes the test binary act as `slipway server` with the arguments it
// holds (a JSON list): the control-plane test runs the server as a
// process of its own (so it can be stopped and restarted like a real one) without
// linking a second binary.
const serverArgsEnv = "SLIPWAY_TEST_SERVER_ARGS"

// breakSchedulerEnv, set with serverArgsEnv, makes the scheduler fail at once.
const breakSchedulerEnv = "SLIPWAY_TEST_BREAK_SCHEDULER"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(serverArgsEnv); ok {
		if os.Getenv(breakSchedulerEnv) != "" {
			components.scheduler = func(context.Context, *layout) error { return errors.New("broken on purpose by the test") }
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		cmd := NewCommand()
		var list []string
		if err := json.Unmarshal([]byte(args), &list); err != nil {
			fmt.Fprintf(os.Stderr, "Error: %s: %v\n", serverArgsEnv, err)
			os.Exit(2)
		}
		cmd.SetArgs(list)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := cmd.ExecuteContext(ctx)
		stop()
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runServer runs `slipway server` in this process with args and returns its error.
func runServer(t *testing.T, args ...string) error {
	t.Helper()
	cmd := NewCommand()
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	return cmd.ExecuteContext(ctx)
}

// badInputArgs: settings that would start a server on free ports in dir, if nothing
// were wrong with them.
func badInputArgs(t *testing.T, dir string) []string {
	ports := freePorts(t, 6)
	return []string{
		"--data-dir", filepath.Join(dir, "data"),
		"--write-kubeconfig", filepath.Join(dir, "kube", "admin.kubeconfig"),
		"--node-ip", "198.51.100.10", // TEST-NET-2: never contacted, preflight only
		"--https-port", fmt.Sprint(ports[0]),
		"--etcd-client-port", fmt.Sprint(ports[1]),
		"--etcd-peer-port", fmt.Sprint(ports[2]),
		"--controller-manager-port", fmt.Sprint(ports[3]),
		"--scheduler-port", fmt.Sprint(ports[4]),
		"--metrics-server-port", fmt.Sprint(ports[5]),
		"--disable-agent",
	}
}

// assertNothingWritten: a refused start left no data dir and no kubeconfig.
func assertNothingWritten(t *testing.T, dir string) {
	t.Helper()
	for _, p := range []string{filepath.Join(dir, "data"), filepath.Join(dir, "kube")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s was written although startup was refused", p)
		}
	}
}

// assertOneMessage: the error is one message that mentions every part of want.
func assertOneMessage(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("startup was not refused")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// TestBadInput_InvalidConfigFile: an invalid settings file stops startup with a
// message naming the file and the bad key, before anything is written.
func TestBadInput_InvalidConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("role: server\nservice-cidr: 10.43.0.0/33\nhttps-prot: 6443\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runServer(t, append(badInputArgs(t, dir), "--config", path)...)
	assertOneMessage(t, err, path, "https-prot")
	assertNothingWritten(t, dir)

	if err := os.WriteFile(path, []byte("role: server\nservice-cidr: 10.43.0.0/33\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = runServer(t, append(badInputArgs(t, dir), "--config", path)...)
	assertOneMessage(t, err, path, "service-cidr")
	assertNothingWritten(t, dir)

	// A settings file that was asked for must exist.
	err = runServer(t, append(badInputArgs(t, dir), "--config", filepath.Join(dir, "missing.yaml"))...)
	assertOneMessage(t, err, "missing.yaml", "no such file")
	assertNothingWritten(t, dir)
}

// TestBadInput_PortInUse: an https port that another process holds stops startup.
func TestBadInput_PortInUse(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	err = runServer(t, append(badInputArgs(t, dir), "--https-port", fmt.Sprint(port))...)
	assertOneMessage(t, err, "https-port", fmt.Sprint(port), "already in use")
	assertNothingWritten(t, dir)
}

// TestBadInput_DataDirNotWritable: a data dir that cannot be created or written stops
// startup. As root, permissions do not stop writes, so the data dir sits below a
// regular file; as another user, also below a read-only folder.
func TestBadInput_DataDirNotWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := runServer(t, append(badInputArgs(t, dir), "--data-dir", filepath.Join(file, "data"))...)
	assertOneMessage(t, err, "data-dir", "not writable", "not a directory")
	assertNothingWritten(t, dir)

	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "read-only")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		err := runServer(t, append(badInputArgs(t, dir), "--data-dir", filepath.Join(ro, "data"))...)
		assertOneMessage(t, err, "data-dir", "not writable", "permission denied")
		assertNothingWritten(t, dir)
	}
}

// TestBadInput_AgentRole: a settings file for an agent does not start a server.
func TestBadInput_AgentRole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	c := config.Config{Role: config.RoleAgent, Server: "https://10.0.0.1:6443", Token: "t"}
	data, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	err = runServer(t, append(badInputArgs(t, dir), "--config", path)...)
	assertOneMessage(t, err, "role", "agent")
	assertNothingWritten(t, dir)
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// TestBadInput_LoopbackNodeIP: the apiserver advertises the node's address to the
// cluster, so a loopback one is refused up front, not after the apiserver fails.
func TestBadInput_LoopbackNodeIP(t *testing.T) {
	dir := t.TempDir()
	err := runServer(t, append(badInputArgs(t, dir), "--node-ip", "127.0.0.1")...)
	assertOneMessage(t, err, "node-ip", "127.0.0.1")
	assertNothingWritten(t, dir)
}
