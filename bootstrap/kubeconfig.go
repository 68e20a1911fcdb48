package bootstrap

import (
	"path/filepath"

	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/join"
)

// kubeconfigPhase fetches each ready server's admin kubeconfig. The server writes it
// for use on the host (https://127.0.0.1:<port>); the copy handed back points at the
// host's own address, which the server's certificate carries (node-ip).
type kubeconfigPhase struct {
	skip bool
}

func (p *kubeconfigPhase) Title() string { return "Fetch kubeconfig" }

func (p *kubeconfigPhase) ShouldRun(h *Host) bool {
	return !p.skip && h.Config.Role == config.RoleServer
}

func (p *kubeconfigPhase) Run(ctx context.Context, h *Host) error {
	want := h.Config
	want.Defaults()
	raw, err := h.sh(ctx, "cat "+q(want.WriteKubeconfig))
	if err != nil {
		return fmt.Errorf("read the admin kubeconfig: %w", err)
	}
	server := "https://" + net.JoinHostPort(apiHost(h), strconv.Itoa(want.HTTPSPort))
	kc, err := kubeconfigWithServer([]byte(raw), server)
	if err != nil {
		return fmt.Errorf("the admin kubeconfig in %s: %w", want.WriteKubeconfig, err)
	}
	// Its client key must never reach a log line or an error.
	h.redact.Add(kubeconfigSecrets(kc)...)
	h.Kubeconfig, h.APIServer = kc, server
	h.Logf("fetched the admin kubeconfig (API %s)", server)
	// The join token the server keeps, pinned to its CA: what agents join with.
	tok, err := h.sh(ctx, "cat "+q(filepath.Join(want.DataDir, "server", "token")))
	if err != nil {
		return fmt.Errorf("read the join token: %w", err)
	}
	t, err := join.Parse(tok, true)
	if err != nil {
		return fmt.Errorf("the join token in %s: %w", want.DataDir, err)
	}
	h.redact.Add(t.String(), t.Secret)
	h.JoinToken = t.String()
	return nil
}

// apiHost is where clients off the host reach its API: node-ip when set, else the
// address we reach the host on over SSH.
func apiHost(h *Host) string {
	if h.Config.NodeIP != "" {
		return h.Config.NodeIP
	}
	if h.SSH.Address != "" {
		return strings.Trim(h.SSH.Address, "[]")
	}
	host, _, err := net.SplitHostPort(h.run.Host())
	if err != nil {
		return h.run.Host()
	}
	return host
}

// kubeconfigWithServer sets every cluster's server URL.
func kubeconfigWithServer(raw []byte, server string) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	clusters, _ := doc["clusters"].([]any)
	n := 0
	for _, c := range clusters {
		entry, _ := c.(map[string]any)
		cluster, _ := entry["cluster"].(map[string]any)
		if cluster == nil {
			continue
		}
		cluster["server"] = server
		n++
	}
	if n == 0 {
		return nil, errors.New("it names no cluster")
	}
	return yaml.Marshal(doc)
}

// kubeconfigSecrets are the credentials in a kubeconfig: client keys and tokens.
func kubeconfigSecrets(kc []byte) []string {
	var doc struct {
		Users []struct {
			User map[string]any `json:"user"`
		} `json:"users"`
	}
	if err := yaml.Unmarshal(kc, &doc); err != nil {
		return nil
	}
	var out []string
	for _, u := range doc.Users {
		for _, k := range []string{"client-key-data", "token", "password"} {
			if v, ok := u.User[k].(string); ok {
				out = append(out, v)
			}
		}
	}
	return out
}
