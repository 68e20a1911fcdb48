package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// startAgent serves an ssh-agent holding keys (in that order) on a unix socket.
func startAgent(t *testing.T, keys ...any) string {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(kr, c)
			}()
		}
	}()
	return sock
}

// keyPair is a client key: its private key, PEM (with passphrase if given) and public key.
func keyPair(t *testing.T, passphrase string) (ed25519.PrivateKey, []byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var pemBytes []byte
	if passphrase == "" {
		b, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			t.Fatal(err)
		}
		pemBytes = pemEncode(b)
	} else {
		b, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
		if err != nil {
			t.Fatal(err)
		}
		pemBytes = pemEncode(b)
	}
	sp, _ := ssh.NewPublicKey(pub)
	return priv, pemBytes, sp
}

// H1: the key file has a passphrase and the same key is in ssh-agent: connect through
// the agent. Without an agent (or one lacking the key) and without the passphrase:
// fail once, at once, saying the key needs its passphrase.
func TestCase_PassphraseKeyAndAgent(t *testing.T) {
	priv, locked, pub := keyPair(t, "hunter2-passphrase")
	ts := startServer(t, serverOpts{authorized: []ssh.PublicKey{pub}})
	h, p := hostPort(t, ts.addr)
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, locked, 0o600); err != nil {
		t.Fatal(err)
	}
	base := Config{Address: h, Port: p, User: "tester", HostKey: authorizedLine(ts.hostKey.PublicKey()),
		ConnectTimeout: 20 * time.Second}

	t.Run("through the agent", func(t *testing.T) {
		cfg := base
		cfg.PrivateKeyFile, cfg.Agent, cfg.AgentSocket = keyFile, true, startAgent(t, priv)
		s, err := Dial(context.Background(), cfg)
		if err != nil {
			t.Fatalf("a locked key that the agent holds must connect through the agent: %v", err)
		}
		s.Close()
	})

	for name, agentKeys := range map[string][]any{"no agent": nil, "agent without the key": {otherKey(t)}} {
		t.Run(name, func(t *testing.T) {
			before := ts.handshake.Load()
			cfg := base
			cfg.PrivateKey = locked
			if agentKeys != nil {
				cfg.Agent, cfg.AgentSocket = true, startAgent(t, agentKeys...)
			}
			start := time.Now()
			_, err := Dial(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), "passphrase") {
				t.Fatalf("want an error naming the passphrase, got %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s: an unusable key must fail at once", d)
			}
			if n := ts.handshake.Load() - before; n != 0 {
				t.Fatalf("an unusable key must not even connect: %d connections", n)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("passphrase leaked: %v", err)
			}
		})
	}
}

func otherKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// H2: the agent holds ten wrong keys before the right one and the server allows six
// attempts: the configured key goes first and connects.
func TestCase_ManyAgentKeys(t *testing.T) {
	priv, plain, pub := keyPair(t, "")
	_, locked, _ := func() (ed25519.PrivateKey, []byte, ssh.PublicKey) {
		b, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret phrase"))
		if err != nil {
			t.Fatal(err)
		}
		return priv, pemEncode(b), pub
	}()
	var keys []any
	for range 10 {
		keys = append(keys, otherKey(t))
	}
	keys = append(keys, priv)
	sock := startAgent(t, keys...)
	ts := startServer(t, serverOpts{authorized: []ssh.PublicKey{pub}, maxAuthTries: 6})
	h, p := hostPort(t, ts.addr)

	// The control: offering the agent's keys in the agent's order runs out of tries.
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	signers, _ := agent.NewClient(conn).Signers()
	conn.Close()
	if _, err := ssh.Dial("tcp", ts.addr, &ssh.ClientConfig{User: "tester", Auth: []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback: ssh.FixedHostKey(ts.hostKey.PublicKey())}); err == nil {
		t.Fatal("control: the agent's order should exceed the server's MaxAuthTries")
	}

	t.Run("agent alone fails once, with a hint", func(t *testing.T) {
		before := ts.handshake.Load()
		_, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", Agent: true, AgentSocket: sock,
			HostKey: authorizedLine(ts.hostKey.PublicKey()), ConnectTimeout: 20 * time.Second})
		var ae *AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("want *AuthError, got %v", err)
		}
		if n := ts.handshake.Load() - before; n != 1 {
			t.Fatalf("an authentication failure must not be retried: %d connections", n)
		}
		if !strings.Contains(err.Error(), "offered first") {
			t.Errorf("want a hint to configure the key: %v", err)
		}
	})

	for name, cfg := range map[string]Config{
		"plain key and agent":        {PrivateKey: plain, Agent: true, AgentSocket: sock},
		"locked key, agent signs it": {PrivateKey: locked, Agent: true, AgentSocket: sock},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Address, cfg.Port, cfg.User, cfg.HostKey = h, p, "tester", authorizedLine(ts.hostKey.PublicKey())
			s, err := Dial(context.Background(), cfg)
			if err != nil {
				t.Fatalf("the configured key must be offered first: %v", err)
			}
			s.Close()
		})
	}
}

