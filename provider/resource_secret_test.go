package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

func TestAccSecret(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	cfg := func(password string) string {
		return providerBlock(c) + fmt.Sprintf(`
resource "slipway_secret" "test" {
  metadata = { name = %q }
  data     = { username = "app", password = %q }
}
`, name, password)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: cfg("s3cr3t"),
				Check: func(_ *terraformState) error {
					s, err := c.Client.CoreV1().Secrets("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if string(s.Data["password"]) != "s3cr3t" || s.Type != "Opaque" {
						return fmt.Errorf("server holds type %s, password %q", s.Type, s.Data["password"])
					}
					return nil
				},
			},
			{
				ResourceName:      "slipway_secret.test",
				ImportState:       true,
				ImportStateId:     "default/" + name,
				ImportStateVerify: true,
			},
			{
				Config: cfg("rotated"),
				Check: func(_ *terraformState) error {
					s, err := c.Client.CoreV1().Secrets("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if string(s.Data["password"]) != "rotated" {
						return fmt.Errorf("password on the server: %q", s.Data["password"])
					}
					return nil
				},
			},
		},
	})
}
