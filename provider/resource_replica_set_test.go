package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

func replicaSetConfig(c *testclusterT, name string, replicas int) string {
	return providerBlock(c) + fmt.Sprintf(`
resource "slipway_replica_set" "test" {
  metadata = {
    name      = %[1]q
    namespace = "default"
  }
  wait_for_ready = false
  spec = {
    replicas = %[2]d
    selector = { match_labels = { app = %[1]q } }
    template = {
      metadata = { labels = { app = %[1]q } }
      spec = {
        containers = [{ name = "web", image = "nginx:1.27" }]
      }
    }
  }
}
`, name, replicas)
}

// No nodes: the pods are never available, so the test does not wait.
func TestAccReplicaSet(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: replicaSetConfig(c, name, 1)},
			{
				ResourceName:            "slipway_replica_set.test",
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"wait_for_ready"},
			},
			{
				Config: replicaSetConfig(c, name, 2),
				Check: func(_ *terraformState) error {
					rs, err := c.Client.AppsV1().ReplicaSets("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if rs.Spec.Replicas == nil || *rs.Spec.Replicas != 2 {
						return fmt.Errorf("replicas on the server %v, want 2", rs.Spec.Replicas)
					}
					return nil
				},
			},
		},
	})
}
