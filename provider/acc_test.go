package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/slipway-dev/terraform-provider-slipway/internal/testcluster"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testcluster.StopShared()
	os.Exit(code)
}

// accCluster returns the shared control plane for acceptance tests, skipping (and
// saying why) when the tier or the node binary is missing.
func accCluster(t *testing.T) *testcluster.Cluster {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	if _, err := testcluster.Binary(); err != nil {
		t.Skipf("acceptance test needs a control plane: %v", err)
	}
	return testcluster.Shared(t)
}

// providerBlock configures the provider with the test cluster's kubeconfig.
func providerBlock(c *testcluster.Cluster) string {
	return fmt.Sprintf("provider \"slipway\" {\n  kubeconfig_path = %q\n}\n", c.Kubeconfig)
}

// clusterAttr renders a resource's own cluster connection.
func clusterAttr(c *testcluster.Cluster) string {
	return fmt.Sprintf(`  cluster = {
    host                   = %q
    cluster_ca_certificate = %s
    client_certificate     = %s
    client_key             = %s
  }
`, c.Host, heredoc(c.CA), heredoc(c.ClientCert), heredoc(c.ClientKey))
}

func heredoc(s string) string {
	return "<<-EOT\n" + strings.TrimRight(s, "\n") + "\nEOT\n"
}

// uniqueName keeps tests that share a cluster apart: a DNS label from the test's name.
func uniqueName(t *testing.T) string {
	n := strings.ToLower(strings.TrimPrefix(t.Name(), "TestAcc"))
	return strings.NewReplacer("_", "-", "/", "-").Replace(n)
}

var bg = context.Background()
var getOpts = metav1.GetOptions{}

// terraformState is what Check functions receive.
type terraformState = terraform.State

var updateOpts = metav1.UpdateOptions{}

type testclusterT = testcluster.Cluster

// patchOpts names the field manager of a change made by someone other than Slipway.
func patchOpts(manager string) metav1.PatchOptions { return metav1.PatchOptions{FieldManager: manager} }
