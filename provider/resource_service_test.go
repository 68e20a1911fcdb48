package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	corev1 "k8s.io/api/core/v1"
)

func serviceConfig(c *testclusterT, name, ports string) string {
	return providerBlock(c) + fmt.Sprintf(`
resource "slipway_service" "test" {
  metadata = {
    name      = %q
    namespace = "default"
  }
  spec = {
    type     = "NodePort"
    selector = { app = %q }
    ports    = [%s]
  }
}
`, name, name, ports)
}

// W3: ports are identified by name. Removing one leaves the other as it was, with
// its defaulted target port; reordering changes nothing on the server.
func TestCase_PortIdentity(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	a := `{ name = "a", port = 1234 }`
	b := `{ name = "b", port = 1235 }`
	ports := func() []corev1.ServicePort {
		s, err := c.Client.CoreV1().Services("default").Get(bg, name, getOpts)
		if err != nil {
			t.Fatal(err)
		}
		return s.Spec.Ports
	}
	var nodePortB int32
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: serviceConfig(c, name, a+", "+b),
				Check: func(_ *terraformState) error {
					for _, p := range ports() {
						if p.Name == "b" {
							nodePortB = p.NodePort
						}
					}
					return nil
				},
			},
			{Config: serviceConfig(c, name, a+", "+b), PlanOnly: true},
			{
				ResourceName:      "slipway_service.test",
				ImportState:       true,
				ImportStateId:     "default/" + name,
				ImportStateVerify: true,
			},
			{
				// Reordered: applies, and the server's ports are the same ones.
				Config: serviceConfig(c, name, b+", "+a),
				Check: func(_ *terraformState) error {
					ps := ports()
					if len(ps) != 2 {
						return fmt.Errorf("ports after reorder: %+v", ps)
					}
					for _, p := range ps {
						if p.Name == "b" && (p.NodePort != nodePortB || p.TargetPort.IntValue() != 1235) {
							return fmt.Errorf("port b changed on reorder: %+v", p)
						}
					}
					return nil
				},
			},
			{Config: serviceConfig(c, name, b+", "+a), PlanOnly: true},
			{
				Config: serviceConfig(c, name, b),
				Check: func(_ *terraformState) error {
					ps := ports()
					if len(ps) != 1 || ps[0].Name != "b" || ps[0].Port != 1235 || ps[0].TargetPort.IntValue() != 1235 || ps[0].NodePort != nodePortB {
						return fmt.Errorf("ports after removing a: %+v", ps)
					}
					return nil
				},
			},
			{Config: serviceConfig(c, name, b), PlanOnly: true},
		},
	})
}
