package remote

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authInfo says what authentication offers, for the hint on failure.
type authInfo struct {
	agentKeys  int
	configured bool
}

// errKeyNeedsPassphrase is a protected private key given without its passphrase.
var errKeyNeedsPassphrase = errors.New("the private key is protected by a passphrase: give its passphrase, or load the key into ssh-agent and enable the agent")

// authMethodsInfo builds the client's authentication, in one "publickey" method: the
// golang.org/x/crypto client tries each method name only once, so keys from a file
// and from the agent must share one list. The configured key goes first, so a server
// with a low MaxAuthTries sees it before the agent's other keys use the attempts up
// (case H2). A passphrase-protected key without its passphrase is used through the
// agent when the agent holds it (case H1), and fails at once, before any
// connection, when it does not. The returned function releases the agent.
func authMethodsInfo(cfg Config) ([]ssh.AuthMethod, func(), authInfo, error) {
	var info authInfo
	release := func() {}
	pemBytes := cfg.PrivateKey
	if len(pemBytes) == 0 && cfg.PrivateKeyFile != "" {
		b, err := os.ReadFile(expandHome(cfg.PrivateKeyFile))
		if err != nil {
			return nil, release, info, fmt.Errorf("read the private key: %w", err)
		}
		pemBytes = b
	}

	var configured ssh.Signer       // the configured key, usable as it is
	var configuredPub ssh.PublicKey // its public half, even when it is locked
	var keyErr error
	if len(pemBytes) > 0 {
		configured, configuredPub, keyErr = parsePrivateKey(pemBytes, cfg.PrivateKeyPassphrase)
		if keyErr != nil && !errors.Is(keyErr, errKeyNeedsPassphrase) {
			return nil, release, info, keyErr
		}
		if configuredPub == nil && cfg.PrivateKeyFile != "" {
			// Old PEM keys keep the public half only beside them, in the .pub file.
			if b, err := os.ReadFile(expandHome(cfg.PrivateKeyFile) + ".pub"); err == nil {
				configuredPub, _, _, _, _ = ssh.ParseAuthorizedKey(b)
			}
		}
	}

	var agentSigners []ssh.Signer
	if cfg.Agent {
		sock := cfg.AgentSocket
		if sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
		}
		if sock == "" {
			return nil, release, info, errors.New("ssh-agent authentication is enabled but no agent is running: SSH_AUTH_SOCK is not set")
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, release, info, fmt.Errorf("reach ssh-agent at %s: %w", sock, err)
		}
		release = func() { conn.Close() }
		agentSigners, err = agent.NewClient(conn).Signers()
		if err != nil {
			release()
			return nil, func() {}, info, fmt.Errorf("list the keys in ssh-agent: %w", err)
		}
	}

	var signers []ssh.Signer
	switch {
	case configured != nil:
		signers = append(signers, configured)
	case configuredPub != nil:
		for _, s := range agentSigners {
			if sameKey(s.PublicKey(), configuredPub) {
				signers = append(signers, s)
				break
			}
		}
	}
	if keyErr != nil && len(signers) == 0 {
		release()
		if cfg.Agent {
			return nil, func() {}, info, fmt.Errorf("%w (ssh-agent is enabled but does not hold this key: ssh-add it)", keyErr)
		}
		return nil, func() {}, info, keyErr
	}
	for _, s := range agentSigners {
		if len(signers) > 0 && sameKey(s.PublicKey(), signers[0].PublicKey()) {
			continue
		}
		signers = append(signers, s)
	}

	info.agentKeys, info.configured = len(agentSigners), configuredPub != nil
	var auth []ssh.AuthMethod
	if len(signers) > 0 {
		auth = append(auth, ssh.PublicKeys(signers...))
	}
	if cfg.Password != "" {
		pw := cfg.Password
		auth = append(auth, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	if len(auth) == 0 {
		release()
		if cfg.Agent {
			return nil, func() {}, info, errors.New("no SSH credentials: ssh-agent holds no keys and no private key or password is given")
		}
		return nil, func() {}, info, errors.New("no SSH credentials given: set a private key, enable ssh-agent, or set a password")
	}
	return auth, release, info, nil
}

// parsePrivateKey returns the signer, or for a locked key without its passphrase the
// public half (when the key format carries it) and errKeyNeedsPassphrase.
func parsePrivateKey(pemBytes []byte, passphrase string) (ssh.Signer, ssh.PublicKey, error) {
	signer, err := ssh.ParsePrivateKey(pemBytes)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return signer, signer.PublicKey(), nil
	case errors.As(err, &missing) && passphrase == "":
		return nil, missing.PublicKey, errKeyNeedsPassphrase
	case errors.As(err, &missing):
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pemBytes, []byte(passphrase))
		if err != nil {
			return nil, nil, fmt.Errorf("decrypt the private key with the given passphrase: %w", err)
		}
		return signer, signer.PublicKey(), nil
	default:
		return nil, nil, fmt.Errorf("parse the private key: %w", err)
	}
}

func sameKey(a, b ssh.PublicKey) bool { return bytes.Equal(a.Marshal(), b.Marshal()) }

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}
