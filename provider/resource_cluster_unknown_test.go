package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// One apply creates the cluster and its workloads: at plan time the connection
// comes from a resource that does not exist yet (here terraform_data standing in
// for slipway_cluster), so it is unknown. The plan must work without the cluster,
// and apply then reaches it. No provider-level kubeconfig is set.
func TestAccWorkloadsOnClusterOfSameApply(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	cfg := fmt.Sprintf(`
provider "slipway" {}

resource "terraform_data" "cluster" {
  input = {
    host = %q
    ca   = %s
    cert = %s
    key  = %s
  }
}

resource "slipway_deployment" "test" {
  cluster = {
    host                   = terraform_data.cluster.output.host
    cluster_ca_certificate = terraform_data.cluster.output.ca
    client_certificate     = terraform_data.cluster.output.cert
    client_key             = terraform_data.cluster.output.key
  }
  metadata = {
    name      = %q
    namespace = "default"
  }
  wait_for_rollout = false
  spec = {
    selector = { match_labels = { app = %q } }
    template = {
      metadata = { labels = { app = %q } }
      spec     = { containers = [{ name = "web", image = "nginx" }] }
    }
  }
}
`, c.Host, heredoc(c.CA), heredoc(c.ClientCert), heredoc(c.ClientKey), name, name, name)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("slipway_deployment.test", tfjsonpath.New("cluster").AtMapKey("host")),
					plancheck.ExpectResourceAction("slipway_deployment.test", plancheck.ResourceActionCreate),
				}},
				Check: func(_ *terraformState) error {
					d, err := c.Client.AppsV1().Deployments("default").Get(bg, name, getOpts)
					if err == nil && !strings.HasPrefix(d.Spec.Template.Spec.Containers[0].Image, "nginx") {
						err = fmt.Errorf("image %s", d.Spec.Template.Spec.Containers[0].Image)
					}
					return err
				},
			},
		},
	})
}
