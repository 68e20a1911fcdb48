package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"k8s.io/apimachinery/pkg/types"
)

// A namespaced Role and a cluster-scoped PriorityClass, kinds Slipway has no
// resource of its own for, and a custom resource whose definition the same
// apply creates.
func manifestConfig(c *testclusterT, name, verb, description string) string {
	return providerBlock(c) + fmt.Sprintf(`
resource "slipway_manifest" "role" {
  manifest = {
    apiVersion = "rbac.authorization.k8s.io/v1"
    kind       = "Role"
    metadata   = { name = %[1]q, namespace = "default", labels = { team = "a" } }
    rules      = [{ apiGroups = [""], resources = ["pods"], verbs = ["get", %[2]q] }]
  }
}

resource "slipway_manifest" "priority" {
  manifest = {
    apiVersion  = "scheduling.k8s.io/v1"
    kind        = "PriorityClass"
    metadata    = { name = %[1]q }
    value       = 1000
    description = %[3]q
  }
}

resource "slipway_manifest" "crd" {
  manifest = {
    apiVersion = "apiextensions.k8s.io/v1"
    kind       = "CustomResourceDefinition"
    metadata   = { name = "widgets.%[1]s.example.com" }
    spec = {
      group = "%[1]s.example.com"
      names = { kind = "Widget", plural = "widgets", singular = "widget" }
      scope = "Namespaced"
      versions = [{
        name = "v1", served = true, storage = true
        schema = { openAPIV3Schema = {
          type       = "object"
          properties = { spec = { type = "object", properties = { size = { type = "string" } } } }
        } }
      }]
    }
  }
}

resource "slipway_manifest" "widget" {
  manifest = {
    apiVersion = "%[1]s.example.com/v1"
    kind       = "Widget"
    metadata   = { name = "w", namespace = "default" }
    spec       = { size = "1Gi" }
  }
  depends_on = [slipway_manifest.crd]
}
`, name, verb, description)
}

func TestAccManifest(t *testing.T) {
	c := accCluster(t)
	name := uniqueName(t)
	cfg := manifestConfig(c, name, "list", "batch work")
	patchRole := func(manager, body string) func() {
		return func() {
			_, err := c.Client.RbacV1().Roles("default").Patch(bg, name, types.MergePatchType, []byte(body), patchOpts(manager))
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(_ *terraformState) error {
					r, err := c.Client.RbacV1().Roles("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if len(r.Rules) != 1 || fmt.Sprint(r.Rules[0].Verbs) != "[get list]" || r.Labels["team"] != "a" {
						return fmt.Errorf("role on the server: %+v", r)
					}
					p, err := c.Client.SchedulingV1().PriorityClasses().Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if p.Value != 1000 {
						return fmt.Errorf("priority class value %d", p.Value)
					}
					return nil
				},
			},
			{ResourceName: "slipway_manifest.role", ImportState: true, ImportStateId: "rbac.authorization.k8s.io/v1/Role/default/" + name, ImportStateVerify: true},
			{ResourceName: "slipway_manifest.priority", ImportState: true, ImportStateId: "scheduling.k8s.io/v1/PriorityClass//" + name, ImportStateVerify: true},
			{ResourceName: "slipway_manifest.widget", ImportState: true, ImportStateId: name + ".example.com/v1/Widget/default/w", ImportStateVerify: true},
			// Others' additions are not drift; a change to what the manifest sets is.
			{PreConfig: patchRole("someone", `{"metadata":{"labels":{"added":"x"}}}`), Config: cfg, PlanOnly: true},
			{PreConfig: patchRole("kubectl-edit", `{"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["*"]}]}`), Config: cfg, PlanOnly: true, ExpectNonEmptyPlan: true},
			{
				// Apply puts it back; a changed description updates in place.
				Config: manifestConfig(c, name, "list", "batch jobs"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("slipway_manifest.priority", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("slipway_manifest.role", plancheck.ResourceActionUpdate),
				}},
				Check: func(_ *terraformState) error {
					r, err := c.Client.RbacV1().Roles("default").Get(bg, name, getOpts)
					if err != nil {
						return err
					}
					if fmt.Sprint(r.Rules[0].Verbs) != "[get list]" || r.Labels["added"] != "x" {
						return fmt.Errorf("role after apply: %+v", r)
					}
					p, err := c.Client.SchedulingV1().PriorityClasses().Get(bg, name, getOpts)
					if err == nil && p.Description != "batch jobs" {
						err = fmt.Errorf("priority class description %q", p.Description)
					}
					return err
				},
			},
		},
	})
}
