package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

func podConfig(c *testclusterT, name, image, restart string) string {
	return providerBlock(c) + fmt.Sprintf(`
resource "slipway_pod" "test" {
  metadata = {
    name      = %[1]q
    namespace = "default"
    labels    = { app = %[1]q }
  }
  wait_for_ready = false
  spec = {
    restart_policy = %[3]q
    containers = [{
      name  = "web"
      image = %[2]q
      ports = [{ name = "http", container_port = 80 }]
    }]
  }
}
`, name, image, restart)
}

// The control plane has no nodes, so the pod is never ready: the test does not
// wait (the wait has unit tests). An image changes in place; a restart policy
// cannot, so changing it plans a new pod.
func TestAccPod(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	var firstUID string
	get := func() (string, string, error) {
		p, err := c.Client.CoreV1().Pods("default").Get(bg, name, getOpts)
		if err != nil {
			return "", "", err
		}
		return string(p.UID), p.Spec.Containers[0].Image, nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: podConfig(c, name, "nginx:1.27", "Always"),
				Check: func(_ *terraformState) (err error) {
					firstUID, _, err = get()
					return err
				},
			},
			{
				ResourceName:            "slipway_pod.test",
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"wait_for_ready"},
			},
			{
				Config: podConfig(c, name, "nginx:1.28", "Always"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("slipway_pod.test", plancheck.ResourceActionUpdate),
				}},
				Check: func(_ *terraformState) error {
					uid, image, err := get()
					if err == nil && (uid != firstUID || image != "nginx:1.28") {
						err = fmt.Errorf("want the same pod with the new image: uid %s (was %s), image %s", uid, firstUID, image)
					}
					return err
				},
			},
			{
				Config: podConfig(c, name, "nginx:1.28", "OnFailure"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("slipway_pod.test", plancheck.ResourceActionReplace),
				}},
				Check: func(_ *terraformState) error {
					uid, _, err := get()
					if err == nil && uid == firstUID {
						err = fmt.Errorf("the pod was not replaced")
					}
					return err
				},
			},
		},
	})
}
