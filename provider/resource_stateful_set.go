package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	appsv1 "k8s.io/api/apps/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewStatefulSetResource returns the slipway_stateful_set resource.
func NewStatefulSetResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "stateful_set",
		title:    "Stateful Set",
		desc: "A Kubernetes StatefulSet, applied by server-side apply: pods with stable names and, through " +
			"`volume_claim_templates`, a volume claim each. Leave `replicas` out when an autoscaler or `kubectl scale` " +
			"owns it. Apply waits for the rollout (not with the `OnDelete` update strategy, where nothing rolls out on " +
			"its own); to roll back, apply the previous configuration. The claims the set creates outlive it unless " +
			"`persistent_volume_claim_retention_policy` says otherwise.",
		gvr:        k8sschema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"},
		kind:       "StatefulSet",
		spec:       reflect.TypeOf(appsv1.StatefulSetSpec{}),
		namespaced: true,
		wait:       rolloutWait(statefulSetRollout),
	}}
}
