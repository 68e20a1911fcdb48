package remote

import (
	"bytes"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
)

// HostKeyError is a host that presented a key other than the one we know. It is never
// retried and never overwritten: it may be an attack, and only a person can decide.
type HostKeyError struct {
	Host string
	Want ssh.PublicKey
	Got  ssh.PublicKey
}

func (e *HostKeyError) Error() string {
	return fmt.Sprintf("host key mismatch for %s: expected %s %s, the host presented %s %s; "+
		"if the host was rebuilt on purpose, update its host key in the configuration",
		e.Host, e.Want.Type(), ssh.FingerprintSHA256(e.Want), e.Got.Type(), ssh.FingerprintSHA256(e.Got))
}

// ParseHostKey parses one public key in authorized_keys form ("ssh-ed25519 AAAA... comment").
func ParseHostKey(s string) (ssh.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty host key")
	}
	key, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("not an SSH public key (want the form \"ssh-ed25519 AAAA...\"): %w", err)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("more than one key given; pin exactly one host key")
	}
	return key, nil
}

// hostKeyAlgorithms lists the algorithms to negotiate for a known key, so a host that
// also offers other key types still shows us the one we can check (case H4).
func hostKeyAlgorithms(key ssh.PublicKey) []string {
	if key.Type() == ssh.KeyAlgoRSA {
		// One RSA key, three signature algorithms; prefer the SHA-2 ones.
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{key.Type()}
}

// pinnedCallback accepts exactly want.
func pinnedCallback(want ssh.PublicKey) ssh.HostKeyCallback {
	return func(hostname string, _ net.Addr, got ssh.PublicKey) error {
		if bytes.Equal(want.Marshal(), got.Marshal()) {
			return nil
		}
		return &HostKeyError{Host: hostname, Want: want, Got: got}
	}
}
