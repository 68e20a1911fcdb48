package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// clusterConfig renders a slipway_cluster with extra attribute lines; the host is
// never contacted by the plan-time tests that use it.
func clusterConfig(bundle string, extra ...string) string {
	return `
resource "slipway_cluster" "test" {
  ssh = {
    host = "192.0.2.10"
  }
  bundles = { amd64 = "` + bundle + `" }
` + strings.Join(extra, "\n") + `
}
`
}

// fakeBundle is a file where a bundle is expected: the plan-time checks look only
// at whether it exists.
func fakeBundle(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "slipway-1.2.3-linux-amd64.tar")
	if err := os.WriteFile(p, []byte("not read at plan time"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAccClusterValidation checks that bad input fails at plan time, one input
// per case, before any host is contacted (the address is from TEST-NET-1).
func TestAccClusterValidation(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc); it runs the terraform CLI")
	}
	bundle := fakeBundle(t)
	cases := []struct {
		name, config, want string
	}{
		{"bad pod CIDR", clusterConfig(bundle, `pod_cidr = "10.42.0.0/33"`), `Invalid CIDR`},
		{"host bits in CIDR", clusterConfig(bundle, `service_cidr = "10.43.0.1/16"`), `has host bits set`},
		{"overlapping CIDRs", clusterConfig(bundle, `pod_cidr = "10.0.0.0/8"`, `service_cidr = "10.43.0.0/16"`), `service_cidr 10.43.0.0/16 overlaps pod_cidr 10.0.0.0/8`},
		{"cluster DNS outside the service CIDR", clusterConfig(bundle, `cluster_dns = "10.99.0.10"`), `is not in service_cidr`},
		{"uppercase node name", clusterConfig(bundle, `node_name = "Server1"`), `"Server1" is not a valid node name`},
		{"underscore node name", clusterConfig(bundle, `node_name = "server_1"`), `"server_1" is not a valid node name`},
		{"host key that is not a public key", strings.Replace(clusterConfig(bundle), `host = "192.0.2.10"`,
			`host = "192.0.2.10"
    host_key = "ssh-ed25519 not-a-key"`, 1), `Invalid Host Key`},
		{"missing bundle", clusterConfig(filepath.Join(t.TempDir(), "nope.tar.gz")), `Bundle Not Found`},
		{"unknown scheduler", clusterConfig(bundle, `scheduler = "random"`), `"random" is not allowed here`},
		{"api endpoint with a scheme", clusterConfig(bundle, `api_endpoint = "https://lb.example"`), `without a scheme`},
		{"bad taint effect", clusterConfig(bundle, `taints = [{ key = "a", effect = "Never" }]`), `"Never" is not a taint effect`},
		{"unknown node role", clusterConfig(bundle) + nodeConfig(`role = "worker"`), `"worker" is not allowed here`},
		{"server role", clusterConfig(bundle) + nodeConfig(`role = "server"`), `More Servers Not Supported Yet`},
		{"bad node name of a node", clusterConfig(bundle) + nodeConfig(`node_name = "Agent_1"`), `"Agent_1" is not a valid node name`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6Factories,
				Steps: []resource.TestStep{{
					Config: c.config, PlanOnly: true, ExpectError: regexp.MustCompile(regexp.QuoteMeta(c.want)),
				}},
			})
		})
	}
	// Unknown values at plan time are fine: a host from another resource.
	t.Run("unknown host and CIDRs plan", func(t *testing.T) {
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: protoV6Factories,
			Steps: []resource.TestStep{{
				Config: `
resource "terraform_data" "host" { input = "192.0.2.11" }
resource "slipway_cluster" "test" {
  ssh      = { host = terraform_data.host.output }
  bundles  = { amd64 = "` + bundle + `" }
  pod_cidr = terraform_data.host.output == "" ? "10.42.0.0/16" : "10.52.0.0/16"
}
` + nodeConfig(),
				PlanOnly: true, ExpectNonEmptyPlan: true,
			}},
		})
	})
}

func nodeConfig(extra ...string) string {
	return `
resource "slipway_node" "test" {
  cluster = slipway_cluster.test.join
  ssh     = { host = "192.0.2.20" }
` + strings.Join(extra, "\n") + `
}
`
}

func TestSplitEndpoint(t *testing.T) {
	for in, want := range map[string]string{"lb.example": "lb.example:6443", "10.0.0.1:443": "10.0.0.1:443", "[fd00::1]:6443": "fd00::1:6443"} {
		h, p, err := splitEndpoint(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := h + ":" + strconv.Itoa(p); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"https://lb", "lb:0", "lb_1", "a:b"} {
		if _, _, err := splitEndpoint(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestDefaultClusterDNSAndBundleVersion(t *testing.T) {
	if got := defaultClusterDNS("10.43.0.0/16"); got != "10.43.0.10" {
		t.Errorf("defaultClusterDNS = %s", got)
	}
	if got := defaultClusterDNS("10.96.0.0/12"); got != "10.96.0.10" {
		t.Errorf("defaultClusterDNS = %s", got)
	}
	if got := bundleVersion("/x/dist/slipway-0.0.0-dev+1e6c6e2-linux-amd64.tar"); got != "0.0.0-dev+1e6c6e2" {
		t.Errorf("bundleVersion = %q", got)
	}
	if got := bundleVersion("/x/my.tar.gz"); got != "" {
		t.Errorf("bundleVersion of another name = %q", got)
	}
}

func TestKubeconfigFor(t *testing.T) {
	in := []byte(`apiVersion: v1
kind: Config
clusters:
- name: default
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: ` + "Q0EK" + `
users:
- name: admin
  user:
    client-certificate-data: Y2VydA==
contexts:
- name: default
  context: {cluster: default, user: admin}
current-context: default
`)
	out, err := kubeconfigFor(in, "https://10.0.0.5:6443", "prod")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server: https://10.0.0.5:6443", "current-context: prod", "name: prod-admin", "user: prod-admin"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, out)
		}
	}
	ca, err := kubeconfigCA(out)
	if err != nil || ca != "CA\n" {
		t.Errorf("kubeconfigCA = %q, %v", ca, err)
	}
}
