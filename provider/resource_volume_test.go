package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
)

// A volume and a claim bound to it. The control plane's volume controller binds
// them for real; nothing mounts them (no nodes), so a host path is enough.
func volumeConfig(c *testclusterT, name, capacity, tier string) string {
	return providerBlock(c) + fmt.Sprintf(`
resource "slipway_volume" "test" {
  metadata = {
    name   = %[1]q
    labels = { tier = %[3]q }
  }
  spec = {
    capacity                         = { storage = %[2]q }
    access_modes                     = ["ReadWriteOnce"]
    persistent_volume_reclaim_policy = "Retain"
    storage_class_name               = "manual"
    host_path                        = { path = "/tmp/%[1]s", type = "DirectoryOrCreate" }
  }
}

resource "slipway_volume_claim" "test" {
  metadata = {
    name      = %[1]q
    namespace = "default"
    labels    = { tier = %[3]q }
  }
  spec = {
    access_modes       = ["ReadWriteOnce"]
    storage_class_name = "manual"
    volume_name        = slipway_volume.test.metadata.name
    resources          = { requests = { storage = "1Gi" } }
  }
  wait_for_binding = true
  binding_timeout  = "2m"
}
`, name, capacity, tier)
}

func TestAccVolumeAndClaim(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: volumeConfig(c, name, "1Gi", "a"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("slipway_volume.test", tfjsonpath.New("id"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue("slipway_volume_claim.test", tfjsonpath.New("id"), knownvalue.StringExact("default/"+name)),
					statecheck.ExpectKnownValue("slipway_volume_claim.test", tfjsonpath.New("bound"), knownvalue.Bool(true)),
				},
				Check: func(_ *terraformState) error {
					pvc, err := c.Client.CoreV1().PersistentVolumeClaims("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName != name {
						return fmt.Errorf("claim is %s on volume %q, want Bound on %s", pvc.Status.Phase, pvc.Spec.VolumeName, name)
					}
					pv, err := c.Client.CoreV1().PersistentVolumes().Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != name {
						return fmt.Errorf("volume's claim ref %+v", pv.Spec.ClaimRef)
					}
					return nil
				},
			},
			// The binder's claim_ref and the claim's bind annotations are Kubernetes'
			// own: the plan stays empty (the framework checks after every step), and
			// import takes only what Slipway set.
			{
				ResourceName:      "slipway_volume.test",
				ImportState:       true,
				ImportStateId:     name,
				ImportStateVerify: true,
			},
			{
				ResourceName:            "slipway_volume_claim.test",
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"wait_for_binding", "binding_timeout", "bound"},
			},
			{
				// Update in place: the volume grows, both get a new label.
				Config: volumeConfig(c, name, "2Gi", "b"),
				Check: func(_ *terraformState) error {
					pv, err := c.Client.CoreV1().PersistentVolumes().Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if got := pv.Spec.Capacity.Storage().String(); got != "2Gi" || pv.Labels["tier"] != "b" {
						return fmt.Errorf("volume capacity %s labels %v, want 2Gi and tier=b", got, pv.Labels)
					}
					pvc, err := c.Client.CoreV1().PersistentVolumeClaims("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if pvc.Labels["tier"] != "b" {
						return fmt.Errorf("claim labels %v, want tier=b", pvc.Labels)
					}
					return nil
				},
			},
		},
	})
}
