package remote

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a host that presented a key other than the one we know. It is never
// retried and never overwritten: it may be an attack, and only a person can decide.
type HostKeyError struct {
	Host string
	Want ssh.PublicKey // the known key; nil when the refusal is not a plain mismatch
	Got  ssh.PublicKey
	// From says where the known key came from ("known_hosts file F line N").
	From string
	// Reason explains a refusal that is not a plain mismatch (revoked key,
	// certificate from an unknown authority).
	Reason string
}

func (e *HostKeyError) Error() string {
	got := "none"
	if e.Got != nil {
		got = e.Got.Type() + " " + ssh.FingerprintSHA256(e.Got)
	}
	if e.Want == nil {
		return fmt.Sprintf("host key for %s refused: %s (the host presented %s)", e.Host, e.Reason, got)
	}
	from := ""
	if e.From != "" {
		from = " (" + e.From + ")"
	}
	return fmt.Sprintf("host key mismatch for %s: expected %s %s%s, the host presented %s; "+
		"if the host was rebuilt on purpose, update its host key in the configuration",
		e.Host, e.Want.Type(), ssh.FingerprintSHA256(e.Want), from, got)
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
	switch key.Type() {
	case ssh.KeyAlgoRSA:
		// One RSA key, three signature algorithms; prefer the SHA-2 ones.
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case ssh.CertAlgoRSAv01:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01}
	}
	return []string{key.Type()}
}

// certAlgorithms are the host certificate algorithms offered when a known_hosts
// @cert-authority line covers the host: the certificate's own key type is not known
// in advance, the authority's signature is what gets checked.
var certAlgorithms = []string{
	ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
}

// knownHostsCheck reads known_hosts files (plain and hashed host names, wildcards,
// @cert-authority and @revoked lines) and returns the callback that checks host
// against them, with only the host key algorithms of the keys known for it: a host
// that also offers other key types then presents the one we know (case H4). A host
// with no entry is refused before any connection.
func knownHostsCheck(files []string, host string) (ssh.HostKeyCallback, []string, error) {
	for i, f := range files {
		files[i] = expandHome(f)
	}
	cb, err := knownhosts.New(files...)
	if err != nil {
		return nil, nil, fmt.Errorf("read known_hosts: %w", err)
	}
	known, err := knownKeysFor(cb, host)
	if err != nil {
		return nil, nil, err
	}
	authorities, err := authoritiesFor(files, host)
	if err != nil {
		return nil, nil, err
	}
	var algos []string
	if len(authorities) > 0 {
		algos = append(algos, certAlgorithms...)
	}
	for _, k := range known {
		for _, a := range hostKeyAlgorithms(k.Key) {
			if !containsString(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	if len(algos) == 0 {
		return nil, nil, fmt.Errorf("%s has no entry in known_hosts (%s): add its host key (for example from the host's console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), or pin the key instead",
			knownhosts.Normalize(host), strings.Join(files, ", "))
	}
	check := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		if err == nil {
			return nil
		}
		hk := &HostKeyError{Host: hostname, Got: key}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &ke) && len(ke.Want) > 0:
			hk.Want = ke.Want[0].Key
			for _, w := range ke.Want {
				if w.Key.Type() == key.Type() {
					hk.Want = w.Key
					hk.From = fmt.Sprintf("known_hosts %s line %d", w.Filename, w.Line)
					break
				}
			}
		case errors.As(err, &re):
			hk.Reason = fmt.Sprintf("the key is marked @revoked in %s line %d", re.Revoked.Filename, re.Revoked.Line)
		default:
			hk.Reason = err.Error()
		}
		return hk
	}
	return check, algos, nil
}

// probeKey is a key no host has: checking it makes the known_hosts callback list the
// keys it knows for a host.
var probeKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		panic(err)
	}
	return k
}()

type addrString string

func (a addrString) Network() string { return "tcp" }
func (a addrString) String() string  { return string(a) }

func knownKeysFor(cb ssh.HostKeyCallback, host string) ([]knownhosts.KnownKey, error) {
	err := cb(host, addrString(host), probeKey)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		return ke.Want, nil
	}
	if err == nil {
		return nil, nil
	}
	return nil, fmt.Errorf("look up %s in known_hosts: %w", host, err)
}

// authoritiesFor lists the @cert-authority keys that cover host, reusing the
// known_hosts matcher (hashed names, patterns) on the authority lines alone.
func authoritiesFor(files []string, host string) ([]knownhosts.KnownKey, error) {
	var lines []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read known_hosts: %w", err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "@cert-authority"); ok {
				lines = append(lines, strings.TrimSpace(rest))
			}
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	tmp, err := os.CreateTemp("", "slipway-ca-known-hosts-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(strings.Join(lines, "\n") + "\n")
	tmp.Close()
	if err != nil {
		return nil, err
	}
	cb, err := knownhosts.New(tmp.Name())
	if err != nil {
		return nil, fmt.Errorf("read @cert-authority lines: %w", err)
	}
	return knownKeysFor(cb, host)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
