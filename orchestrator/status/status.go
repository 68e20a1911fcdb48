// Package status reports whether a node is ready, as `slipway status` prints it: on
// a server, the apiserver's /readyz (which includes its datastore) and the leader
// leases kube-controller-manager and kube-scheduler renew while they run; where pods
// run, containerd's socket and the kubelet's and kube-proxy's health endpoints.
package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// ContainerdSocket is where a node's containerd listens (orchestrator/node).
const ContainerdSocket = "/run/slipway/containerd/containerd.sock"

// Component is one line of the report.
type Component struct {
	Name   string
	Ready  bool
	Detail string
}

// Check asks the apiserver behind kubeconfig about every component it can see.
func Check(ctx context.Context, kubeconfig string) ([]Component, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig: %w", err)
	}
	cfg.Timeout = 5 * time.Second
	return CheckConfig(ctx, cfg), nil
}

// CheckConfig is Check with a client configuration.
func CheckConfig(ctx context.Context, cfg *rest.Config) []Component {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return []Component{{Name: "kube-apiserver", Detail: err.Error()}}
	}
	api := Component{Name: "kube-apiserver"}
	datastore := Component{Name: "etcd", Detail: "unknown: the apiserver did not answer"}
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").Param("verbose", "true").DoRaw(ctx)
	switch {
	case err == nil:
		api.Ready, api.Detail = true, "ready"
	case len(body) > 0:
		api.Detail = "not ready: " + failedChecks(string(body))
	default:
		api.Detail = "not reachable: " + err.Error()
	}
	if len(body) > 0 {
		datastore = checkLine(string(body), "etcd")
	}
	out := []Component{datastore, api}
	for _, name := range []string{"kube-controller-manager", "kube-scheduler"} {
		out = append(out, leaseStatus(ctx, cs, name))
	}
	return out
}

// checkLine finds "[+]etcd ok" or "[-]etcd failed: ..." in a verbose /readyz answer.
func checkLine(body, check string) Component {
	c := Component{Name: check, Detail: "not reported by the apiserver"}
	for _, line := range strings.Split(body, "\n") {
		switch {
		case strings.HasPrefix(line, "[+]"+check+" "):
			c.Ready, c.Detail = true, "ready"
		case strings.HasPrefix(line, "[-]"+check+" "):
			c.Detail = strings.TrimPrefix(line, "[-]"+check+" ")
		}
	}
	return c
}

func failedChecks(body string) string {
	var failed []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "[-]") {
			failed = append(failed, strings.Fields(strings.TrimPrefix(line, "[-]"))[0])
		}
	}
	if len(failed) == 0 {
		return strings.TrimSpace(body)
	}
	return "failing checks: " + strings.Join(failed, ", ")
}

// leaseStatus: a component is ready when its leader lease in kube-system was renewed
// within the lease's duration.
func leaseStatus(ctx context.Context, cs kubernetes.Interface, name string) Component {
	c := Component{Name: name}
	lease, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		c.Detail = "not running: no leader lease yet"
		return c
	}
	if err != nil {
		c.Detail = "unknown: " + err.Error()
		return c
	}
	if lease.Spec.RenewTime == nil || lease.Spec.LeaseDurationSeconds == nil {
		c.Detail = "not running: lease never renewed"
		return c
	}
	age := time.Since(lease.Spec.RenewTime.Time)
	if age > time.Duration(*lease.Spec.LeaseDurationSeconds)*time.Second {
		c.Detail = fmt.Sprintf("not running: leader lease last renewed %s ago", age.Round(time.Second))
		return c
	}
	holder := ""
	if lease.Spec.HolderIdentity != nil {
		holder = *lease.Spec.HolderIdentity
	}
	c.Ready, c.Detail = true, "ready (leader "+holder+")"
	return c
}

// Print writes one line per component and reports whether all are ready.
func Print(w io.Writer, cs []Component) bool {
	all := true
	for _, c := range cs {
		mark := "ok  "
		if !c.Ready {
			mark, all = "FAIL", false
		}
		fmt.Fprintf(w, "%s %-24s %s\n", mark, c.Name, c.Detail)
	}
	return all
}

// NewCommand is `slipway status`.
func NewCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print each component's readiness (control plane on servers, node part where pods run); exit 0 when all are ready, 1 otherwise",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			role, node := config.RoleServer, true
			if c, err := config.Load(config.DefaultPath); err == nil {
				c.Defaults()
				if !cmd.Flags().Changed("kubeconfig") {
					kubeconfig = c.WriteKubeconfig
				}
				role, node = c.Role, !c.DisableAgent
			} else if !cmd.Flags().Changed("kubeconfig") {
				node = false // a control plane started by hand, as tests do
			}
			var cs []Component
			if role != config.RoleAgent {
				var err error
				if cs, err = Check(cmd.Context(), kubeconfig); err != nil {
					return err
				}
			}
			if node {
				cs = append(cs, CheckNode(cmd.Context(), ContainerdSocket)...)
			}
			if !Print(cmd.OutOrStdout(), cs) {
				return errors.New("not every component is ready")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "/etc/slipway/admin.kubeconfig",
		"the admin kubeconfig (default: write-kubeconfig from /etc/slipway/config.yaml)")
	return cmd
}

// nodeChecks are the node part's health endpoints, all on loopback.
var nodeChecks = []struct{ name, url string }{
	{"kubelet", "http://127.0.0.1:10248/healthz"},
	{"kube-proxy", "http://127.0.0.1:10256/healthz"},
}

// CheckNode reports the node part of this host: containerd's socket and the
// kubelet's and kube-proxy's health endpoints.
func CheckNode(ctx context.Context, containerdSocket string) []Component {
	out := []Component{{Name: "containerd", Detail: "ready"}}
	if c, err := net.DialTimeout("unix", containerdSocket, 2*time.Second); err != nil {
		out[0].Detail = "not answering on " + containerdSocket + ": " + err.Error()
	} else {
		c.Close()
		out[0].Ready = true
	}
	client := &http.Client{Timeout: 3 * time.Second}
	for _, chk := range nodeChecks {
		c := Component{Name: chk.name}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, chk.url, nil)
		resp, err := client.Do(req)
		switch {
		case err != nil:
			c.Detail = "not answering: " + err.Error()
		case resp.StatusCode != http.StatusOK:
			c.Detail = "not healthy: " + resp.Status
		default:
			c.Ready, c.Detail = true, "healthy"
		}
		if resp != nil {
			resp.Body.Close()
		}
		out = append(out, c)
	}
	return out
}
