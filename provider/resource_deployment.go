package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	appsv1 "k8s.io/api/apps/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewDeploymentResource returns the slipway_deployment resource.
func NewDeploymentResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "deployment",
		title:    "Deployment",
		desc: "A Kubernetes Deployment, applied by server-side apply. Leave `replicas` out when an autoscaler " +
			"or `kubectl scale` owns it: the plan then never fights them. Apply waits for the rollout; to roll back, " +
			"apply the previous configuration.",
		gvr:        k8sschema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
		kind:       "Deployment",
		spec:       reflect.TypeOf(appsv1.DeploymentSpec{}),
		namespaced: true,
		wait:       rolloutWait(deploymentRollout),
	}}
}
