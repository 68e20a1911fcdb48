package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func daemonSetConfig(c *testclusterT, name, image string) string {
	return providerBlock(c) + fmt.Sprintf(`
resource "slipway_daemon_set" "test" {
  metadata = {
    name      = %[1]q
    namespace = "default"
  }
  spec = {
    selector = { match_labels = { app = %[1]q } }
    template = {
      metadata = { labels = { app = %[1]q } }
      spec = {
        tolerations = [{ operator = "Exists" }]
        containers = [{
          name  = "agent"
          image = %[2]q
          volume_mounts = [{ name = "logs", mount_path = "/var/log", read_only = true }]
        }]
        volumes = [{ name = "logs", host_path = { path = "/var/log" } }]
      }
    }
  }
}
`, name, image)
}

// The control plane has no nodes, so a daemon set wants no pods: its rollout is
// complete once the controller has seen the generation, and the wait (on, by
// default) must say so.
func TestAccDaemonSet(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: daemonSetConfig(c, name, "fluent-bit:3"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("slipway_daemon_set.test", tfjsonpath.New("rolled_out"), knownvalue.Bool(true)),
				},
			},
			{
				ResourceName:            "slipway_daemon_set.test",
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"rolled_out"},
			},
			{
				Config: daemonSetConfig(c, name, "fluent-bit:3.1"),
				Check: func(_ *terraformState) error {
					d, err := c.Client.AppsV1().DaemonSets("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if d.Status.ObservedGeneration < d.Generation {
						return fmt.Errorf("apply waited, yet the controller has not seen generation %d", d.Generation)
					}
					if img := d.Spec.Template.Spec.Containers[0].Image; img != "fluent-bit:3.1" {
						return fmt.Errorf("image on the server %s", img)
					}
					return nil
				},
			},
		},
	})
}
