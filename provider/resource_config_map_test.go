package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

func TestAccConfigMap(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	// The same bytes as the server's base64, but wrapped: must not show as a change.
	wrapped := "aGVsbG8g\nd29ybGQ="
	cfg := func(data string) string {
		return providerBlock(c) + fmt.Sprintf(`
resource "slipway_config_map" "test" {
  metadata = {
    name      = %q
    namespace = "default"
    labels    = { app = "web" }
  }
  data        = %s
  binary_data = { "blob.bin" = %q }
}
`, name, data, wrapped)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: cfg(`{ "index.html" = "<h1>hello</h1>", mode = "prod" }`),
				Check: func(_ *terraformState) error {
					cm, err := c.Client.CoreV1().ConfigMaps("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if cm.Data["mode"] != "prod" || string(cm.BinaryData["blob.bin"]) != "hello world" {
						return fmt.Errorf("server holds %v / %q", cm.Data, cm.BinaryData["blob.bin"])
					}
					return nil
				},
			},
			{
				ResourceName:            "slipway_config_map.test",
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"binary_data"}, // import reads the server's spelling
			},
			{
				// Someone edits a configured key: drift.
				PreConfig: func() {
					cm, err := c.Client.CoreV1().ConfigMaps("default").Get(bg, name, getOpts)
					if err != nil {
						t.Fatal(err)
					}
					cm.Data["mode"] = "debug"
					cm.Data["added-by-someone"] = "x"
					if _, err := c.Client.CoreV1().ConfigMaps("default").Update(bg, cm, updateOpts); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg(`{ "index.html" = "<h1>hello</h1>", mode = "prod" }`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Apply repairs it, and removing a key removes it on the server.
				Config: cfg(`{ mode = "prod" }`),
				Check: func(_ *terraformState) error {
					cm, err := c.Client.CoreV1().ConfigMaps("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if _, still := cm.Data["index.html"]; still || cm.Data["mode"] != "prod" {
						return fmt.Errorf("server holds %v", cm.Data)
					}
					return nil
				},
			},
		},
	})
}

// TestAccConfigMapOwnConnection: a resource that carries its own cluster connection
// needs no provider configuration, as when one apply creates the cluster too.
func TestAccConfigMapOwnConnection(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "slipway_config_map" "test" {
  metadata = { name = %q }
  data     = { greeting = "hi" }
%s}
`, name, clusterAttr(c)),
			Check: func(_ *terraformState) error {
				_, err := c.Client.CoreV1().ConfigMaps("default").Get(bg, name, getOpts)
				return err
			},
		}},
	})
}

func TestAccConfigMapBadInput(t *testing.T) {
	c := accCluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config: providerBlock(c) + `
resource "slipway_config_map" "test" {
  metadata    = { name = "ok" }
  binary_data = { "x" = "not base64!" }
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`not valid base64`),
		}, {
			Config: providerBlock(c) + `
resource "slipway_config_map" "test" {
  metadata = { name = "ok" }
  data     = { "bad/key" = "x" }
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`bad/key`),
		}},
	})
}
