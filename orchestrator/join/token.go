// Package join is how a node finds and trusts the cluster it joins. A join token
// carries a bootstrap token (the credential) and the hash of the cluster CA's public
// key (the trust anchor), as kubeadm's discovery does:
//
//	slipway:<token-id>.<token-secret>:sha256:<hex of sha256(CA SubjectPublicKeyInfo)>
//
// A joining node checks that the server presents a certificate chain ending in a CA
// with that hash before it sends the secret anywhere. The package uses the standard
// library only, so the bootstrapper and the provider can read tokens too.
package join

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

const prefix = "slipway:"

var (
	idRE     = regexp.MustCompile(`^[a-z0-9]{6}$`)
	secretRE = regexp.MustCompile(`^[a-z0-9]{16}$`)
	hashRE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Token is a parsed join token.
type Token struct {
	ID, Secret string // the bootstrap token, as Kubernetes stores it
	CAHash     string // hex sha256 of the CA's SubjectPublicKeyInfo; "" when not pinned
}

// Bootstrap is the bearer token the API accepts: "<id>.<secret>".
func (t Token) Bootstrap() string { return t.ID + "." + t.Secret }

// String is the join token as users pass it.
func (t Token) String() string { return prefix + t.Bootstrap() + ":sha256:" + t.CAHash }

// Parse reads a join token. With requireHash, a token without the CA hash (a bare
// "<id>.<secret>", which a server accepts as its own token) is refused: a joining
// node must know which CA to trust.
func Parse(s string, requireHash bool) (Token, error) {
	s = strings.TrimSpace(s)
	var t Token
	rest, pinned := strings.CutPrefix(s, prefix)
	bootstrap := rest
	if pinned {
		var hash string
		var ok bool
		bootstrap, hash, ok = strings.Cut(rest, ":sha256:")
		if !ok || !hashRE.MatchString(hash) {
			return Token{}, errors.New("the join token's CA hash is malformed: want slipway:<id>.<secret>:sha256:<64 hex digits>")
		}
		t.CAHash = hash
	} else if requireHash {
		return Token{}, errors.New("the join token does not pin the cluster CA: want slipway:<id>.<secret>:sha256:<64 hex digits>, as the server's token file or `slipway token create` prints it")
	}
	id, secret, ok := strings.Cut(bootstrap, ".")
	if !ok || !idRE.MatchString(id) || !secretRE.MatchString(secret) {
		return Token{}, errors.New("the join token is malformed: its credential must be <6 lowercase letters or digits>.<16 lowercase letters or digits>")
	}
	t.ID, t.Secret = id, secret
	return t, nil
}

// Generate makes a new random bootstrap token pinned to caHash.
func Generate(caHash string) (Token, error) {
	id, err := randomString(6)
	if err != nil {
		return Token{}, err
	}
	secret, err := randomString(16)
	if err != nil {
		return Token{}, err
	}
	return Token{ID: id, Secret: secret, CAHash: caHash}, nil
}

func randomString(n int) (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b), nil
}

// CAHash is the hex sha256 of a certificate's SubjectPublicKeyInfo (kubeadm's
// discovery-token-ca-cert-hash without its "sha256:").
func CAHash(ca *x509.Certificate) string {
	sum := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// CAHashPEM is CAHash of the first certificate in a PEM file's contents.
func CAHashPEM(pemBytes []byte) (string, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", errors.New("no PEM certificate")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", err
	}
	return CAHash(c), nil
}

// WrongCAError is a server that does not present the CA the token pins: the wrong
// server, the wrong token, or someone in between. Never retried.
type WrongCAError struct {
	Server, Want string
	Got          []string // hashes of the certificates the server presented
}

func (e *WrongCAError) Error() string {
	return fmt.Sprintf("the server at %s does not present the cluster CA the join token pins (sha256:%s; it presented %s): "+
		"check the token and the server address; nothing was started", e.Server, e.Want, strings.Join(e.Got, ", "))
}

// FetchCA connects to the server URL, checks that its certificate chain ends in a CA
// whose hash is want and that the server's certificate is valid for its address
// under that CA, and returns the CA in PEM. Nothing secret is sent.
func FetchCA(ctx context.Context, serverURL, want string) ([]byte, error) {
	u, err := url.Parse(serverURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server %q: want an https URL such as https://10.0.0.5:6443", serverURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	var ca *x509.Certificate
	cfg := &tls.Config{
		// The chain is checked below against the pinned CA, not the system roots.
		InsecureSkipVerify: true, //nolint:gosec
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			var got []string
			for _, c := range cs.PeerCertificates {
				h := CAHash(c)
				got = append(got, "sha256:"+h)
				if c.IsCA && subtle.ConstantTimeCompare([]byte(h), []byte(want)) == 1 {
					ca = c
				}
			}
			if ca == nil || len(cs.PeerCertificates) == 0 {
				return &WrongCAError{Server: serverURL, Want: want, Got: got}
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca)
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: u.Hostname()})
			if err != nil {
				return fmt.Errorf("the server at %s presents the pinned CA, but its certificate is not valid for %s: %w", serverURL, u.Hostname(), err)
			}
			return nil
		},
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		var wrong *WrongCAError
		if errors.As(err, &wrong) {
			return nil, wrong
		}
		return nil, fmt.Errorf("connect to the server at %s: %w", serverURL, err)
	}
	conn.Close()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), nil
}
