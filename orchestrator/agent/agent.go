// Package agent is `slipway agent`: a node that joins a cluster and runs pods. It
// trusts the server only when the server presents the CA its join token pins, proves
// the token before it starts anything, then runs the node part with the token as
// the kubelet's bootstrap credential: the kubelet gets its certificates from the
// cluster and renews them, as upstream's TLS bootstrapping does.
package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/join"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/node"
)

// Options are what Run needs besides the context.
type Options struct {
	Config *config.Config
	// BinDir holds the bundle's helpers; "" means beside the running binary.
	BinDir string
}

// Run joins the cluster and runs the node until ctx ends (nil) or a component
// stops (an error naming it). A wrong token or a server with another CA stops it
// before anything starts.
func Run(ctx context.Context, opts Options) error {
	c, token, nodeIP, err := preflight(opts)
	if err != nil {
		return err
	}
	dir := filepath.Join(c.DataDir, "agent")
	fetchCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	caPEM, err := join.FetchCA(fetchCtx, c.Server, token.CAHash)
	cancel()
	if err != nil {
		return err
	}
	if err := checkToken(ctx, c.Server, caPEM, token); err != nil {
		return err
	}
	klog.Infof("slipway: %s presents the pinned cluster CA and accepts the join token", c.Server)
	// Only now, with a server and a token known good, does the agent write anything.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data-dir: %w", err)
	}

	caFile := filepath.Join(dir, "tls", "ca.crt")
	if err := writeFile(caFile, caPEM, 0o644); err != nil {
		return err
	}
	bootstrap := filepath.Join(dir, "cred", "bootstrap.kubeconfig")
	if err := writeBootstrapKubeconfig(bootstrap, c.Server, caPEM, token.Bootstrap()); err != nil {
		return fmt.Errorf("bootstrap kubeconfig: %w", err)
	}
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = node.BundleBinDir(); err != nil {
			return err
		}
	}
	kubeconfig := filepath.Join(dir, "cred", "kubelet.kubeconfig")
	return node.Run(ctx, node.Options{
		Config:              c,
		NodeIP:              nodeIP,
		BinDir:              binDir,
		BootstrapKubeconfig: bootstrap,
		KubeletKubeconfig:   kubeconfig,
		// kube-proxy runs as the node (the node-bootstrap add-on lets nodes read what
		// it reads), with the credentials the kubelet keeps current.
		ProxyKubeconfig: kubeconfig,
		ClientCAFile:    caFile,
	})
}

func preflight(opts Options) (*config.Config, join.Token, net.IP, error) {
	if opts.Config == nil {
		return nil, join.Token{}, nil, errors.New("no settings")
	}
	c := *opts.Config
	c.Defaults()
	if c.Role == "" {
		c.Role = config.RoleAgent
	}
	if c.NodeName == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, join.Token{}, nil, fmt.Errorf("hostname: %w", err)
		}
		c.NodeName = strings.ToLower(host)
	}
	if c.Token == "" && c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return nil, join.Token{}, nil, fmt.Errorf("token-file: %w", err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	if err := c.Validate(); err != nil {
		return nil, join.Token{}, nil, fmt.Errorf("invalid settings:\n%w", err)
	}
	if c.Role != config.RoleAgent {
		return nil, join.Token{}, nil, fmt.Errorf("role is %q: slipway agent needs role agent", c.Role)
	}
	token, err := join.Parse(c.Token, true)
	if err != nil {
		return nil, join.Token{}, nil, fmt.Errorf("invalid settings:\ntoken: %w", err)
	}
	var ip net.IP
	if c.NodeIP != "" {
		ip = net.ParseIP(c.NodeIP)
	} else if ip, err = utilnet.ChooseHostInterface(); err != nil {
		return nil, join.Token{}, nil, fmt.Errorf("node-ip: not set, and no address to take it from (%v): set node-ip", err)
	}
	return &c, token, ip, nil
}

// checkToken proves the token's credential to the (already verified) server, so a
// revoked or mistyped token stops the agent with the reason instead of a kubelet
// retrying forever.
func checkToken(ctx context.Context, server string, caPEM []byte, t join.Token) error {
	cs, err := kubernetes.NewForConfig(&rest.Config{
		Host: server, BearerToken: t.Bootstrap(), Timeout: 15 * time.Second,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
	})
	if err != nil {
		return err
	}
	_, err = cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	switch {
	case err == nil:
		return nil
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the server at %s refused the join token %s.*** (unknown, expired or revoked): get a valid one with `slipway token create` on a server; nothing was started", server, t.ID)
	default:
		return fmt.Errorf("check the join token with %s: %w", server, err)
	}
}

func writeBootstrapKubeconfig(path, server string, caPEM []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["slipway"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["bootstrap"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["bootstrap"] = &clientcmdapi.Context{Cluster: "slipway", AuthInfo: "bootstrap"}
	cfg.CurrentContext = "bootstrap"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFile(path, b, 0o600)
}

func writeFile(path string, b []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
