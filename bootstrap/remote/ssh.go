package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Config says how to reach one host over SSH.
type Config struct {
	Address string // host name, IPv4 or IPv6 address (no brackets needed)
	Port    int    // default 22
	User    string

	PrivateKey []byte // PEM private key
	// PrivateKeyFile is read when PrivateKey is empty ("~/.ssh/id_ed25519").
	PrivateKeyFile       string
	PrivateKeyPassphrase string
	Password             string

	// Agent authenticates with the keys in ssh-agent (AgentSocket, default
	// $SSH_AUTH_SOCK). The configured private key, when there is one, is offered
	// first, also when only the agent can use it (a key with a passphrase).
	Agent       bool
	AgentSocket string

	// HostKey pins the host's public key ("ssh-ed25519 AAAA..."). One of HostKey,
	// KnownHostsFiles or TrustOnFirstUse is required.
	HostKey string
	// KnownHostsFiles checks the host key against OpenSSH known_hosts files.
	KnownHostsFiles []string
	// TrustOnFirstUse accepts the first key the host presents; SSH.HostKey reports it
	// so the caller can record it and pin it from then on.
	TrustOnFirstUse bool

	// SudoPassword is given to sudo for privileged commands when the user is not root.
	SudoPassword string

	// ConnectTimeout bounds the whole connect, retries for transient network errors
	// included. Default 30s.
	ConnectTimeout time.Duration

	// Secrets are hidden in every error and log line, besides the passwords above.
	Secrets []string
}

// SSH is a Runner over one SSH connection.
type SSH struct {
	host     string
	client   *ssh.Client
	hostKey  ssh.PublicKey
	root     bool
	sudoPass string
	redact   *Redactor

	sftpOnce sync.Once
	sftp     *sftp.Client
	sftpErr  error
}

var _ Runner = (*SSH)(nil)

