package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/join"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/pki"
)

// TokenFile is where a server keeps the cluster's join token, under its data dir.
func TokenFile(dataDir string) string { return filepath.Join(dataDir, "server", "token") }

// nodeBootstrapGroup is the group agents joining with a Slipway token are in; the
// node-bootstrap add-on lets it ask for kubelet certificates.
const nodeBootstrapGroup = "system:bootstrappers:slipway"

// ensureToken settles the cluster's join token: the one in the settings (token or
// token-file) when given, else the one kept from an earlier start, else a new one;
// always pinned to this cluster's CA, and kept in the token file (mode 0600).
func (l *layout) ensureToken() (join.Token, error) {
	caPEM, err := os.ReadFile(l.pki.Cert(pki.ClusterCA))
	if err != nil {
		return join.Token{}, err
	}
	hash, err := join.CAHashPEM(caPEM)
	if err != nil {
		return join.Token{}, err
	}
	given := l.cfg.Token
	if given == "" && l.cfg.TokenFile != "" {
		b, err := os.ReadFile(l.cfg.TokenFile)
		if err != nil {
			return join.Token{}, fmt.Errorf("token-file: %w", err)
		}
		given = strings.TrimSpace(string(b))
	}
	path := TokenFile(l.cfg.DataDir)
	if given == "" {
		if b, err := os.ReadFile(path); err == nil {
			given = strings.TrimSpace(string(b))
		} else if !errors.Is(err, os.ErrNotExist) {
			return join.Token{}, err
		}
	}
	var t join.Token
	if given != "" {
		if t, err = join.Parse(given, false); err != nil {
			return join.Token{}, fmt.Errorf("token: %w", err)
		}
		if t.CAHash != "" && t.CAHash != hash {
			return join.Token{}, fmt.Errorf("token: it pins the CA sha256:%s, but this cluster's CA is sha256:%s", t.CAHash, hash)
		}
		t.CAHash = hash
	} else if t, err = join.Generate(hash); err != nil {
		return join.Token{}, err
	}
	if err := pki.WriteFile(path, []byte(t.String()+"\n"), 0o600); err != nil {
		return join.Token{}, fmt.Errorf("write the token file: %w", err)
	}
	return t, nil
}

// bootstrapSecret is the bootstrap-token Secret the apiserver authenticates a join
// token's credential with (upstream's bootstrap token authenticator).
func bootstrapSecret(t join.Token, description string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-" + t.ID, Namespace: "kube-system"},
		Type:       corev1.SecretTypeBootstrapToken,
		StringData: map[string]string{
			"token-id":                       t.ID,
			"token-secret":                   t.Secret,
			"description":                    description,
			"usage-bootstrap-authentication": "true",
			"auth-extra-groups":              nodeBootstrapGroup,
		},
	}
}

// ensureBootstrapSecret makes the cluster accept the token.
func ensureBootstrapSecret(ctx context.Context, cs kubernetes.Interface, t join.Token) error {
	s := bootstrapSecret(t, "the cluster's join token (slipway server)")
	_, err := cs.CoreV1().Secrets("kube-system").Create(ctx, s, metav1.CreateOptions{FieldManager: "slipway"})
	if err == nil {
		return nil
	}
	existing, gerr := cs.CoreV1().Secrets("kube-system").Get(ctx, s.Name, metav1.GetOptions{})
	if gerr != nil {
		return err
	}
	if string(existing.Data["token-secret"]) != t.Secret || string(existing.Data["usage-bootstrap-authentication"]) != "true" {
		existing.Data = nil
		existing.StringData = s.StringData
		_, err = cs.CoreV1().Secrets("kube-system").Update(ctx, existing, metav1.UpdateOptions{FieldManager: "slipway"})
		return err
	}
	return nil
}