// hostSigners makes an ed25519, an ECDSA and an RSA host key.
func hostSigners(t *testing.T) (ed, ec, rs ssh.Signer) {
	t.Helper()
	ed = newSigner(t)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec, _ = ssh.NewSignerFromKey(ek)
	rs, _ = ssh.NewSignerFromKey(rk)
	return ed, ec, rs
}

func writeKnownHosts(t *testing.T, lines ...string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// H4: the host offers ECDSA, RSA and ed25519 keys and is known only by one of them
// (pinned, or in known_hosts, hashed or not): connect by negotiating that type. A
// real mismatch fails on the first try, naming where the known key came from.
func TestCase_HostKeyTypes(t *testing.T) {
	key, pemKey, pub := keyPair(t, "")
	_ = key
	ed, ec, rs := hostSigners(t)
	// ECDSA first: what an unrestricted client would likely be shown.
	ts := startServer(t, serverOpts{authorized: []ssh.PublicKey{pub}, hostKeys: []ssh.Signer{ec, rs, ed}})
	h, p := hostPort(t, ts.addr)
	addr := knownhosts.Normalize(ts.addr)

	for _, known := range []ssh.Signer{ed, rs, ec} {
		typ := known.PublicKey().Type()
		cases := map[string]Config{
			"pinned":              {HostKey: authorizedLine(known.PublicKey())},
			"known_hosts":         {KnownHostsFiles: []string{writeKnownHosts(t, knownhosts.Line([]string{addr}, known.PublicKey()))}},
			"hashed known_hosts":  {KnownHostsFiles: []string{writeKnownHosts(t, knownhosts.Line([]string{knownhosts.HashHostname(addr)}, known.PublicKey()))}},
			"wildcard with other": {KnownHostsFiles: []string{writeKnownHosts(t, "# comment", knownhosts.Line([]string{"other.example"}, ec.PublicKey()), knownhosts.Line([]string{"[127.0.0.*]:" + strconv.Itoa(p)}, known.PublicKey()))}},
		}
		for name, cfg := range cases {
			t.Run(typ+"/"+name, func(t *testing.T) {
				cfg.Address, cfg.Port, cfg.User, cfg.PrivateKey = h, p, "tester", pemKey
				s, err := Dial(context.Background(), cfg)
				if err != nil {
					t.Fatalf("connect knowing only the %s key: %v", typ, err)
				}
				defer s.Close()
				if got := s.HostKey().Type(); got != typ {
					t.Fatalf("negotiated %s, want %s", got, typ)
				}
			})
		}
	}

	t.Run("mismatch in known_hosts fails once", func(t *testing.T) {
		wrong := newSigner(t).PublicKey()
		kh := writeKnownHosts(t, knownhosts.Line([]string{knownhosts.HashHostname(addr)}, wrong))
		before := ts.handshake.Load()
		_, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: pemKey,
			KnownHostsFiles: []string{kh}, ConnectTimeout: 20 * time.Second})
		var hk *HostKeyError
		if !errors.As(err, &hk) {
			t.Fatalf("want *HostKeyError, got %v", err)
		}
		if n := ts.handshake.Load() - before; n != 1 {
			t.Fatalf("a mismatch must not be retried: %d connections", n)
		}
		for _, want := range []string{"host key mismatch", ssh.FingerprintSHA256(wrong), ssh.FingerprintSHA256(ed.PublicKey()), kh + " line 1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		if b, _ := os.ReadFile(kh); !strings.Contains(string(b), authorizedLine(wrong)[len("ssh-ed25519 "):]) {
			t.Errorf("known_hosts must never be rewritten")
		}
	})

	t.Run("unknown host is refused before connecting", func(t *testing.T) {
		kh := writeKnownHosts(t, knownhosts.Line([]string{"other.example"}, ed.PublicKey()))
		before := ts.handshake.Load()
		_, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: pemKey, KnownHostsFiles: []string{kh}})
		if err == nil || !strings.Contains(err.Error(), "no entry in known_hosts") {
			t.Fatalf("want a refusal naming known_hosts, got %v", err)
		}
		if n := ts.handshake.Load() - before; n != 0 {
			t.Fatalf("%d connections for an unknown host", n)
		}
	})

	t.Run("revoked key", func(t *testing.T) {
		kh := writeKnownHosts(t, knownhosts.Line([]string{addr}, ed.PublicKey()), "@revoked * "+authorizedLine(ed.PublicKey()))
		_, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: pemKey, KnownHostsFiles: []string{kh}})
		var hk *HostKeyError
		if !errors.As(err, &hk) || !strings.Contains(err.Error(), "revoked") {
			t.Fatalf("want a refusal of the revoked key, got %v", err)
		}
	})
}