// AuthError is a host that refused our credentials. It is never retried: retrying
// cannot fix it and may lock the account.
type AuthError struct {
	Host string
	User string
	Err  error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("%s: authentication as %q failed: %v", e.Host, e.User, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// Dial connects and authenticates, checking the host key. Transient network errors
// (refused, unreachable, reset during handshake) are retried with backoff until
// ConnectTimeout; host key and authentication failures return at once.
func Dial(ctx context.Context, cfg Config) (*SSH, error) {
	if cfg.Port == 0 {
		cfg.Port = 22
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	host := net.JoinHostPort(strings.Trim(cfg.Address, "[]"), strconv.Itoa(cfg.Port))
	redact := &Redactor{}
	redact.Add(cfg.Password, cfg.SudoPassword, cfg.PrivateKeyPassphrase, string(cfg.PrivateKey))
	redact.Add(cfg.Secrets...)

	var authHint string
	clientConfig, seen, release, err := clientConfig(cfg, host, &authHint)
	if err != nil {
		return nil, err
	}
	defer release()

	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	backoff := 250 * time.Millisecond
	for {
		client, err := dialOnce(ctx, host, clientConfig)
		if err == nil {
			s := &SSH{host: host, client: client, hostKey: *seen, sudoPass: cfg.SudoPassword, redact: redact}
			uid, err := s.Run(ctx, "id -u")
			if err != nil {
				client.Close()
				return nil, fmt.Errorf("%s: find the login user's id: %w", host, err)
			}
			s.root = strings.TrimSpace(uid) == "0"
			return s, nil
		}
		var hkErr *HostKeyError
		if errors.As(err, &hkErr) {
			return nil, hkErr
		}
		if isAuthFailure(err) {
			return nil, &AuthError{Host: host, User: cfg.User, Err: errors.New(redact.String(err.Error()) + authHint)}
		}
		if !isTransient(err) {
			return nil, fmt.Errorf("%s: connect: %s", host, redact.String(err.Error()))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: connect: gave up after %s: %s", host, cfg.ConnectTimeout, redact.String(err.Error()))
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// clientConfig checks the host key settings before the credentials, so a config that
// cannot check the host never touches the agent. release frees the agent connection.
func clientConfig(cfg Config, host string, hint *string) (*ssh.ClientConfig, *ssh.PublicKey, func(), error) {
	noop := func() {}
	if cfg.User == "" {
		return nil, nil, noop, fmt.Errorf("%s: no SSH user given", host)
	}
	if cfg.HostKey != "" && len(cfg.KnownHostsFiles) > 0 {
		return nil, nil, noop, fmt.Errorf("%s: both a pinned host key and known_hosts files are given: use one", host)
	}
	seen := new(ssh.PublicKey)
	cc := &ssh.ClientConfig{User: cfg.User, Timeout: 10 * time.Second}
	switch {
	case len(cfg.KnownHostsFiles) > 0:
		check, algos, err := knownHostsCheck(append([]string(nil), cfg.KnownHostsFiles...), host)
		if err != nil {
			return nil, nil, noop, fmt.Errorf("%s: %w", host, err)
		}
		cc.HostKeyAlgorithms = algos
		cc.HostKeyCallback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			*seen = key
			return check(hostname, remote, key)
		}
	case cfg.HostKey != "":
		want, err := ParseHostKey(cfg.HostKey)
		if err != nil {
			return nil, nil, noop, fmt.Errorf("%s: host key: %w", host, err)
		}
		check := pinnedCallback(want)
		cc.HostKeyAlgorithms = hostKeyAlgorithms(want)
		cc.HostKeyCallback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			*seen = key
			return check(hostname, remote, key)
		}
	case cfg.TrustOnFirstUse:
		cc.HostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
			*seen = key
			return nil
		}
	default:
		return nil, nil, noop, fmt.Errorf("%s: no host key given: pin the host's public key, give a known_hosts file, or opt in to trust on first use", host)
	}
	auth, release, info, err := authMethodsInfo(cfg)
	if err != nil {
		return nil, nil, noop, fmt.Errorf("%s: %w", host, err)
	}
	cc.Auth = auth
	*hint = ""
	if info.agentKeys > 1 && !info.configured {
		*hint = fmt.Sprintf(" (ssh-agent offered %d keys and servers allow only a few attempts (sshd's MaxAuthTries): configure the private key, so it is offered first)", info.agentKeys)
	}
	return cc, seen, release, nil
}

func dialOnce(ctx context.Context, host string, cc *ssh.ClientConfig) (*ssh.Client, error) {
	d := net.Dialer{Timeout: cc.Timeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	// The handshake has no context of its own: bound it by the dial timeout.
	_ = conn.SetDeadline(time.Now().Add(cc.Timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, host, cc)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// isAuthFailure is the server refusing our credentials: every method failed, or it
// hung up after too many attempts (sshd's MaxAuthTries).
func isAuthFailure(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "unable to authenticate") || strings.Contains(msg, "too many authentication failures") ||
		strings.Contains(msg, "no supported methods remain")
}

// isTransient is true for errors a later try may not see: the host still booting, sshd
// restarting, a network blip.
func isTransient(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.EOF) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Host names the host ("10.0.0.5:22").
func (s *SSH) Host() string { return s.host }

// HostKey is the key the host presented: with trust on first use, the one to record.
func (s *SSH) HostKey() ssh.PublicKey { return s.hostKey }

// IsRoot reports whether the login user is root (uid 0).
func (s *SSH) IsRoot() bool { return s.root }

// Run runs cmd as the login user.
func (s *SSH) Run(ctx context.Context, cmd string) (string, error) {
	return s.run(ctx, cmd, cmd, nil)
}

// RunPrivileged runs cmd as root, through sudo when the login user is not root.
func (s *SSH) RunPrivileged(ctx context.Context, cmd string) (string, error) {
	if s.root {
		return s.run(ctx, cmd, cmd, nil)
	}
	if s.sudoPass != "" {
		// -S reads the password from stdin, -p '' keeps the prompt out of the output.
		out, err := s.run(ctx, "sudo -S -p '' -- sh -c "+ShellQuote(cmd), cmd, strings.NewReader(s.sudoPass+"\n"))
		return out, sudoHint(err)
	}
	// -n: never wait for a password nobody will type.
	out, err := s.run(ctx, "sudo -n -- sh -c "+ShellQuote(cmd), cmd, nil)
	return out, sudoHint(err)
}

// sudoHint turns sudo's own refusals into errors that say what to do (case H5).
func sudoHint(err error) error {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return err
	}
	switch {
	case strings.Contains(ce.Stderr, "a password is required"):
		return fmt.Errorf("%s: sudo needs a password for this user: give the sudo password, or allow passwordless sudo: %w", ce.Host, err)
	case strings.Contains(ce.Stderr, "incorrect password") || strings.Contains(ce.Stderr, "Sorry, try again"):
		return fmt.Errorf("%s: sudo refused the given password: %w", ce.Host, err)
	case strings.Contains(ce.Stderr, "is not in the sudoers file") || strings.Contains(ce.Stderr, "not allowed to"):
		return fmt.Errorf("%s: this user may not use sudo: %w", ce.Host, err)
	}
	return err
}

// run executes wire on the host; shown is what errors call the command (without the
// sudo wrapper).
func (s *SSH) run(ctx context.Context, wire, shown string, stdin io.Reader) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	sess, err := s.client.NewSession()
	if err != nil {
		return "", fmt.Errorf("%s: open session: %w", s.host, err)
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &stdout, &stderr, stdin

	done := make(chan error, 1)
	go func() { done <- sess.Run(wire) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGKILL)
		sess.Close()
		return "", fmt.Errorf("%s: command %q: %w", s.host, s.redact.String(shown), ctx.Err())
	}
	if err == nil {
		return stdout.String(), nil
	}
	ce := &CommandError{
		Host:     s.host,
		Command:  s.redact.String(shown),
		ExitCode: -1,
		Stdout:   s.redact.String(stdout.String()),
		Stderr:   s.redact.String(stderr.String()),
	}
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		ce.ExitCode = exit.ExitStatus()
	}
	return stdout.String(), ce
}

// Upload writes r to p atomically: into a temporary file beside it, then renamed.
func (s *SSH) Upload(ctx context.Context, r io.Reader, p string, mode os.FileMode) error {
	s.sftpOnce.Do(func() { s.sftp, s.sftpErr = sftp.NewClient(s.client) })
	if s.sftpErr != nil {
		return fmt.Errorf("%s: start sftp: %w", s.host, s.sftpErr)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+".slipway-"+hex.EncodeToString(rnd[:]))
	f, err := s.sftp.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("%s: upload %s: %w", s.host, p, err)
	}
	fail := func(err error) error {
		f.Close()
		_ = s.sftp.Remove(tmp)
		return fmt.Errorf("%s: upload %s: %w", s.host, p, err)
	}
	// The mode first: a secret must never sit in a file others can read.
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := s.sftp.PosixRename(tmp, p); err != nil {
		_ = s.sftp.Remove(tmp)
		return fmt.Errorf("%s: upload %s: rename into place: %w", s.host, p, err)
	}
	return nil
}

// Hold starts cmd as the login user and keeps its standard input open until release is
// called or the connection ends, whichever comes first; it returns the first line cmd
// prints. A command that reads its input to the end (cat) thus lives exactly as long
// as this client: host locks use it to tell a live holder from a killed one.
func (s *SSH) Hold(ctx context.Context, cmd string) (string, func(), error) {
	sess, err := s.client.NewSession()
	if err != nil {
		return "", nil, fmt.Errorf("%s: open session: %w", s.host, err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return "", nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return "", nil, err
	}
	if err := sess.Start(cmd); err != nil {
		sess.Close()
		return "", nil, fmt.Errorf("%s: start %q: %w", s.host, s.redact.String(cmd), err)
	}
	line := make(chan string, 1)
	go func() {
		var b [1]byte
		var buf []byte
		for {
			n, err := stdout.Read(b[:])
			if n == 1 && b[0] != '\n' {
				buf = append(buf, b[0])
			}
			if err != nil || (n == 1 && b[0] == '\n') {
				line <- string(buf)
				go io.Copy(io.Discard, stdout) //nolint:errcheck // drain
				return
			}
		}
	}()
	release := func() {
		stdin.Close()
		sess.Close()
	}
	select {
	case l := <-line:
		return strings.TrimSpace(l), release, nil
	case <-ctx.Done():
		release()
		return "", nil, ctx.Err()
	}
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Close ends the connection.
func (s *SSH) Close() error {
	if s.sftp != nil {
		s.sftp.Close()
	}
	return s.client.Close()
}
