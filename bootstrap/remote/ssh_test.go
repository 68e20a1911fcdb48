package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
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
)

// clientKey returns a fresh client key as PEM (optionally passphrase-protected) and its public key.
func clientKey(t *testing.T, passphrase string) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	return h, port
}

func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestDialPinnedHostKeyRunsCommands(t *testing.T) {
	key, pub := clientKey(t, "")
	ts := startTestServer(t, pub)
	h, p := hostPort(t, ts.addr)
	s, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: key,
		HostKey: authorizedLine(ts.hostKey.PublicKey())})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer s.Close()
	out, err := s.Run(context.Background(), "echo hello; echo to-stderr >&2")
	if err != nil || out != "hello\n" {
		t.Fatalf("Run = %q, %v; want hello", out, err)
	}

	_, err = s.Run(context.Background(), "echo partial; echo broken >&2; exit 3")
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("want *CommandError, got %T %v", err, err)
	}
	if ce.ExitCode != 3 || ce.Stdout != "partial\n" || !strings.Contains(err.Error(), "broken") ||
		!strings.Contains(err.Error(), "exit 3") {
		t.Fatalf("CommandError lacks status, command or output: %+v / %v", ce, err)
	}
}

func TestWrongHostKeyRefusedOnFirstTry(t *testing.T) {
	key, pub := clientKey(t, "")
	ts := startTestServer(t, pub)
	h, p := hostPort(t, ts.addr)
	other := newSigner(t).PublicKey()
	start := time.Now()
	_, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: key,
		HostKey: authorizedLine(other), ConnectTimeout: 20 * time.Second})
	var hk *HostKeyError
	if !errors.As(err, &hk) {
		t.Fatalf("want *HostKeyError, got %v", err)
	}
	if n := ts.handshake.Load(); n != 1 {
		t.Fatalf("a host key mismatch must not be retried: %d connections", n)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("mismatch took %s; it must fail at once", time.Since(start))
	}
	for _, want := range []string{"host key mismatch", ssh.FingerprintSHA256(other), ssh.FingerprintSHA256(ts.hostKey.PublicKey())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestAuthFailureNotRetried(t *testing.T) {
	key, _ := clientKey(t, "")
	_, otherPub := clientKey(t, "")
	ts := startTestServer(t, otherPub)
	h, p := hostPort(t, ts.addr)
	_, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: key,
		HostKey: authorizedLine(ts.hostKey.PublicKey()), ConnectTimeout: 20 * time.Second})
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("want *AuthError, got %v", err)
	}
	if n := ts.handshake.Load(); n != 1 {
		t.Fatalf("an authentication failure must not be retried: %d connections", n)
	}
}

func TestTransientRefusalIsRetried(t *testing.T) {
	key, pub := clientKey(t, "")
	// Reserve a port, leave it closed for a moment, then start the server on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ts := &testServer{hostKey: newSigner(t)}
	go func() {
		time.Sleep(700 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		t.Cleanup(func() { ln.Close() })
		cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(pub.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("no")
		}}
		cfg.AddHostKey(ts.hostKey)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go ts.serve(c, cfg)
		}
	}()
	h, p := hostPort(t, addr)
	s, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: key,
		HostKey: authorizedLine(ts.hostKey.PublicKey()), ConnectTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("a refused connection while the host starts must be retried: %v", err)
	}
	s.Close()
}

func TestPassphraseKey(t *testing.T) {
	key, pub := clientKey(t, "correct horse")
	ts := startTestServer(t, pub)
	h, p := hostPort(t, ts.addr)
	cfg := Config{Address: h, Port: p, User: "tester", PrivateKey: key, HostKey: authorizedLine(ts.hostKey.PublicKey())}

	_, err := Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("a protected key without its passphrase must say so, got %v", err)
	}
	if n := ts.handshake.Load(); n != 0 {
		t.Fatalf("nothing should be dialled with an unusable key: %d connections", n)
	}

	cfg.PrivateKeyPassphrase = "correct horse"
	s, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Dial with passphrase: %v", err)
	}
	s.Close()
}

func TestNoHostKeyIsRefused(t *testing.T) {
	key, _ := clientKey(t, "")
	_, err := Dial(context.Background(), Config{Address: "127.0.0.1", Port: 1, User: "u", PrivateKey: key})
	if err == nil || !strings.Contains(err.Error(), "no host key") {
		t.Fatalf("want a refusal without host key, got %v", err)
	}
}

func TestTrustOnFirstUseReportsKey(t *testing.T) {
	key, pub := clientKey(t, "")
	ts := startTestServer(t, pub)
	h, p := hostPort(t, ts.addr)
	s, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: key, TrustOnFirstUse: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := authorizedLine(s.HostKey()); got != authorizedLine(ts.hostKey.PublicKey()) {
		t.Fatalf("HostKey = %s, want the server's key", got)
	}
}

func TestSecretsRedactedInErrors(t *testing.T) {
	key, pub := clientKey(t, "")
	ts := startTestServer(t, pub)
	h, p := hostPort(t, ts.addr)
	const token = "K10abcdef0123456789::server:s3cr3t-t0ken"
	s, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: key,
		HostKey: authorizedLine(ts.hostKey.PublicKey()), Secrets: []string{token}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Run(context.Background(), "echo token="+token+" >&2; false")
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("secret leaked into error: %v", err)
	}
	if !strings.Contains(err.Error(), redactedMark) {
		t.Fatalf("error should show where the secret was: %v", err)
	}
}

func TestUploadIsAtomicAndSetsMode(t *testing.T) {
	key, pub := clientKey(t, "")
	ts := startTestServer(t, pub)
	h, p := hostPort(t, ts.addr)
	s, err := Dial(context.Background(), Config{Address: h, Port: p, User: "tester", PrivateKey: key,
		HostKey: authorizedLine(ts.hostKey.PublicKey())})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := t.TempDir()
	dst := filepath.Join(dir, "bundle.tar")
	if err := os.WriteFile(dst, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(context.Background(), strings.NewReader("new contents"), dst, 0o750); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	got, _ := os.ReadFile(dst)
	st, _ := os.Stat(dst)
	if string(got) != "new contents" || st.Mode().Perm() != 0o750 {
		t.Fatalf("after upload: %q mode %v", got, st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "plain",
		"":             "''",
		"two words":    "'two words'",
		"it's":         `'it'\''s'`,
		"$(reboot)":    "'$(reboot)'",
		"a=b:c/d@e.f+": "a=b:c/d@e.f+",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
