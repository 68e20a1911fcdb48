package pki

import (
	"encoding/base64"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// Kubeconfig describes a client configuration for one user against one server.
type Kubeconfig struct {
	Server string // https://127.0.0.1:6443
	CAFile string
	// CertFile and KeyFile are the client's certificate and key.
	CertFile, KeyFile string
	// Embed puts the certificates into the file instead of pointing at them: for a
	// kubeconfig that is copied off the host.
	Embed bool
}

// Write renders the kubeconfig and writes it atomically with mode 0600.
func (k Kubeconfig) Write(path string) error {
	data, err := k.Render()
	if err != nil {
		return err
	}
	return WriteFile(path, data, 0o600)
}

// Render returns the kubeconfig as YAML.
func (k Kubeconfig) Render() ([]byte, error) {
	cluster := map[string]any{"server": k.Server}
	user := map[string]any{}
	if k.Embed {
		for _, f := range []struct {
			key, path string
			into      map[string]any
		}{
			{"certificate-authority-data", k.CAFile, cluster},
			{"client-certificate-data", k.CertFile, user},
			{"client-key-data", k.KeyFile, user},
		} {
			b, err := os.ReadFile(f.path)
			if err != nil {
				return nil, fmt.Errorf("kubeconfig: %w", err)
			}
			f.into[f.key] = base64.StdEncoding.EncodeToString(b)
		}
	} else {
		cluster["certificate-authority"] = k.CAFile
		user["client-certificate"] = k.CertFile
		user["client-key"] = k.KeyFile
	}
	return yaml.Marshal(map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []any{map[string]any{"name": "slipway", "cluster": cluster}},
		"users":           []any{map[string]any{"name": "slipway", "user": user}},
		"contexts":        []any{map[string]any{"name": "slipway", "context": map[string]any{"cluster": "slipway", "user": "slipway"}}},
		"current-context": "slipway",
		"preferences":     map[string]any{},
	})
}
