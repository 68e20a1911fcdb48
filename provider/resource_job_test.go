package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

func jobConfig(c *testclusterT, name, image string, parallelism int) string {
	return providerBlock(c) + fmt.Sprintf(`
resource "slipway_job" "test" {
  metadata = {
    name      = %[1]q
    namespace = "default"
  }
  spec = {
    parallelism   = %[3]d
    backoff_limit = 2
    template = {
      spec = {
        restart_policy = "Never"
        containers = [{
          name    = "migrate"
          image   = %[2]q
          command = ["migrate", "--up"]
        }]
      }
    }
  }
}
`, name, image, parallelism)
}

// The job controller adds a selector and labels to the pod template: they are
// Kubernetes' own. The control plane has no nodes, so the job never completes and
// these tests do not wait for it (the wait has unit tests). A changed pod template
// replaces the job.
func TestAccJob(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	var oldUID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: jobConfig(c, name, "shop/migrate:7", 1)},
			{
				ResourceName:            "slipway_job.test",
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"wait_for_completion"},
			},
			{
				// parallelism may change in place.
				Config: jobConfig(c, name, "shop/migrate:7", 2),
				Check: func(_ *terraformState) error {
					j, err := c.Client.BatchV1().Jobs("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if p := j.Spec.Parallelism; p == nil || *p != 2 {
						return fmt.Errorf("parallelism on the server %v, want 2", p)
					}
					return nil
				},
			},
			{
				// The pod template cannot change: the plan's dry run finds that and
				// plans a new job instead of an update the API server would refuse.
				Config:             jobConfig(c, name, "shop/migrate:8", 2),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("slipway_job.test", plancheck.ResourceActionReplace),
				}},
			},
			{
				PreConfig: func() {
					j, err := c.Client.BatchV1().Jobs("default").Get(bg, name, getOpts)
					if err != nil {
						t.Fatal(err)
					}
					oldUID = string(j.UID)
				},
				Config: jobConfig(c, name, "shop/migrate:8", 2),
				Check: func(_ *terraformState) error {
					j, err := c.Client.BatchV1().Jobs("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if string(j.UID) == oldUID || j.Spec.Template.Spec.Containers[0].Image != "shop/migrate:8" {
						return fmt.Errorf("want a new job with the new image; uid %s (was %s), image %s",
							j.UID, oldUID, j.Spec.Template.Spec.Containers[0].Image)
					}
					return nil
				},
			},
		},
	})
}