// A host certificate signed by a @cert-authority of known_hosts is accepted; one from
// another authority is refused.
func TestKnownHostsCertAuthority(t *testing.T) {
	_, pemKey, pub := keyPair(t, "")
	ca, otherCA := newSigner(t), newSigner(t)
	certSigner := func(authority ssh.Signer) ssh.Signer {
		hostKey := newSigner(t)
		cert := &ssh.Certificate{Key: hostKey.PublicKey(), CertType: ssh.HostCert, KeyId: "host",
			ValidPrincipals: []string{"127.0.0.1"}, ValidBefore: ssh.CertTimeInfinity}
		if err := cert.SignCert(rand.Reader, authority); err != nil {
			t.Fatal(err)
		}
		s, err := ssh.NewCertSigner(cert, hostKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := startServer(t, serverOpts{authorized: []ssh.PublicKey{pub}, hostKeys: []ssh.Signer{certSigner(ca)}})
	bad := startServer(t, serverOpts{authorized: []ssh.PublicKey{pub}, hostKeys: []ssh.Signer{certSigner(otherCA)}})
	// golang.org/x/crypto/ssh/knownhosts matches a port exactly (OpenSSH would also
	// take "[127.0.0.1]:*"), so the lines name the ports.
	kh := writeKnownHosts(t, "@cert-authority "+knownhosts.Normalize(good.addr)+","+knownhosts.Normalize(bad.addr)+" "+authorizedLine(ca.PublicKey()))
	h, p := hostPort(t, good.addr)
	s, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: pemKey, KnownHostsFiles: []string{kh}})
	if err != nil {
		t.Fatalf("a host certificate from the known authority must be accepted: %v", err)
	}
	s.Close()

	h, p = hostPort(t, bad.addr)
	_, err = Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: pemKey, KnownHostsFiles: []string{kh}})
	var hk *HostKeyError
	if !errors.As(err, &hk) {
		t.Fatalf("a certificate from another authority must be refused, got %v", err)
	}
}

