package provider

import (
	"fmt"
	"os"
	"regexp"
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

// Bad names and ports fail the plan even with no cluster to ask (one that the same
// apply creates): the schema checks them by the API server's own rules.
func TestAccBadInputFailsPlanWithoutCluster(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	deployment := func(ctr string) string {
		return `
provider "slipway" {}
resource "slipway_deployment" "bad" {
  metadata = { name = "bad" }
  spec = {
    selector = { match_labels = { app = "bad" } }
    template = {
      metadata = { labels = { app = "bad" } }
      spec     = { containers = [` + ctr + `] }
    }
  }
}
`
	}
	service := `
provider "slipway" {}
resource "slipway_service" "bad" {
  metadata = { name = "bad" }
  spec     = { ports = [{ name = "web", port = 80, target_port = "not_a_port" }] }
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config:      deployment(`{ name = "web", image = "nginx", ports = [{ container_port = 70000 }] }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)70000 is not a port number`),
			},
			{
				Config:      deployment(`{ name = "Web_1", image = "nginx" }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)"Web_1" is not a valid DNS-1123 label`),
			},
			{
				Config:      deployment(`{ name = "web", image = "nginx", resources = { limits = { cpu = "lots" } } }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)"cpu": quantities must match`),
			},
			{
				Config:      service,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)"not_a_port" is not a port number \(1 to 65535\) or a port name`),
			},
		},
	})
}
