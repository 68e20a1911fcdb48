package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// The test control plane has no nodes, so its pods never run: these stateful sets
// are applied with wait_for_rollout = false (the waits have unit tests of their own).
func statefulSetConfig(c *testclusterT, name, image, storage string) string {
	return providerBlock(c) + fmt.Sprintf(`
resource "slipway_stateful_set" "test" {
  metadata = {
    name      = %[1]q
    namespace = "default"
  }
  wait_for_rollout = false
  spec = {
    service_name = %[1]q
    selector     = { match_labels = { app = %[1]q } }
    template = {
      metadata = { labels = { app = %[1]q } }
      spec = {
        containers = [{
          name          = "db"
          image         = %[2]q
          env           = [{ name = "PGDATA", value = "/data/pg" }]
          volume_mounts = [{ name = "data", mount_path = "/data" }]
        }]
      }
    }
    volume_claim_templates = [{
      metadata = { name = "data", labels = { app = %[1]q } }
      spec = {
        access_modes = ["ReadWriteOnce"]
        resources    = { requests = { storage = %[3]q } }
      }
    }]
  }
}
`, name, image, storage)
}

func TestAccStatefulSet(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: statefulSetConfig(c, name, "postgres:17", "1Gi"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("slipway_stateful_set.test", tfjsonpath.New("id"), knownvalue.StringExact("default/"+name)),
					statecheck.ExpectKnownValue("slipway_stateful_set.test", tfjsonpath.New("rolled_out"), knownvalue.Null()),
					statecheck.ExpectKnownValue("slipway_stateful_set.test",
						tfjsonpath.New("spec").AtMapKey("volume_claim_templates").AtSliceIndex(0).AtMapKey("spec").AtMapKey("resources").AtMapKey("requests").AtMapKey("storage"),
						knownvalue.StringExact("1Gi")),
				},
				Check: func(_ *terraformState) error {
					s, err := c.Client.AppsV1().StatefulSets("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					vct := s.Spec.VolumeClaimTemplates
					if len(vct) != 1 || vct[0].Name != "data" || vct[0].Spec.Resources.Requests.Storage().String() != "1Gi" {
						return fmt.Errorf("volume claim templates on the server: %+v", vct)
					}
					return nil
				},
			},
			{
				ResourceName:            "slipway_stateful_set.test",
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"wait_for_rollout"},
			},
			{
				// Update in place: a new image.
				Config: statefulSetConfig(c, name, "postgres:17.2", "1Gi"),
				Check: func(_ *terraformState) error {
					s, err := c.Client.AppsV1().StatefulSets("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if img := s.Spec.Template.Spec.Containers[0].Image; img != "postgres:17.2" {
						return fmt.Errorf("image on the server %s, want postgres:17.2", img)
					}
					return nil
				},
			},
		},
	})
}
