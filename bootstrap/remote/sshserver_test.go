package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// testServer is an in-process SSH server on loopback that runs exec requests with the
// local shell and serves sftp: real protocol, no host needed.
type testServer struct {
	addr      string
	hostKey   ssh.Signer
	handshake atomic.Int32 // connections that reached key exchange

	// exec, when set, answers exec requests instead of the local shell;
	// handled=false falls through to the shell.
	exec func(cmd, stdin string) (stdout, stderr string, status int, handled bool)
	mu   sync.Mutex
	cmds []string // every exec request, in order
}

// serverOpts shape a test server for the cases.
type serverOpts struct {
	authorized   []ssh.PublicKey
	hostKeys     []ssh.Signer // default: one fresh ed25519 key
	maxAuthTries int          // like OpenSSH: every offered key counts, queries included
	listen       string       // default 127.0.0.1:0
	exec         func(cmd, stdin string) (stdout, stderr string, status int, handled bool)
}

// startServer starts a test server with opts.
func startServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	ts := &testServer{exec: o.exec}
	if len(o.hostKeys) == 0 {
		o.hostKeys = []ssh.Signer{newSigner(t)}
	}
	ts.hostKey = o.hostKeys[0]
	var attemptsMu sync.Mutex
	attempts := map[string]int{}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			attemptsMu.Lock()
			attempts[string(c.SessionID())]++
			n := attempts[string(c.SessionID())]
			attemptsMu.Unlock()
			if o.maxAuthTries > 0 && n > o.maxAuthTries {
				return nil, errors.New("too many authentication failures")
			}
			for _, a := range o.authorized {
				if string(key.Marshal()) == string(a.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("key not authorized")
		},
	}
	cfg.MaxAuthTries = o.maxAuthTries
	for _, k := range o.hostKeys {
		cfg.AddHostKey(k)
	}
	listen := o.listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ts.addr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go ts.serve(c, cfg)
		}
	}()
	return ts
}

// commands returns the exec requests the server got.
func (ts *testServer) commands() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.cmds...)
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startTestServer accepts clients whose public key is authorized.
func startTestServer(t *testing.T, authorized ssh.PublicKey) *testServer {
	t.Helper()
	var keys []ssh.PublicKey
	if authorized != nil {
		keys = append(keys, authorized)
	}
	return startServer(t, serverOpts{authorized: keys})
}

func (ts *testServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	ts.handshake.Add(1)
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		c.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go ts.handleSession(ch, chReqs)
	}
}

func (ts *testServer) handleSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		switch req.Type {
		case "exec":
			n := binary.BigEndian.Uint32(req.Payload[:4])
			line := string(req.Payload[4 : 4+n])
			ts.mu.Lock()
			ts.cmds = append(ts.cmds, line)
			ts.mu.Unlock()
			if ts.exec != nil {
				_ = req.Reply(true, nil)
				// Read stdin only for commands that get some (sudo -S).
				var stdin string
				if strings.Contains(line, "sudo -S") {
					b := make([]byte, 256)
					k, _ := ch.Read(b)
					stdin = string(b[:k])
				}
				if out, errOut, status, ok := ts.exec(line, stdin); ok {
					_, _ = io.WriteString(ch, out)
					_, _ = io.WriteString(ch.Stderr(), errOut)
					_, _ = ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(status)))
					return
				}
			}
			cmd := exec.Command("sh", "-c", line)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
			if ts.exec == nil {
				_ = req.Reply(true, nil)
			}
			status := 0
			if err := cmd.Run(); err != nil {
				status = 255
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					status = ee.ExitCode()
				}
			}
			_, _ = ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(status)))
			return
		case "subsystem":
			_ = req.Reply(true, nil)
			srv, err := sftp.NewServer(ch)
			if err == nil {
				_ = srv.Serve()
			}
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}