// IPv6 literals, with or without brackets, reach the host and match known_hosts.
func TestIPv6Address(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	ln.Close()
	_, pemKey, pub := keyPair(t, "")
	ts := startServer(t, serverOpts{authorized: []ssh.PublicKey{pub}, listen: "[::1]:0"})
	h, p := hostPort(t, ts.addr)
	kh := writeKnownHosts(t, knownhosts.Line([]string{knownhosts.Normalize(ts.addr)}, ts.hostKey.PublicKey()))
	for _, a := range []string{h, "[" + h + "]"} {
		s, err := Dial(context.Background(), Config{Address: a, Port: p, User: "tester", PrivateKey: pemKey, KnownHostsFiles: []string{kh}})
		if err != nil {
			t.Fatalf("Dial %s: %v", a, err)
		}
		if s.Host() != "[::1]:"+strconv.Itoa(p) {
			t.Errorf("Host() = %s", s.Host())
		}
		s.Close()
	}
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }

// H5: as root nothing is prefixed; a sudo user's privileged commands go through sudo
// (-n without a password, -S with the password on stdin, never on the command line);
// sudo wanting a password that was not given fails once, saying so.
func TestCase_SudoEverywhere(t *testing.T) {
	_, pemKey, pub := keyPair(t, "")
	const sudoPass = "s3cret-sudo-pass"
	for _, tc := range []struct {
		name, uid, pass string
		sudoNeedsPass   bool
		wantPrefix      string
		wantErr         string
	}{
		{name: "root", uid: "0", wantPrefix: ""},
		{name: "passwordless sudo", uid: "1000", wantPrefix: "sudo -n -- sh -c "},
		{name: "sudo with password", uid: "1000", pass: sudoPass, sudoNeedsPass: true, wantPrefix: "sudo -S -p '' -- sh -c "},
		{name: "sudo wants a password", uid: "1000", sudoNeedsPass: true, wantPrefix: "sudo -n -- sh -c ", wantErr: "sudo needs a password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotStdin []string
			ts := startServer(t, serverOpts{authorized: []ssh.PublicKey{pub}, exec: func(cmd, stdin string) (string, string, int, bool) {
				switch {
				case cmd == "id -u":
					return tc.uid + "\n", "", 0, true
				case strings.HasPrefix(cmd, "sudo -n") && tc.sudoNeedsPass:
					return "", "sudo: a password is required\n", 1, true
				case strings.HasPrefix(cmd, "sudo -S"):
					gotStdin = append(gotStdin, stdin)
					if stdin != sudoPass+"\n" {
						return "", "Sorry, try again.\n", 1, true
					}
					return "ok\n", "", 0, true
				}
				return "ok\n", "", 0, true
			}})
			h, p := hostPort(t, ts.addr)
			s, err := Dial(context.Background(), Config{Address: h, Port: p, User: "u", PrivateKey: pemKey,
				HostKey: authorizedLine(ts.hostKey.PublicKey()), SudoPassword: tc.pass})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			steps := []string{"install -m 0600 a /etc/slipway/config.yaml", "systemctl restart slipway.service",
				"chmod 0700 /var/lib/slipway", "chown root:root /etc/slipway", "mount --bind /a /b", "iptables -S"}
			for _, step := range steps {
				_, err := s.RunPrivileged(context.Background(), step)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("want %q, got %v", tc.wantErr, err)
					}
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			cmds := ts.commands()[1:] // after id -u
			if tc.wantErr != "" && len(cmds) != 1 {
				t.Fatalf("a refused sudo must fail once, not retry: %q", cmds)
			}
			for i, c := range cmds {
				want := tc.wantPrefix + ShellQuote(steps[i])
				if tc.wantPrefix == "" {
					want = steps[i]
				}
				if c != want {
					t.Errorf("ran %q, want %q", c, want)
				}
				if strings.Contains(c, sudoPass) {
					t.Errorf("the sudo password is on the command line: %q", c)
				}
			}
			for _, in := range gotStdin {
				if in != sudoPass+"\n" {
					t.Errorf("sudo got %q on stdin", in)
				}
			}
		})
	}
}
