package provider

import (
	"fmt"
	"strings"
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

// TestAccSecretWriteOnly: values in data_wo reach the Secret but never the plan or
// state; they are applied again only when data_wo_version changes.
func TestAccSecretWriteOnly(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	cfg := func(password string, version int) string {
		return providerBlock(c) + fmt.Sprintf(`
resource "slipway_secret" "test" {
  metadata        = { name = %q }
  data            = { username = "app" }
  data_wo         = { password = %q }
  data_wo_version = %d
}
`, name, password, version)
	}
	serverHas := func(want string) func(*terraformState) error {
		return func(st *terraformState) error {
			s, err := c.Client.CoreV1().Secrets("default").Get(bg, name, getOpts)
			if err != nil {
				return err
			}
			if string(s.Data["password"]) != want || string(s.Data["username"]) != "app" {
				return fmt.Errorf("server holds password %q, username %q; want %q, app", s.Data["password"], s.Data["username"], want)
			}
			for _, r := range st.RootModule().Resources {
				for k, v := range r.Primary.Attributes {
					if strings.Contains(v, "first-value") || strings.Contains(v, "second-value") {
						return fmt.Errorf("state attribute %s holds a write-only value", k)
					}
				}
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: cfg("first-value", 1), Check: serverHas("first-value")},
			// A new value under the same version: Terraform cannot see it, nothing changes.
			{Config: cfg("second-value", 1), PlanOnly: true},
			{Config: cfg("second-value", 2), Check: serverHas("second-value")},
		},
	})
}
