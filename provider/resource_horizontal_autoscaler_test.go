package provider

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// W5 with a real autoscaler: a deployment without replicas in its configuration,
// scaled by a horizontal autoscaler, plans nothing. With no metrics the autoscaler
// still raises the deployment to its minimum, which is the scale the test waits for.
func TestCase_AutoscalerOwnsReplicas_HorizontalAutoscaler(t *testing.T) {
	c := clusterRef{accCluster(t)}
	name := uniqueName(t)
	cfg := deploymentConfig(c, name, `{
          name  = "web"
          image = "nginx"
          resources = { requests = { cpu = "100m" } }
        }`) + fmt.Sprintf(`
resource "slipway_horizontal_autoscaler" "test" {
  metadata = {
    name      = %[1]q
    namespace = "default"
  }
  spec = {
    scale_target_ref = { api_version = "apps/v1", kind = "Deployment", name = slipway_deployment.test.metadata.name }
    min_replicas     = 3
    max_replicas     = 5
    metrics = [{
      type     = "Resource"
      resource = { name = "cpu", target = { type = "Utilization", average_utilization = 70 } }
    }]
  }
}
`, name)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				ResourceName:      "slipway_horizontal_autoscaler.test",
				ImportState:       true,
				ImportStateId:     "default/" + name,
				ImportStateVerify: true,
			},
			{
				PreConfig: func() {
					deadline := time.Now().Add(2 * time.Minute)
					for {
						if r := c.deployment(t, name).Spec.Replicas; r != nil && *r == 3 {
							return
						}
						if time.Now().After(deadline) {
							t.Fatalf("the autoscaler did not scale the deployment to its minimum of 3 in 2 minutes")
						}
						time.Sleep(2 * time.Second)
					}
				},
				Config:   cfg,
				PlanOnly: true,
			},
		},
	})
}
