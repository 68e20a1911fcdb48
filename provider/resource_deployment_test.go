package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kube"
)

// The test control plane has no nodes yet, so deployments here are applied with
// wait_for_rollout = false, except in the W4 test, which relies on exactly that.
func deploymentConfig(c clusterRef, name, container string) string {
	return providerBlock(c.Cluster) + fmt.Sprintf(`
resource "slipway_deployment" "test" {
  metadata = {
    name      = %q
    namespace = "default"
    labels    = { app = %q }
  }
  wait_for_rollout = false
  spec = {
    selector = { match_labels = { app = %q } }
    template = {
      metadata = { labels = { app = %q } }
      spec = {
        containers = [%s]
      }
    }
  }
}
`, name, name, name, name, container)
}

type clusterRef struct{ Cluster *testclusterT }

func (c clusterRef) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, err := c.Cluster.Client.AppsV1().Deployments("default").Get(bg, name, getOpts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAccDeployment(t *testing.T) {
	c := clusterRef{accCluster(t)}
	name := uniqueName(t)
	web := `{
          name  = "web"
          image = "nginx:1.27"
          ports = [{ name = "http", container_port = 80 }]
          env   = [{ name = "MODE", value = "prod" }, { name = "LEVEL", value = "info" }]
        }`
	webV2 := `{
          name  = "web"
          image = "nginx:1.28"
          ports = [{ name = "http", container_port = 80 }]
          env   = [{ name = "LEVEL", value = "info" }, { name = "MODE", value = "prod" }]
        }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: deploymentConfig(c, name, web)},
			{
				ResourceName:            "slipway_deployment.test",
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"wait_for_rollout"},
			},
			{
				// Update in place; reordered env entries match by name.
				Config: deploymentConfig(c, name, webV2),
				Check: func(_ *terraformState) error {
					d := c.deployment(t, name)
					ctr := d.Spec.Template.Spec.Containers[0]
					if ctr.Image != "nginx:1.28" || len(ctr.Env) != 2 {
						return fmt.Errorf("server holds image %s env %v", ctr.Image, ctr.Env)
					}
					return nil
				},
			},
		},
	})
}

// W1: quantities keep the user's spelling, plan empty, and a real change is a diff.
func TestCase_QuantitySpelling(t *testing.T) {
	c := clusterRef{accCluster(t)}
	name := uniqueName(t)
	ctr := func(limitCPU string) string {
		return fmt.Sprintf(`{
          name  = "web"
          image = "nginx"
          resources = {
            limits   = { cpu = %q, memory = "1.1Gi" }
            requests = { cpu = "0.5", memory = "1000" }
          }
        }`, limitCPU)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: deploymentConfig(c, name, ctr("1000m")),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("slipway_deployment.test", "spec.template.spec.containers.0.resources.limits.cpu", "1000m"),
					resource.TestCheckResourceAttr("slipway_deployment.test", "spec.template.spec.containers.0.resources.requests.cpu", "0.5"),
					func(_ *terraformState) error {
						got := c.deployment(t, name).Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU]
						if got.String() != "1" {
							return fmt.Errorf("server stores cpu limit %s, want the canonical 1", got.String())
						}
						return nil
					},
				),
			},
			{Config: deploymentConfig(c, name, ctr("1000m")), PlanOnly: true},
			{Config: deploymentConfig(c, name, ctr("2")), PlanOnly: true, ExpectNonEmptyPlan: true},
			{
				Config: deploymentConfig(c, name, ctr("2")),
				Check: func(_ *terraformState) error {
					got := c.deployment(t, name).Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU]
					if !got.Equal(apiresource.MustParse("2")) {
						return fmt.Errorf("server cpu limit %s, want 2", got.String())
					}
					return nil
				},
			},
			{
				// A thousand cores, which the server spells 1k.
				Config: deploymentConfig(c, name, `{
          name  = "web"
          image = "nginx"
          resources = { requests = { cpu = "1000" } }
        }`),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("slipway_deployment.test", "spec.template.spec.containers.0.resources.requests.cpu", "1000"),
					resource.TestCheckNoResourceAttr("slipway_deployment.test", "spec.template.spec.containers.0.resources.limits"),
					func(_ *terraformState) error {
						got := c.deployment(t, name).Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]
						if got.String() != "1k" {
							return fmt.Errorf("server stores cpu request %s, want the canonical 1k", got.String())
						}
						return nil
					},
				),
			},
		},
	})
}

// W2: removing a block, or one key of it, removes it on the server.
func TestCase_RemovedBlockIsDrift(t *testing.T) {
	c := clusterRef{accCluster(t)}
	name := uniqueName(t)
	with := `{
          name  = "web"
          image = "nginx"
          resources = {
            limits   = { cpu = "500m", memory = "128Mi" }
            requests = { cpu = "250m" }
          }
        }`
	noLimitCPU := `{
          name  = "web"
          image = "nginx"
          resources = {
            limits   = { memory = "128Mi" }
            requests = { cpu = "250m" }
          }
        }`
	without := `{
          name  = "web"
          image = "nginx"
        }`
	res := func() corev1.ResourceRequirements {
		return c.deployment(t, name).Spec.Template.Spec.Containers[0].Resources
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: deploymentConfig(c, name, with)},
			{Config: deploymentConfig(c, name, noLimitCPU), PlanOnly: true, ExpectNonEmptyPlan: true},
			{
				Config: deploymentConfig(c, name, noLimitCPU),
				Check: func(_ *terraformState) error {
					r := res()
					if _, ok := r.Limits[corev1.ResourceCPU]; ok || r.Limits.Memory().String() != "128Mi" {
						return fmt.Errorf("limits after removing cpu: %v", r.Limits)
					}
					return nil
				},
			},
			{Config: deploymentConfig(c, name, without), PlanOnly: true, ExpectNonEmptyPlan: true},
			{
				Config: deploymentConfig(c, name, without),
				Check: func(_ *terraformState) error {
					if r := res(); !equality.Semantic.DeepEqual(r, corev1.ResourceRequirements{}) {
						return fmt.Errorf("resources after removing the block: %+v", r)
					}
					return nil
				},
			},
		},
	})
}

// W5: with replicas left out, a scale by someone else is not drift; with replicas
// set, it is.
func TestCase_AutoscalerOwnsReplicas(t *testing.T) {
	c := clusterRef{accCluster(t)}
	name := uniqueName(t)
	ctr := `{
          name  = "web"
          image = "nginx"
        }`
	withReplicas := regexp.MustCompile(`spec = \{\n`).ReplaceAllString(deploymentConfig(c, name, ctr), "spec = {\n    replicas = 2\n")
	scale := func(n int32) func() {
		return func() {
			patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
			_, err := c.Cluster.Client.AppsV1().Deployments("default").Patch(bg, name, types.MergePatchType, []byte(patch), patchOpts("kubectl-scale"), "scale")
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: deploymentConfig(c, name, ctr)},
			{PreConfig: scale(5), Config: deploymentConfig(c, name, ctr), PlanOnly: true},
			{Config: withReplicas},
			{PreConfig: scale(7), Config: withReplicas, PlanOnly: true, ExpectNonEmptyPlan: true},
			{
				Config: withReplicas,
				Check: func(_ *terraformState) error {
					if r := *c.deployment(t, name).Spec.Replicas; r != 2 {
						return fmt.Errorf("replicas %d after apply, want 2", r)
					}
					return nil
				},
			},
		},
	})
}

// W4 against the real control plane: an update whose rollout cannot complete fails
// the apply with the reason, and the next plan is not empty, so nobody is told all
// is well while the old pods serve. The control plane has no nodes, so every new pod
// is unschedulable, which the wait calls certain after its grace period, well
// before the timeout. (Image pull errors and crash loops need a kubelet: the unit
// tests in rollout_test.go cover them.)
func TestCase_FailedRolloutRetries(t *testing.T) {
	c := clusterRef{accCluster(t)}
	name := uniqueName(t)
	ctr := func(image string) string {
		return fmt.Sprintf(`{
          name  = "web"
          image = %q
        }`, image)
	}
	first := deploymentConfig(c, name, ctr("nginx:1.27"))
	broken := strings.Replace(deploymentConfig(c, name, ctr("nginx:does-not-exist")), "wait_for_rollout = false", `rollout_timeout = "5m"`, 1)
	var started time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: first},
			{
				PreConfig:   func() { started = time.Now() },
				Config:      broken,
				ExpectError: regexp.MustCompile(`(?s)Deployment Not Ready.*rollout\s+did\s+not\s+complete.*unschedulable`),
			},
			{
				PreConfig: func() {
					if d := time.Since(started); d > 2*time.Minute {
						t.Errorf("the failed rollout took %s to report; the timeout was 5m and the failure certain after 30s", d)
					}
				},
				Config:             broken,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// What happened is in state: the change was applied (the server has
				// it), its rollout is not complete, and the plan is an update (not a
				// replacement) that waits again.
				PreConfig: func() {
					if img := c.deployment(t, name).Spec.Template.Spec.Containers[0].Image; img != "nginx:does-not-exist" {
						t.Errorf("server image %s: the failed apply must still have applied", img)
					}
				},
				Config:             broken,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("slipway_deployment.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("slipway_deployment.test", tfjsonpath.New("rolled_out")),
				}},
			},
		},
	})
}

// W6: what controllers add to a deployment (the revision annotation, labels and
// annotations of their own, also on the pod template) is not drift; a label the
// configuration sets, edited by someone else, is.
func TestCase_ControllerAnnotations(t *testing.T) {
	c := clusterRef{accCluster(t)}
	name := uniqueName(t)
	cfg := deploymentConfig(c, name, `{
          name  = "web"
          image = "nginx"
        }`)
	patch := func(manager, body string) func() {
		return func() {
			_, err := c.Cluster.Client.AppsV1().Deployments("default").Patch(bg, name, types.MergePatchType, []byte(body), patchOpts(manager))
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
					if _, ok := c.deployment(t, name).Annotations["deployment.kubernetes.io/revision"]; !ok {
						return fmt.Errorf("the deployment controller has not annotated the deployment; the case needs it")
					}
					return nil
				},
			},
			{
				PreConfig: patch("some-controller", `{"metadata":{"labels":{"added":"yes"},"annotations":{"example.com/seen":"1"}},`+
					`"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-12-01T00:00:00Z"}}}}}`),
				Config:   cfg,
				PlanOnly: true,
			},
			{
				PreConfig:          patch("kubectl-label", `{"metadata":{"labels":{"app":"edited"}}}`),
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg,
				Check: func(_ *terraformState) error {
					d := c.deployment(t, name)
					if d.Labels["app"] != name || d.Labels["added"] != "yes" {
						return fmt.Errorf("labels after apply %v: want app=%s back and the other's label kept", d.Labels, name)
					}
					return nil
				},
			},
		},
	})
}

// W3 for pod templates: containers and env entries are identified by name.
// Removing the first container leaves the second exactly as it was; removing an
// env entry leaves the other's value.
func TestCase_PortIdentity_Containers(t *testing.T) {
	c := clusterRef{accCluster(t)}
	name := uniqueName(t)
	web := `{
          name  = "web"
          image = "nginx"
          env   = [{ name = "A", value = "1" }, { name = "B", value = "2" }]
        }`
	webNoA := `{
          name  = "web"
          image = "nginx"
          env   = [{ name = "B", value = "2" }]
        }`
	side := `{
          name  = "side"
          image = "busybox"
          args  = ["sleep", "3600"]
          ports = [{ name = "metrics", container_port = 9090 }]
        }`
	check := func(want map[string]string) resource.TestCheckFunc {
		return func(_ *terraformState) error {
			got := map[string]string{}
			for _, ctr := range c.deployment(t, name).Spec.Template.Spec.Containers {
				got[ctr.Name] = ctr.Image
				for _, e := range ctr.Env {
					got[ctr.Name+"/"+e.Name] = e.Value
				}
				for _, p := range ctr.Ports {
					got[ctr.Name+"/"+p.Name] = fmt.Sprint(p.ContainerPort)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("containers on the server %v, want %v", got, want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: deploymentConfig(c, name, web+", "+side),
				Check:  check(map[string]string{"web": "nginx", "web/A": "1", "web/B": "2", "side": "busybox", "side/metrics": "9090"}),
			},
			{
				Config: deploymentConfig(c, name, side),
				Check:  check(map[string]string{"side": "busybox", "side/metrics": "9090"}),
			},
			{
				Config: deploymentConfig(c, name, side+", "+webNoA),
				Check:  check(map[string]string{"web": "nginx", "web/B": "2", "side": "busybox", "side/metrics": "9090"}),
			},
		},
	})
}

// Bad input the API server would refuse fails the plan, by a server-side dry run,
// and nothing reaches the cluster. A namespace created in the same apply does not
// exist at plan time: that is no reason to fail.
func TestAccDeploymentPlanTimeDryRun(t *testing.T) {
	c := clusterRef{accCluster(t)}
	name := uniqueName(t)
	ctr := `{
          name  = "web"
          image = "nginx"
        }`
	mismatched := strings.Replace(deploymentConfig(c, name, ctr), "selector = { match_labels = { app = "+fmt.Sprintf("%q", name), `selector = { match_labels = { app = "other"`, 1)
	inNewNamespace := strings.Replace(deploymentConfig(c, name, ctr), `namespace = "default"`, "namespace = slipway_namespace.test.metadata.name", 1) +
		namespaceConfig(name, `{}`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config:      mismatched,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Deployment Refused By The API Server.*selector.*does not match template`),
			},
			{
				PreConfig: func() {
					if _, err := c.Cluster.Client.AppsV1().Deployments("default").Get(bg, name, getOpts); err == nil {
						t.Error("the refused plan created the deployment")
					}
				},
				Config: inNewNamespace,
				Check: func(_ *terraformState) error {
					_, err := c.Cluster.Client.AppsV1().Deployments(name).Get(bg, name, getOpts)
					return err
				},
			},
		},
	})
}

// The API server's warnings reach the request's collector, which apply and the
// plan-time dry run turn into Terraform warnings ("1.1Gi" of memory is a
// fractional number of bytes).
func TestAccAPIServerWarnings(t *testing.T) {
	c := accCluster(t)
	clients := &kube.Clients{}
	dyn, err := clients.Dynamic(kube.Connection{KubeconfigPath: c.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": uniqueName(t), "namespace": "default"},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": "w"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "w"}},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": "web", "image": "nginx",
					"resources": map[string]any{"limits": map[string]any{"memory": "1.1Gi"}},
				}}},
			},
		},
	}}
	ctx, warnings := kube.WithWarnings(bg)
	gvr := k8sschema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	_, err = dyn.Resource(gvr).Namespace("default").Apply(ctx, obj.GetName(), obj,
		metav1.ApplyOptions{FieldManager: kube.FieldManager, DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	got := warnings.List()
	if len(got) != 1 || !strings.Contains(got[0], "fractional byte value") {
		t.Fatalf("warnings %q, want the fractional byte value one", got)
	}
}
