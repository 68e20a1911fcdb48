package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func namespaceConfig(name, labels string) string {
	return fmt.Sprintf(`
resource "slipway_namespace" "test" {
  metadata = {
    name   = %q
    labels = %s
  }
}
`, name, labels)
}

func TestAccNamespace(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: providerBlock(c) + namespaceConfig(name, `{ team = "a", tier = "web" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("slipway_namespace.test", tfjsonpath.New("id"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue("slipway_namespace.test", tfjsonpath.New("metadata").AtMapKey("uid"), knownvalue.NotNull()),
				},
				Check: func(_ *terraformState) error {
					ns, err := c.Client.CoreV1().Namespaces().Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if ns.Labels["team"] != "a" || ns.Labels["tier"] != "web" {
						return fmt.Errorf("labels on the server: %v", ns.Labels)
					}
					return nil
				},
			},
			{
				ResourceName:      "slipway_namespace.test",
				ImportState:       true,
				ImportStateId:     name,
				ImportStateVerify: true,
			},
			{
				// Removing a label removes it on the server; changing one changes it.
				Config: providerBlock(c) + namespaceConfig(name, `{ team = "b" }`),
				Check: func(_ *terraformState) error {
					ns, err := c.Client.CoreV1().Namespaces().Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if _, still := ns.Labels["tier"]; still || ns.Labels["team"] != "b" {
						return fmt.Errorf("labels on the server after update: %v", ns.Labels)
					}
					return nil
				},
			},
			{
				// Case W6: what others add is not drift; a configured label edited by
				// someone else is.
				PreConfig: func() {
					ns, err := c.Client.CoreV1().Namespaces().Get(bg, name, getOpts)
					if err != nil {
						t.Fatal(err)
					}
					ns.Labels["added-by-controller"] = "yes"
					if ns.Annotations == nil {
						ns.Annotations = map[string]string{}
					}
					ns.Annotations["example.com/controller"] = "touched"
					if _, err := c.Client.CoreV1().Namespaces().Update(bg, ns, updateOpts); err != nil {
						t.Fatal(err)
					}
				},
				Config:   providerBlock(c) + namespaceConfig(name, `{ team = "b" }`),
				PlanOnly: true,
			},
			{
				PreConfig: func() {
					ns, err := c.Client.CoreV1().Namespaces().Get(bg, name, getOpts)
					if err != nil {
						t.Fatal(err)
					}
					ns.Labels["team"] = "edited-by-hand"
					if _, err := c.Client.CoreV1().Namespaces().Update(bg, ns, updateOpts); err != nil {
						t.Fatal(err)
					}
				},
				Config:             providerBlock(c) + namespaceConfig(name, `{ team = "b" }`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Apply repairs it.
				Config: providerBlock(c) + namespaceConfig(name, `{ team = "b" }`),
			},
		},
	})
}

func TestAccNamespaceBadName(t *testing.T) {
	c := accCluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config:      providerBlock(c) + namespaceConfig("Not_Valid", `{ ok = "yes" }`),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`not a valid DNS-1123 label`),
		}, {
			Config:      providerBlock(c) + namespaceConfig("fine", `{ "bad key!" = "x" }`),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`Invalid Value`),
		}},
	})
}
